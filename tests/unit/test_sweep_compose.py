"""The fast member composition gives exactly what Hydra's full composition gives."""

import hydra
import pytest
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import OmegaConf

from rompy.cli.searchpath import CONFIG_NAME, shipped_conf_dir
from rompy.sweep.compose import MemberComposer

CASES = [
    ["model.depths=[10,20]", "backend.timeout=120"],
    ["backend=docker", "backend.cpu=2"],
    ["+backend.env_vars.A=1", "backend.command='echo a,b'"],
    ["postprocessor=summary", "model.periods=[4]"],
    ["+backend.env_vars={X: '1'}", "backend={cpu: 3}"],
    ["+ensemble=demo", "model.depths=[5]"],
    ["backend.timeout=120", "run_id='sw-a.b_c-1234abcd'"],  # the run id a sweep gives: built, not parsed
    [],
]


@pytest.fixture(scope="module")
def loader_and_master():
    GlobalHydra.instance().clear()
    base = {"version_base": "1.3"} if hydra.__version__.startswith("1.3.") else {}  # as rompy.cli does
    with initialize_config_dir(config_dir=str(shipped_conf_dir()), **base):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration(CONFIG_NAME, overrides=["hydra.sweep.dir=/tmp/x"],
                                           run_mode=RunMode.MULTIRUN)
        yield loader, master
    GlobalHydra.instance().clear()


@pytest.mark.parametrize("overrides", CASES, ids=lambda o: " ".join(o) or "none")
def test_fast_equals_full(loader_and_master, overrides):
    loader, master = loader_and_master
    composer = MemberComposer(loader, master)
    assert composer.fast
    fast = composer.compose(overrides, 3, "job3")
    full = loader.load_sweep_config(master, list(overrides))
    expected = OmegaConf.to_container(full, resolve=False)
    del expected["hydra"]
    assert OmegaConf.to_container(fast.task_cfg, resolve=False) == expected
    node = fast.activate()
    assert list(node.overrides.task) == list(full.hydra.overrides.task)
    assert node.job.override_dirname == full.hydra.job.override_dirname
    assert node.runtime.choices == full.hydra.runtime.choices
    assert node.job.num == 3 and node.job.id == "job3"


def test_members_do_not_share_state(loader_and_master):
    loader, master = loader_and_master
    composer = MemberComposer(loader, master)
    a = composer.compose(["backend.timeout=100"], 0, "a")
    b = composer.compose(["backend.timeout=200"], 1, "b")
    assert a.task_cfg.backend.timeout == 100 and b.task_cfg.backend.timeout == 200
    assert a.activate().overrides.task == ["backend.timeout=100"]
    assert b.activate().overrides.task == ["backend.timeout=200"]


def test_bad_value_override_raises_like_hydra(loader_and_master):
    loader, master = loader_and_master
    composer = MemberComposer(loader, master)
    with pytest.raises(Exception) as fast_exc:
        composer.compose(["backend.nope=1"], 0, "x")
    with pytest.raises(Exception) as full_exc:
        loader.load_sweep_config(master, ["backend.nope=1"])
    assert type(fast_exc.value) is type(full_exc.value)

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
    ["+backend.env_vars.M=7", "++backend.env_vars.N=-3", "backend.cpu=0"],  # a range's values: built too
    ["+backend.env_vars.M=07", "backend.timeout=1_200"],  # not plain integers: Hydra's parser reads them
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


@pytest.mark.parametrize("line", ["a.b=5", "+a=0", "++a_1.b2=-17", "a=05", "a=1_000", "a=+5", "a=5.0",
                                  "a=true", "a.0=3", "~a=1", "a@pkg=1", "a/b=2", "a=5 ", "a= 5"])
def test_integer_lines_built_as_hydra_parses_them(line):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from rompy._hydra import int_value_override

    built = int_value_override(line)
    if built is not None:
        assert built == OverridesParser.create().parse_overrides([line])[0]
    else:  # left to Hydra: anything but `[+|++]dotted.key=<plain integer>`
        assert line not in ("a.b=5", "+a=0", "++a_1.b2=-17")


def test_a_check_sees_the_override_list_whenever_the_config_reads_it(loader_and_master):
    """The whole-sweep check leaves the override list out of the hydra node only when the
    member's config cannot read it; a config that reads the node gets all of it."""
    from rompy._hydra import hydra_job

    loader, master = loader_and_master
    composer = MemberComposer(loader, master)
    plain = composer.compose(["backend.timeout=100"], 0, "a")
    reading = composer.compose(["backend.timeout=200", "+backend.env_vars.N='${hydra:job.num}'"], 1, "b")
    assert not plain.reads_hydra and reading.reads_hydra
    assert list(plain.activate().overrides.task) == ["backend.timeout=100"]  # a run always gets the list
    node = reading.activate(for_check=True)
    assert OmegaConf.to_container(node.overrides.task, resolve=False) == reading.task_overrides
    with hydra_job(reading.hydra_cfg):
        assert OmegaConf.to_container(reading.task_cfg, resolve=True)["backend"]["env_vars"]["N"] == 1


def test_one_composer_gives_each_member_its_own_values_in_the_hydra_node(loader_and_master):
    """Members activated one after another, as a sweep does: each sees exactly what Hydra
    composes for it, whether the node's values are rewritten in place (same number of
    overrides as the member before) or replaced (a different number)."""
    loader, master = loader_and_master
    composer = MemberComposer(loader, master)
    members = [["backend.timeout=100", "+backend.env_vars.M=1"], ["backend.timeout=200", "+backend.env_vars.M=2"],
               ["backend.timeout=300"], ["backend.timeout=400", "+backend.env_vars.M=4", "backend.cpu=2"]]
    for number, overrides in enumerate(members):
        node = composer.compose(overrides, number, f"job{number}").activate()
        full = loader.load_sweep_config(master, list(overrides))
        assert OmegaConf.to_container(node.overrides.task) == list(full.hydra.overrides.task) == overrides
        assert node.job.override_dirname == full.hydra.job.override_dirname
        assert node.job.num == number and isinstance(node.job.num, int) and node.job.id == f"job{number}"


SHARED = frozenset({"backend.command='true'", "output_dir=/tmp/out", "+backend.env_vars.FIXED=1"})


@pytest.mark.parametrize("overrides", [
    ["backend.command='true'", "+backend.env_vars.M=1", "output_dir=/tmp/out", "+backend.env_vars.FIXED=1"],
    ["backend.command='echo own'", "backend.command='true'", "output_dir=/tmp/out"],  # same key, set before
    ["backend={command: own}", "backend.command='true'"],  # a container holding a shared key
    ["+backend.env_vars.FIXED=1", "+backend.env_vars.FIXED=1"],  # twice: Hydra refuses the second
    ["output_dir=/tmp/out", "run_id='${output_dir}'", "backend=docker"],
], ids=["disjoint", "same-key-before", "container-later", "twice", "interpolation"])
def test_lines_every_member_has_are_applied_as_hydra_orders_them(loader_and_master, overrides):
    """Lines shared by the whole sweep go into the template once; the member still gets
    what Hydra composes from its own list, in its order, errors included."""
    loader, master = loader_and_master
    composer = MemberComposer(loader, master, shared_lines=SHARED)
    try:
        full = loader.load_sweep_config(master, list(overrides))
    except Exception as exc:  # noqa: BLE001 - the fast composition must fail alike
        with pytest.raises(type(exc)):
            composer.compose(overrides, 0, "a")
        return
    for number in range(2):  # the second member comes from the template the first one made
        fast = composer.compose(overrides, number, "a")
        expected = OmegaConf.to_container(full, resolve=False)
        del expected["hydra"]
        assert OmegaConf.to_container(fast.task_cfg, resolve=False) == expected


def test_shared_lines_are_those_of_every_member():
    from rompy.sweep.plan import shared_lines

    assert shared_lines([["a=1", "b=1", "c=1"], ["a=1", "b=2", "c=1"], ["c=1", "a=1", "b=3"]]) == {"a=1", "c=1"}
    assert shared_lines([["a=1"], []]) == frozenset() and shared_lines([]) == frozenset()


def test_a_config_is_read_as_omegaconf_reads_it():
    """rompy._hydra.plain_container gives what OmegaConf.to_container(resolve=False) gives."""
    from dataclasses import dataclass, field

    from rompy._hydra import plain_container

    @dataclass
    class Inner:
        x: int = 1
        tags: list = field(default_factory=lambda: ["a", "b"])

    cfg = OmegaConf.create({
        "a": 1, "b": "text", "c": None, "d": "???", "e": "${a}", "f": [1, {"g": "${b}"}, None, [2, 3]],
        "h": {"i": {"j": 1.5, "k": True}}, "empty": {}, "none_dict": None, 1: "int key",
    })
    cfg.structured = OmegaConf.structured(Inner)
    cfg.missing_dict = OmegaConf.create({})
    OmegaConf.update(cfg, "interp_dict", "${h}")
    assert plain_container(cfg) == OmegaConf.to_container(cfg, resolve=False)
    assert plain_container(cfg.f) == OmegaConf.to_container(cfg.f, resolve=False)


def test_a_key_reached_through_an_interpolation_keeps_hydras_order():
    from rompy.sweep.compose import _through_interpolation

    cfg = OmegaConf.create({"a": {"b": 1}, "c": "${a}", "l": [{"x": 1}], "v": 3})
    assert _through_interpolation(cfg, "c") and _through_interpolation(cfg, "c.b")
    assert not any(_through_interpolation(cfg, key) for key in ("a", "a.b", "a.new.deeper", "l.0.x", "v", "new"))


@pytest.mark.parametrize("overrides", [["alias.timeout=300", "backend.timeout=200"],
                                       ["+alias.extra=1", "backend.timeout=200"]], ids=["change", "add"])
def test_a_members_own_key_through_an_interpolation_ends_as_in_hydra(tmp_path, overrides):
    """`alias: ${backend}` in the config. Hydra refuses to change a key through it and replaces
    it when adding one; with `backend.timeout=200` shared by every member (in the template),
    the member ends the same way."""
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(shipped_conf_dir(), conf)
    with open(conf / f"{CONFIG_NAME}.yaml", "a", encoding="utf-8") as fh:
        fh.write("\nalias: ${backend}\n")
    GlobalHydra.instance().clear()
    base = {"version_base": "1.3"} if hydra.__version__.startswith("1.3.") else {}
    try:
        with initialize_config_dir(config_dir=str(conf), **base):
            loader = GlobalHydra.instance().config_loader()
            master = loader.load_configuration(CONFIG_NAME, overrides=["hydra.sweep.dir=/tmp/x"],
                                               run_mode=RunMode.MULTIRUN)
            composer = MemberComposer(loader, master, shared_lines=frozenset({"backend.timeout=200"}))
            try:
                full = loader.load_sweep_config(master, list(overrides))
            except Exception as exc:  # noqa: BLE001
                with pytest.raises(type(exc)):
                    composer.compose(overrides, 0, "a")
                return
            expected = OmegaConf.to_container(full, resolve=False)
            del expected["hydra"]
            for number in range(2):
                fast = composer.compose(overrides, number, "a")
                assert OmegaConf.to_container(fast.task_cfg, resolve=False) == expected
    finally:
        GlobalHydra.instance().clear()

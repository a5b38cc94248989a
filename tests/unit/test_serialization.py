"""Every config model saves to YAML and JSON and loads back to an equal object."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from rompy.backends import DockerConfig, LocalConfig
from rompy.backends.base import BackendConfig
from rompy.config import RunConfig
from rompy.demo import DemoModelConfig
from rompy.postprocess.archive import ArchiveConfig
from rompy.postprocess.base import PostprocessorConfig
from rompy.postprocess.noop import NoopConfig
from rompy.postprocess.summary import SummaryConfig

names = st.text(string.ascii_uppercase + "_", min_size=1, max_size=8).filter(lambda s: not s[0].isdigit())
values = st.text(max_size=20)
env = st.dictionaries(names, values, max_size=4)
commands = st.none() | st.text(min_size=1, max_size=30).filter(str.strip) | st.lists(st.text(max_size=10), min_size=1, max_size=4)

local_configs = st.builds(LocalConfig, timeout=st.integers(60, 86400), command=commands, env_vars=env,
                          cpu=st.integers(1, 64), shell=st.booleans(), capture_output=st.booleans())
docker_configs = st.builds(
    DockerConfig, image=st.sampled_from(["busybox", "python:3.12-slim", "localhost:5000/a/b:v1"]),
    timeout=st.integers(60, 86400), command=commands, env_vars=env,
    cpu=st.floats(0.01, 64, allow_nan=False), memory=st.none() | st.sampled_from(["512m", "2g", "1.5GiB", "64MB"]),
    remove_container=st.booleans(), pull_policy=st.sampled_from(["missing", "always", "never"]),
    user=st.none() | st.sampled_from(["1000:1000", "root"]), network=st.none() | st.just("none"),
)
postprocessors = (st.builds(NoopConfig, fail_run=st.booleans())
                  | st.builds(ArchiveConfig, format=st.sampled_from(["tar.gz", "zip"]), remove_outputs=st.booleans())
                  | st.builds(SummaryConfig, filename=st.sampled_from(["s.json", "summary.json"])))
positive = st.floats(0.01, 1e4, allow_nan=False)
models = st.builds(DemoModelConfig, depths=st.lists(positive, min_size=1, max_size=5),
                   periods=st.lists(positive, min_size=1, max_size=5), g=positive)


def _round_trip(obj, base):
    assert base.model_validate_json(obj.to_json()) == obj
    assert type(obj).from_json(obj.to_json()) == obj
    assert type(obj).from_yaml(obj.to_yaml()) == obj
    assert base.from_yaml(obj.to_yaml()) == obj


@settings(max_examples=150, deadline=None)
@given(local_configs | docker_configs)
def test_backend_configs_round_trip(cfg):
    _round_trip(cfg, BackendConfig)


@settings(max_examples=60, deadline=None)
@given(postprocessors)
def test_postprocessor_configs_round_trip(cfg):
    _round_trip(cfg, PostprocessorConfig)


@settings(max_examples=60, deadline=None)
@given(st.builds(RunConfig, run_id=st.none() | st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True),
                 backend=local_configs | docker_configs, postprocessor=postprocessors, model=models,
                 dry_run=st.booleans(), log_level=st.sampled_from(["DEBUG", "INFO"])))
def test_run_config_round_trips(cfg):
    _round_trip(cfg, RunConfig)


scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
           | st.sampled_from(["1", "1.0", "true", "null", "~", "", "a: b", "- x", "${a.b}", "'q'", "2020-01-01", "x" * 99]))
documents = st.dictionaries(st.text(min_size=1, max_size=10), st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6) | st.integers(0, 3), inner,
                                                                  max_size=3),
    max_leaves=8), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(documents, documents)
def test_a_saved_config_is_the_yaml_of_the_whole_document(first, second):
    """rompy-config.yaml is dumped entry by entry with the entries' text kept: the text is
    what dumping the whole document gives, for a document met before, or one sharing
    entries with it (1, True, "1" and 1.0 kept apart, as keys too)."""
    import yaml

    from rompy.model import _yaml_mapping

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    mixed = {**first, **{key: value for key, value in second.items() if key not in first}}
    for document in (first, second, first, mixed):
        assert _yaml_mapping(document) == yaml.dump(document, Dumper=dumper, sort_keys=False)


def test_saved_config_entries_that_print_alike_are_not_taken_for_each_other():
    import yaml

    from rompy.model import _yaml_mapping

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    for value in (1, True, "1", 1.0, "True", {1: "a"}, {"1": "a"}, [1], ["1"], None, "None"):
        document = {"defaults": ["rompy"], "entry": value}
        assert _yaml_mapping(document) == yaml.dump(document, Dumper=dumper, sort_keys=False)

"""Bad input from the command line: exit 2 and one line that says what to fix."""

from __future__ import annotations

import textwrap

import pytest

from tests.helpers.cli import run_rompy

CASES = [
    # (overrides, exit code, fragments the one-line message must contain)
    (["backend.timeout=5"], 2, ["backend.timeout", "5", "greater than or equal to 60", "override 'backend.timeout=5'"]),
    (["backend.cpus=2"], 2, ["backend.cpus", "unknown key", "did you mean 'cpu'"]),
    (["+backend.cpus=2"], 2, ["backend.cpus", "unknown key", "did you mean 'cpu'"]),
    (["backend=kubernetes"], 2, ["backend=kubernetes", "choose one of", "docker", "local"]),
    (["postprocessor=zipit"], 2, ["postprocessor=zipit", "archive", "noop", "summary"]),
    (["backend.timeout=abc"], 2, ["backend.timeout", "'abc'", "valid integer"]),
    (["backend=docker", "backend.image=Bad_Image", "dry_run=true"], 2, ["backend.image", "Bad_Image", "image reference"]),
    (["backend=docker", "backend.memory=lots", "dry_run=true"], 2, ["backend.memory", "'lots'", "512m"]),
    (["model.depths=[10,-5]"], 2, ["model.depths", "positive"]),
    (["run_id=../escape"], 2, ["run_id", "'../escape'", "folder inside output_dir"]),
    (["backend.timeout=${oc.env:ROMPY_TEST_UNSET_VARIABLE}"], 2, ["ROMPY_TEST_UNSET_VARIABLE"]),
    (["backend.command=(unbalanced"], 2, ["backend.command"]),
    (["log_level=chatty"], 2, ["log_level", "'DEBUG'"]),
    (["bogus_root_key=1"], 2, ["bogus_root_key", "unknown key"]),
    (["backend=dokcer"], 2, ["backend=dokcer", "did you mean 'backend=docker'?", "choose one of"]),
    (["backend.command=true"], 2, ["backend.command", "not a boolean", "quote it: backend.command='true'"]),
    (["backend.command=3"], 2, ["backend.command", "not a number", "backend.command='3'"]),
    (["backend=docker", "backend.image=UPPER/case", "dry_run=true"], 2,
     ["backend.image", "'UPPER/case' must be lowercase", "'UPPER' is not read as a registry host"]),
    (["backend=docker", "backend.image=localhost:5000/Model", "dry_run=true"], 2, ["'Model' must be lowercase"]),
]


@pytest.mark.parametrize("overrides,code,fragments", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_gives_one_clear_line(workdir, overrides, code, fragments):
    proc = run_rompy(*overrides, cwd=workdir)
    assert proc.returncode == code, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("rompy: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (workdir / "output").exists(), "a config error must create nothing"


def test_error_names_the_yaml_file_when_the_value_came_from_one(workdir):
    (workdir / "conf/backend").mkdir(parents=True)
    (workdir / "conf/backend/broken.yaml").write_text("type: local\ntimeout: 10\n")
    proc = run_rompy("backend=broken", cwd=workdir)
    assert proc.returncode == 2
    assert "backend.timeout = 10" in proc.stderr
    assert str(workdir / "conf/backend/broken.yaml") in proc.stderr


@pytest.mark.parametrize("overrides,where", [
    # Hydra applies value overrides after group choices, wherever they stand on the line
    (["backend.cpu=-1", "backend=docker", "dry_run=true"], "(set by override 'backend.cpu=-1')"),
    (["backend=docker", "backend.cpu=-1", "dry_run=true"], "(set by override 'backend.cpu=-1')"),
    # an error about a whole node names the overrides of the keys under it
    (["period.start=2023-01-01", "period.end=2022-01-01", "dry_run=true"],
     "(set by override 'period.start=2023-01-01', override 'period.end=2022-01-01')"),
    (["period.start=2023-01-01T00:00+10:00", "period.end=2023-01-02", "dry_run=true"],
     "period: start has a time zone and end has none; give both one (e.g. '+00:00' or 'Z') or neither "
     "(set by override 'period.start=2023-01-01T00:00+10:00', override 'period.end=2023-01-02')"),
])
def test_error_names_the_override_that_set_the_value(workdir, overrides, where):
    proc = run_rompy(*overrides, cwd=workdir)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith(where), proc.stderr
    assert ".yaml" not in proc.stderr


def test_debug_true_shows_the_traceback(workdir):
    proc = run_rompy("debug=true", "run_id=dbg", "backend.working_dir=/", "backend.command=[/nonexistent/binary]",
                     cwd=workdir)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr  # a failed model is not an exception
    proc = run_rompy("debug=true", "backend.timeout=5", cwd=workdir)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and "ConfigError" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("rompy: error: backend.timeout")


def test_existing_run_directory_is_refused_and_left_untouched(workdir):
    run_dir = workdir / "output" / "keep"
    run_dir.mkdir(parents=True)
    (run_dir / "precious.txt").write_text("do not lose me")
    proc = run_rompy("run_id=keep", cwd=workdir)
    assert proc.returncode == 2
    assert "already exists" in proc.stderr and "delete_existing" in proc.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == ["precious.txt"]
    assert (run_dir / "precious.txt").read_text() == "do not lose me"


def test_delete_existing_replaces_the_run_directory(workdir):
    run_dir = workdir / "output" / "again"
    run_dir.mkdir(parents=True)
    (run_dir / "old.txt").write_text("old")
    proc = run_rompy("run_id=again", "delete_existing=true", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert not (run_dir / "old.txt").exists()
    assert (run_dir / "outputs/dispersion.csv").exists()


def test_missing_command_binary_is_a_failed_run_not_a_crash(workdir):
    proc = run_rompy("run_id=nobin", "backend.command=[/nonexistent/binary]", cwd=workdir)
    assert proc.returncode == 1
    assert "cannot start" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("override,expected", [
    ("backend.command='exit 3'", 3),
    ('backend.command="exit 4"', 4),  # what the shell passes for 'backend.command="exit 4"'
])
def test_quoted_commands(workdir, override, expected):
    proc = run_rompy("run_id=q", override, cwd=workdir)
    assert proc.returncode == 1
    from tests.helpers.cli import read_record

    assert read_record(workdir / "output/q")["exit_code"] == expected


def test_unquoted_true_is_a_boolean_and_is_refused_as_command(workdir):
    proc = run_rompy("backend.command=true", cwd=workdir)
    assert proc.returncode == 2
    assert "backend.command" in proc.stderr


def test_quoted_true_is_the_shell_builtin(workdir):
    proc = run_rompy("run_id=qt", "backend.command='true'", cwd=workdir)
    assert proc.returncode == 0, proc.stderr


def test_unquoted_comma_is_refused_in_a_single_run(workdir):
    proc = run_rompy("backend.command=echo a,b", cwd=workdir)
    assert proc.returncode == 2
    assert "-m" in proc.stderr or "sweep" in proc.stderr or "comma" in proc.stderr.lower()


USER_CLASSES = textwrap.dedent("""
    from pydantic import Field
    from rompy.config import ModelConfig
    from rompy.postprocess.base import PostprocessorConfig

    class Wave(ModelConfig):
        type: str = "mypkg.models:Wave"
        amplitude: float = Field(1.0, description="Wave amplitude in metres.")
        steps: int = Field(3, description="Not listed in the YAML option.")

        def render_input(self, context):
            return f"amplitude={self.amplitude}\\n"

        def command(self):
            return "cat INPUT"

    class Post(PostprocessorConfig):
        type: str = "mypkg.models:Post"
        threshold: float = 1.0

        def process(self, model_run, **kwargs):
            return {"success": True}
""")


@pytest.fixture
def user_classes(workdir):
    (workdir / "mypkg").mkdir()
    (workdir / "mypkg" / "__init__.py").write_text("")
    (workdir / "mypkg" / "models.py").write_text(USER_CLASSES)
    for group, text in (("model", 'type: "mypkg.models:Wave"\namplitude: 2.0\n'),
                        ("postprocessor", 'type: "mypkg.models:Post"\nthreshold: 2.0\n')):
        (workdir / "conf" / group).mkdir(parents=True)
        (workdir / "conf" / group / "mine.yaml").write_text(text)
    return workdir


@pytest.mark.parametrize("overrides,expected", [
    (["model.amplitde=3"], "model.amplitde: unknown key; did you mean 'amplitude'?"),
    (["model.steps=5"], "model.steps: unknown key in the YAML of this model option; add it with '+model.steps=...'"),
    (["postprocessor=mine", "postprocessor.treshold=3"], "postprocessor.treshold: unknown key; did you mean 'threshold'?"),
    (["+model.amplitde=3"], "model.amplitde: unknown key; did you mean 'amplitude'?"),
], ids=["misspelt key", "key missing from the YAML", "postprocessor key", "appended key"])
def test_errors_about_a_users_class_name_its_own_fields(user_classes, overrides, expected):
    proc = run_rompy("model=mine", *overrides, "dry_run=true", cwd=user_classes)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"rompy: error: {expected}"), line


@pytest.mark.parametrize("sweep", [[], ["-m", "model.amplitude=1,2"]])
def test_a_users_model_class_without_render_is_a_config_error(user_classes, sweep):
    """It passed validation and dry runs, then the run ended in NotImplementedError, exit 1."""
    models = user_classes / "mypkg" / "models.py"
    models.write_text(models.read_text().replace("def render_input(self, context)", "def input_text(self, context)"))
    proc = run_rompy("model=mine", *sweep, cwd=user_classes)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert "model.type: mypkg.models:Wave implements neither render(runtime) nor render_input(context)" in line
    assert line.endswith(f"(set in {user_classes / 'conf/model/mine.yaml'})"), line
    assert not (user_classes / "output").exists()


def test_version_names_rompy_and_what_it_runs_on(workdir):
    from importlib.metadata import version

    import rompy

    proc = run_rompy("--version", cwd=workdir)
    assert proc.returncode == 0
    first, second = proc.stdout.splitlines()
    assert first == f"rompy {rompy.__version__}"
    assert f"Hydra {version('hydra-core')}" in second and f"Pydantic {version('pydantic')}" in second


# The slurm extra's packages cannot be found or imported, and Hydra's plugin scan does not list
# them, as in an install without `rompy-hydra[slurm]`.
WITHOUT_SLURM_EXTRA = textwrap.dedent("""
    import pkgutil
    import sys
    from importlib.machinery import PathFinder


    def _extra(name):
        return name.split(".")[0] == "submitit" or name.startswith("hydra_plugins.hydra_submitit_launcher")


    class _WithoutExtra(PathFinder):
        @classmethod
        def find_spec(cls, name, path=None, target=None):
            return None if _extra(name) else super().find_spec(name, path, target)


    sys.meta_path[sys.meta_path.index(PathFinder)] = _WithoutExtra
    _iter_modules = pkgutil.iter_modules


    def _installed_modules(path=None, prefix=""):
        return (info for info in _iter_modules(path, prefix) if not _extra(info.name))


    pkgutil.iter_modules = _installed_modules
""")


@pytest.mark.parametrize("argv,missing", [
    (["backend=slurm", "dry_run=true"], "submitit"),
    (["-m", "hydra/launcher=slurm", "model.g=9,10"], "submitit"),
    (["-m", "hydra/launcher=submitit_slurm", "model.g=9,10"], "hydra-submitit-launcher"),
    (["-m", "hydra/launcher=submitit_local", "model.g=9,10"], "hydra-submitit-launcher"),
], ids=lambda value: " ".join(value) if isinstance(value, list) else value)
def test_a_missing_optional_extra_is_a_usage_error(workdir, argv, missing):
    (workdir / "blocker").mkdir()
    (workdir / "blocker" / "sitecustomize.py").write_text(WITHOUT_SLURM_EXTRA)
    proc = run_rompy(*argv, cwd=workdir, env={"PYTHONPATH": str(workdir / "blocker")})
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert f"needs {missing}, which is not installed: pip install 'rompy-hydra[slurm]'" in line
    assert not (workdir / "output").exists()


@pytest.mark.parametrize("sweep", [[], ["-m"]])
def test_an_override_that_does_not_parse_is_named(workdir, sweep):
    """The parser's message alone ("mismatched input '<EOF>' expecting {':', BRACKET_OPEN, ...}")
    did not say which of the overrides on the line it was about."""
    proc = run_rompy(*sweep, "run_id=ok", "model.depths=[10],", "dry_run=true", cwd=workdir)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("rompy: error: override 'model.depths=[10],': ")
    assert "BRACKET_OPEN" not in line and "quote values" in line
    tilde = run_rompy(*sweep, "output_dir=~/runs", "dry_run=true", cwd=workdir)
    assert tilde.stderr.strip() == (
        "rompy: error: override 'output_dir=~/runs': a character the override grammar does not allow unquoted; "
        "quote values with spaces or special characters, e.g. 'backend.command=\"exit 3\"' (see docs/overrides.md)")


@pytest.mark.parametrize("launcher,override,message", [
    ("slurm", "hydra.launcher.members_per_task=0", "hydra.launcher.members_per_task = 0: Input should be greater "
                                                   "than or equal to 1"),
    ("slurm", "hydra.launcher.task_minutes=abc", "hydra.launcher.task_minutes = 'abc': Input should be a valid "
                                                 "number"),
    ("slurm", "hydra.launcher.timeout_margin_s=-5", "hydra.launcher.timeout_margin_s = -5: Input should be greater "
                                                    "than or equal to 0"),
    ("parallel", "hydra.launcher.cores=-1", "hydra.launcher.cores = -1: Input should be greater than 0"),
    ("parallel", "hydra.launcher.max_workers=x", "hydra.launcher.max_workers = 'x': Input should be a valid integer"),
])
def test_a_launchers_own_keys_are_checked_before_anything_runs(workdir, launcher, override, message):
    """`members_per_task=0` ran as 1 and `task_minutes=abc` ended in a ValueError from int()."""
    proc = run_rompy("-m", f"hydra/launcher={launcher}", override, "model.depths=[10],[20]", cwd=workdir)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"rompy: error: {message}") and line.endswith(f"(set by override '{override}')"), line
    assert not (workdir / "output").exists()


@pytest.mark.parametrize("group,base,line,choice,expected", [
    ("launcher", "parallel", "max_wrkers: 3", "mine",
     "hydra.launcher.max_wrkers: unknown key; did you mean 'max_workers'?"),
    ("launcher", "sequential", "cores: 2", "mine", "hydra.launcher.cores: unknown key; this option takes no keys"),
    ("launcher", "slurm", "partitoin: debug", "mine",
     "hydra.launcher.partitoin: unknown key; did you mean 'partition'?"),
    ("sweeper", "rompy", "parms: {model.depths: '[10],[20]'}", "mine",
     "hydra.sweeper.parms: unknown key; did you mean 'params'?"),
])
def test_a_misspelt_key_in_a_users_launcher_or_sweeper_file_is_one_line(workdir, group, base, line, choice,
                                                                          expected):
    """A user's conf/hydra/launcher/*.yaml with a key the launcher does not take ended in Hydra's
    "Error in call to target '...RompyParallelLauncher': TypeError(... unexpected keyword argument ...)";
    on SLURM, in every member failing at submission with submitit's list of its parameters."""
    option = workdir / "conf" / "hydra" / group / f"{choice}.yaml"
    option.parent.mkdir(parents=True)
    option.write_text(f"defaults:\n  - {base}\n{line}\n")
    proc = run_rompy("-m", f"hydra/{group}={choice}", "model.depths=[10],[20]", cwd=workdir)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"rompy: error: {expected} (set in {option})"]
    assert sorted(p.name for p in workdir.iterdir()) == ["conf"]


@pytest.mark.parametrize("group,text,expected", [
    ("launcher", "_target_: mylaunchers.Fast\n",
     "hydra.launcher._target_ = 'mylaunchers.Fast': not a Hydra launcher (a Launcher class in the hydra_plugins "
     "package); an option file of your own may start with 'defaults: [parallel]'"),
    ("sweeper", "_target_: hydra_plugins.rompy_launchers.parallel.RompyParallelLauncher\n",
     "hydra.sweeper._target_ = 'hydra_plugins.rompy_launchers.parallel.RompyParallelLauncher': not a Hydra sweeper "
     "(a Sweeper class in the hydra_plugins package); an option file of your own may start with "
     "'defaults: [rompy]'"),
    ("launcher", "cores: 2\n",
     "hydra.launcher._target_: required but not given; an option file of your own may start with "
     "'defaults: [parallel]'"),
    ("launcher", "- parallel\n- cores: 2\n",
     "hydra.launcher: the option file holds a list, not a mapping of the launcher's keys (an option file of "
     "your own may start with 'defaults: [parallel]')"),
    ("launcher", "defaults:\n  - parallel\ncores: ${cpus}\n",
     "hydra.launcher.cores: Interpolation key 'cpus' not found"),
])
def test_a_launcher_or_sweeper_file_naming_no_usable_class_is_one_line(workdir, group, text, expected):
    """Hydra refused these with a traceback ("Invalid plugin '...': not the hydra_plugins package", a
    bare AssertionError) or a line naming neither file nor key ("Input config does not have a `_target_` field",
    "Interpolation key 'cpus' not found"); a list said `_target_` was missing."""
    option = workdir / "conf" / "hydra" / group / "mine.yaml"
    option.parent.mkdir(parents=True)
    option.write_text(text)
    proc = run_rompy("-m", f"hydra/{group}=mine", "model.depths=[10],[20]", cwd=workdir)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"rompy: error: {expected} (set in {option})"]
    assert sorted(p.name for p in workdir.iterdir()) == ["conf"]


@pytest.mark.parametrize("overrides,expected", [
    (["hydra/launcher=parallel", "hydra.launcher.core=2"], "hydra.launcher.core: unknown key; did you mean 'cores'?"),
    (["hydra.launcher.cores=2"], "hydra.launcher.cores: unknown key; this option takes no keys"),
    (["hydra/launcher=slurm", "hydra.launcher.partitoin=debug"],
     "hydra.launcher.partitoin: unknown key; did you mean 'partition'?"),
    (["hydra/launcher=slurm", "hydra.launcher.nodelist=n1"],
     "hydra.launcher.nodelist: unknown key (append a new key with '+hydra.launcher.nodelist=...')"),
    (["hydra.sweeper.parms=x"], "hydra.sweeper.parms: unknown key; did you mean 'params'?"),
])
def test_an_unknown_launcher_or_sweeper_key_on_the_command_line_gets_the_right_hint(workdir, overrides, expected):
    """Each said "append a new key with '+hydra.launcher.core=...'", which the launcher then refused;
    only a SLURM key that rompy passes on to sbatch (nodelist) is one to append."""
    proc = run_rompy("-m", *overrides, "model.depths=[10],[20]", "dry_run=true", cwd=workdir)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"rompy: error: {expected}"]


@pytest.mark.parametrize("sweep,text,expected", [
    ([], "backend:\n  timeout: 5\n", "backend.timeout = 5: Input should be greater than or equal to 60"),
    (["-m"], "hydra:\n  sweeper:\n    parms: {model.depths: '[10],[20]'}\n",
     "hydra.sweeper.parms: unknown key; did you mean 'params'?"),
])
def test_a_bad_value_from_an_ensemble_file_is_traced_to_that_file(workdir, sweep, text, expected):
    """Both said 'set in' the selected group's own file (the shipped backend/local.yaml,
    hydra/sweeper/rompy.yaml), which the ensemble's value had replaced."""
    ensemble = workdir / "conf" / "ensemble" / "mine.yaml"
    ensemble.parent.mkdir(parents=True)
    ensemble.write_text("# @package _global_\n" + text)
    proc = run_rompy(*sweep, "+ensemble=mine", "dry_run=true", cwd=workdir)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"rompy: error: {expected} (set in {ensemble})"]


@pytest.mark.parametrize("params,expected", [
    ("model.dephts: 10,20", "every member (2): model.dephts: unknown key; did you mean 'depths'?"),
    ("backend.timeout: 5,600", "member 0 (backend.timeout=5 +ensemble=mine): backend.timeout = 5: "
                               "Input should be greater than or equal to 60"),
])
def test_a_bad_key_or_value_swept_by_an_ensemble_is_traced_to_that_file(workdir, params, expected):
    """The unknown key named no file, and the bad value was 'set by override 'backend.timeout=5'',
    an override the user never typed."""
    ensemble = workdir / "conf" / "ensemble" / "mine.yaml"
    ensemble.parent.mkdir(parents=True)
    ensemble.write_text(f"# @package _global_\nhydra:\n  sweeper:\n    params:\n      {params}\n")
    proc = run_rompy("-m", "+ensemble=mine", "dry_run=true", cwd=workdir)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"rompy: error: {expected} (swept by hydra.sweeper.params, set in {ensemble})"]


def test_a_users_sweeper_file_still_sweeps_its_params(workdir):
    option = workdir / "conf" / "hydra" / "sweeper" / "depths.yaml"
    option.parent.mkdir(parents=True)
    option.write_text("defaults:\n  - rompy\nparams:\n  model.depths: '[10],[20]'\n")
    proc = run_rompy("-m", "hydra/sweeper=depths", "dry_run=true", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "dry run: 2 members valid" in proc.stdout


def test_flags_may_stand_anywhere_among_the_overrides(workdir):
    """`rompy backend=local -m model.depths=[10],[20]` was argparse's 'unrecognized arguments'."""
    proc = run_rompy("run_id=mid", "-m", "model.depths=[10],[20]", "dry_run=true", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "dry run: 2 members valid" in proc.stdout
    shown = run_rompy("dry_run=true", "--cfg", "job", "backend=docker", cwd=workdir)
    assert shown.returncode == 0 and "type: docker" in shown.stdout, shown.stderr
    after_dashes = run_rompy("-m", "--", "model.depths=[10],[20]", "dry_run=true", cwd=workdir)
    assert after_dashes.returncode == 0 and "dry run: 2 members valid" in after_dashes.stdout, after_dashes.stderr


def test_an_unknown_flag_is_one_line(workdir):
    proc = run_rompy("--dryrun", "run_id=x", cwd=workdir)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "rompy: error: unknown flag '--dryrun'; rompy --help lists the flags (overrides are key=value)"]
    assert not (workdir / "output").exists()

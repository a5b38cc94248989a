"""Run one Veros setup as rompy configured it: `python3 veros_run.py veros.json`, from the run directory.

rompy copies this file into every run directory, so it needs nothing but Veros and the
standard library (a container image needs no rompy). veros.json names the setup file, the
settings to override and the restart file; the run itself is Veros's own `veros run`.
Veros writes its files into the working directory, so the run happens in outputs/; its
snapshot diagnostic writes every `snapshot_interval_s` (the period's interval), so every run
leaves its state at the end of the period on file, whatever the setup's own frequency.
"""

import json
import os
import sys
from pathlib import Path


def as_text(value):
    """A setting as `veros run -s NAME VALUE` reads it back into the setting's type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def veros_arguments(config, run_dir):
    """The `veros run` command line for veros.json's `config`."""
    arguments = ["run", str(run_dir / config["setup"])]
    settings = dict(config["settings"])
    if config.get("restart"):
        settings["restart_input_filename"] = str(run_dir / config["restart"])
    for name, value in settings.items():
        arguments += ["-s", name, as_text(value)]
    return arguments


def snapshots_every(seconds):
    """Make every Veros run started in this process write its snapshot every `seconds`."""
    from veros.veros import VerosSetup

    run = VerosSetup.run

    def run_with_snapshots(self, *args, **kwargs):
        snapshot = self.state.diagnostics.get("snapshot")
        if snapshot is not None:
            snapshot.output_frequency = seconds
        return run(self, *args, **kwargs)

    VerosSetup.run = run_with_snapshots


def main(argv):
    config_path = Path(argv[1]).resolve()
    run_dir = config_path.parent
    config = json.loads(config_path.read_text(encoding="utf-8"))
    try:
        snapshots_every(config["snapshot_interval_s"])
    except ImportError as exc:  # the usual cause: python3 on PATH is not the environment Veros is in
        sys.exit(f"veros_run.py: cannot import Veros with {sys.executable} ({exc}): give the Python that has it "
                 "as model.python, or activate its environment")
    os.chdir(run_dir / "outputs")
    from veros.cli.veros import cli

    cli.main(args=veros_arguments(config, run_dir), prog_name="veros")


if __name__ == "__main__":
    main(sys.argv)

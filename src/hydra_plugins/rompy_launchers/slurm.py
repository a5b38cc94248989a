"""`hydra/launcher=slurm`: members as SLURM array tasks via submitit (see rompy.sweep.executors.slurm).

Subclasses hydra-submitit-launcher's BaseSubmititLauncher for its parameter
handling and its familiar keys (partition, account, qos, mem_gb,
array_parallelism, additional_parameters, setup, ...); launching and collecting
are rompy's, so a cancelled member is reported while the others finish. submitit
itself is imported only when a SLURM sweep starts.
"""

from __future__ import annotations

from typing import Any

from rompy.sweep.launcher import RompyLauncher

try:  # optional extra: pip install rompy-hydra[slurm]
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher
except ImportError:  # pragma: no cover - without the extra the launcher still loads, and says what is missing
    BaseSubmititLauncher = object


class RompySlurmLauncher(RompyLauncher, BaseSubmititLauncher):
    _EXECUTOR = "slurm"

    def __init__(self, **params: Any) -> None:
        RompyLauncher.__init__(self)
        if BaseSubmititLauncher is not object:
            BaseSubmititLauncher.__init__(self, **params)  # resolves DictConfig values into self.params
        else:
            self.params = dict(params)

    def executor(self):
        try:
            import submitit  # noqa: F401
        except ImportError as exc:
            from rompy.errors import MissingExtra

            raise (MissingExtra.of(exc, "hydra/launcher=slurm")
                   or MissingExtra("hydra/launcher=slurm", "submitit")) from None
        from rompy.sweep.executors.slurm import SlurmExecutor, SlurmSettings, extra_launcher_keys

        return SlurmExecutor(self.settings(SlurmSettings, self.params, extra_launcher_keys()).model_dump())

"""The SLURM backend: one run as one batch job, followed to its end.

config (SlurmConfig: validation, pre-flight, submission, following); jobs (what the backend
and the SLURM sweep launcher share: submitting, the follow loop, states, time limits);
node (what the job runs on its node).
"""

from rompy.backends.slurm.config import SlurmConfig

__all__ = ["SlurmConfig"]

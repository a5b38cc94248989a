"""Test helpers, one copy each: cli (running rompy), processes (/proc), docker, slurm, sweeps, and the fakes
of the fast tier (fake_docker: the engine's API; fake_slurm: SLURM's commands; fake_registry: an image registry)."""

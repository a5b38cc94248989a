"""How many cores a member holds while the parallel launcher runs it.

* local backend: `backend.cpu` (the model runs here with OMP_NUM_THREADS=cpu).
* docker backend, engine on this machine: `backend.cpu`, the container's hard CPU
  limit (nano_cpus), which may be fractional: two `cpu=0.5` members share a core.
  The rompy worker that waits on the container is not counted: it sleeps.
* docker backend, remote engine (DOCKER_HOST=tcp://other-host...): 0. The member
  only waits; `max_workers` bounds how many such members run at once.
* any other backend: its `cpu` field if it has one, else 1.

A member asking for more than the whole budget still runs, alone.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

_LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def docker_engine_is_local(environ=os.environ) -> bool:
    host = environ.get("DOCKER_HOST", "")
    if not host or host.startswith(("unix://", "npipe://", "fd://")):
        return True
    return (urlparse(host).hostname or "") in _LOCAL_HOSTS


def member_weight(cfg, budget: float) -> float:
    from omegaconf import OmegaConf

    try:
        kind = OmegaConf.select(cfg, "backend.type", default=None)
        cpu = OmegaConf.select(cfg, "backend.cpu", default=None)
        cpu = 1.0 if cpu is None else float(cpu)
    except Exception:
        kind, cpu = None, 1.0
    if cpu < 0:
        cpu = 1.0
    if kind == "docker" and not docker_engine_is_local():
        return 0.0
    return min(cpu, float(budget))

"""One run in a container: pre-flight, then create -> attach -> start -> wait -> remove.

Attaching before `start` loses no output line; rompy enforces the deadline itself (the
SDK's `wait(timeout=)` is only an HTTP timeout); whatever happens, `finally` removes
the container (unless `remove_container: false`). The exit code of a run that ended by
itself comes from the engine's `die` event, which an engine may send before it has
released the container's network; the removal, which waits for that release, then goes
on beside rompy's own end of the run where the process's entry point allows it
(rompy.runtime.teardown). Containers carry owner labels, so what a killed rompy left is
found later (rompy.backends.docker.reaper).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

from rompy.backends.base import BackendResult, Stopwatch
from rompy.backends.docker.config import CONTAINER_RUN_DIR
from rompy.backends.docker.rules import parse_memory
from rompy.errors import Interrupted, RunFailed
from rompy.runtime import teardown
from rompy.runtime.output import LineCopier
from rompy.runtime.ownership import LABEL_REMOVE, LABEL_RUN_ID, owner_labels

log = logging.getLogger("rompy.backends.docker")

CONTAINER_HOME = "/rompy/home"
HOME_TMPFS_OPTIONS = "rw,exec,nosuid,nodev,mode=1777"
GRACE_SECONDS = 5.0
#: How long a run waits for the engine to finish a removal already under way.
REMOVAL_WAIT_S = 60.0


# -- pre-flight -------------------------------------------------------------------
def preflight(config) -> None:
    """Engine reachable, limits possible, network present, image there (pulled per policy).

    Creates nothing in the run directory. A Dockerfile config is built in
    `run_container`, once the run's output folder is known and can be left out of
    the build context.
    """
    from rompy.backends.docker.engine import check_network, check_resources, connect
    from rompy.backends.docker.images import ensure_image
    from rompy.backends.docker.reaper import reap_orphans

    if hasattr(config, "check_secret_env"):
        config.check_secret_env()  # the base backend's check: every secret_env name is set
    client = connect()
    check_resources(client, config)
    check_network(client, config.network)
    reap_orphans(client)
    if config.image is not None:
        config._image_info = ensure_image(client, config)
    else:
        from rompy.backends.docker.context import check_dockerignore
        from rompy.errors import PreflightError

        problem = check_dockerignore(Path(config.build_context or ".").expanduser())
        if problem:
            raise PreflightError(f"backend.build_context: {problem}")
    config._client = client


# -- the container's configuration ------------------------------------------------
def command_argv(command: str | list) -> list[str]:
    """A string runs through `sh -c` (so shell syntax works); a list runs as given."""
    if isinstance(command, str):
        return ["sh", "-c", command]
    return [str(part) for part in command]


def volume_bind(spec: str) -> str:
    """`host:container[:opts]` with the host path made absolute (a relative one would be a named volume)."""
    host, container, *options = spec.split(":")
    host = os.path.abspath(os.path.expanduser(host))
    return ":".join([host, container, *options])


def default_user() -> str:
    return f"{os.getuid()}:{os.getgid()}"


def _needs_home(user: str) -> bool:
    """A numeric non-root uid usually has no home in the image (HOME would be '/')."""
    uid = user.split(":", 1)[0]
    return uid.isdigit() and int(uid) != 0


def container_spec(client, config, job, image: str, name: str) -> dict[str, Any]:
    """Keyword arguments for `client.api.create_container`."""
    user = config.user or default_user()
    environment = dict(config.env_vars)
    if hasattr(config, "secret_environment"):
        # A container does not inherit rompy's environment: secret_env values are passed
        # explicitly (they reach the container's config, never rompy's record or logs).
        environment.update(config.secret_environment())
    tmpfs = {}
    if "HOME" not in environment and _needs_home(user):
        environment["HOME"] = CONTAINER_HOME
        tmpfs[CONTAINER_HOME] = HOME_TMPFS_OPTIONS
    memory = config.memory_bytes
    device_requests = None
    if config.gpus is not None:
        from docker.types import DeviceRequest

        count = -1 if config.gpus == "all" else int(config.gpus)
        device_requests = [DeviceRequest(count=count, capabilities=[["gpu"]])]
    host_config = client.api.create_host_config(
        binds=[f"{job.run_dir}:{CONTAINER_RUN_DIR}:rw", *(volume_bind(v) for v in config.volumes)],
        nano_cpus=int(round(config.cpu * 1e9)),
        mem_limit=memory,
        memswap_limit=memory,  # equal to the limit: no swap on top of it
        shm_size=parse_memory(config.shm_size) if config.shm_size else None,
        network_mode=config.network,
        device_requests=device_requests,
        tmpfs=tmpfs or None,
    )
    labels = {LABEL_RUN_ID: job.run_id, "rompy.run_dir": str(job.run_dir), **owner_labels()}
    if not config.remove_container:
        labels[LABEL_REMOVE] = "false"
    return dict(
        image=image, command=command_argv(job.command), user=user, environment=environment,
        working_dir=config.working_dir or CONTAINER_RUN_DIR, labels=labels,
        host_config=host_config, name=name, stdin_open=False, tty=False,
    )


def container_name(run_id: str) -> str:
    return f"rompy-{run_id}-{uuid.uuid4().hex[:8]}"


# -- output -----------------------------------------------------------------------
class _Pump(threading.Thread):
    """Copy the attached stdout/stderr frames, line by line, to the console and logs/."""

    def __init__(self, frames, log_files: dict[str, IO[bytes]]):
        super().__init__(daemon=True, name="rompy-docker-logs")
        self.frames = frames
        self.copiers = {"stdout": LineCopier(sys.stdout, log_files["stdout"]),
                        "stderr": LineCopier(sys.stderr, log_files["stderr"])}
        self.done = threading.Event()

    def run(self) -> None:
        try:
            for out, err in self.frames:
                if out:
                    self.copiers["stdout"].feed(out)
                if err:
                    self.copiers["stderr"].feed(err)
        except Exception as exc:  # the stream was closed under us (cleanup): nothing to lose
            log.debug("log stream ended: %s", exc)
        finally:
            for copier in self.copiers.values():
                copier.close()
            self.done.set()


class _DeathWatch(threading.Thread):
    """The engine's events for one container: an `oom`, then the `die` that carries the exit code.

    `died` is set when the `die` event came, or when the event stream ended without it
    (then `exit_code` stays None and the engine is asked with `wait`).
    """

    def __init__(self, api, container_id: str):
        super().__init__(daemon=True, name="rompy-docker-events")
        self.exit_code: int | None = None
        self.oom = False
        self.died = threading.Event()
        try:
            self.events = api.events(filters={"container": container_id, "event": ["die", "oom"]}, decode=True)
        except Exception as exc:  # noqa: BLE001 - an engine without events: `wait` answers instead
            log.debug("no event stream: %s", exc)
            self.events = ()

    def run(self) -> None:
        try:
            for event in self.events:
                if event.get("Action") == "oom":
                    self.oom = True
                elif event.get("Action") == "die":
                    code = str(((event.get("Actor") or {}).get("Attributes") or {}).get("exitCode", ""))
                    self.exit_code = int(code) if code.lstrip("-").isdigit() else None
                    return
        except Exception as exc:  # the stream was closed under us (cleanup): `wait` answers instead
            log.debug("event stream ended: %s", exc)
        finally:
            self.died.set()

    def close(self) -> None:
        try:
            self.events.close()
        except Exception:  # noqa: BLE001 - never opened, or already closed by the engine
            pass


# -- cleanup ----------------------------------------------------------------------
def _stop(api, ref: str, grace: float) -> None:
    """docker stop (SIGTERM, then SIGKILL after `grace`); a second signal skips to the kill."""
    from docker.errors import APIError

    try:
        api.stop(ref, timeout=int(grace))
    except (Interrupted, KeyboardInterrupt):
        pass
    except Exception as exc:  # HTTP timeout, engine hiccup: fall back to kill
        log.debug("stop %s: %s", ref, exc)
        try:
            api.kill(ref)
        except (APIError, Exception):
            pass


def _remove(api, ref: str) -> None:
    """Remove the container and return once it is gone; a missing container is fine.

    A further signal interrupting the call is retried. A removal already under way (the
    engine went on with one a signal cut short, or another client's) is waited for: the
    run must not end while its container still exists.
    """
    from docker.errors import APIError, NotFound

    for _ in range(3):
        try:
            api.remove_container(ref, force=True, v=True)
            return
        except NotFound:
            return
        except (Interrupted, KeyboardInterrupt):
            continue
        except APIError as exc:
            if "already in progress" in str(exc):
                _wait_until_gone(api, ref)
            else:
                log.warning("could not remove container %s: %s", ref, exc)
            return


def _wait_until_gone(api, ref: str) -> None:
    from docker.errors import NotFound

    deadline = time.monotonic() + REMOVAL_WAIT_S
    while time.monotonic() < deadline:
        try:
            api.inspect_container(ref)
        except NotFound:
            return
        except (Interrupted, KeyboardInterrupt):
            pass
        except Exception as exc:  # noqa: BLE001 - the engine went away: nothing more to wait for
            log.debug("inspect %s while it is removed: %s", ref, exc)
            return
        time.sleep(0.1)
    log.warning("container %s is still being removed by the engine after %g s", ref, REMOVAL_WAIT_S)


# -- the run ----------------------------------------------------------------------
def _open_logs(logs_dir: Path) -> tuple[dict[str, IO[bytes]], dict[str, str]]:
    logs_dir.mkdir(parents=True, exist_ok=True)
    files, paths = {}, {}
    for stream in ("stdout", "stderr"):
        path = logs_dir / f"{stream}.log"
        files[stream] = open(path, "wb")
        paths[stream] = str(path)
    return files, paths


def _image_for(client, config, job, details: dict, logs: dict) -> str:
    """The image reference to run; builds a Dockerfile config (RunFailed if the build fails)."""
    from rompy.backends.docker.images import build_image, ensure_image, image_details

    if config.dockerfile is not None:
        build_log = job.logs_dir / "build.log"
        logs["build"] = str(build_log)
        run_dir = Path(job.run_dir)
        with open(build_log, "ab") as fh:
            info, build = build_image(client, config, [run_dir, run_dir.parent], log_file=fh)
        details["build"] = build
        reference = build["tag"]
        details.update(image_details(reference, info))
        return reference
    info = getattr(config, "_image_info", None) or ensure_image(client, config)
    details.update(image_details(config.image, info))
    return config.image


def run_container(config, job) -> BackendResult:
    """Run `job` in a container and return its result; the container never outlives this call."""
    from docker.errors import APIError

    client = getattr(config, "_client", None)
    if client is None:
        from rompy.backends.docker.engine import connect

        client = connect()
    api = client.api
    log_files, logs = _open_logs(job.logs_dir)
    details: dict[str, Any] = {}
    clock = Stopwatch()

    def result(status: str, exit_code: int | None, message: str) -> BackendResult:
        return clock.result(status, exit_code, message, logs=logs, details=details)

    name = container_name(job.run_id)
    created = False  # a create was at least attempted: there may be a container to clean up
    ended = False  # the container's process ended and nothing of it runs any more
    container_id = None
    pump = None
    stream = None
    watch = None
    try:
        try:
            image = _image_for(client, config, job, details, logs)
        except RunFailed as exc:
            return result("failed", None, str(exc))
        spec = container_spec(client, config, job, image, name)
        details.update(container_name=name, requested={
            "nano_cpus": spec["host_config"].get("NanoCpus"),
            "memory_bytes": spec["host_config"].get("Memory"), "user": spec["user"],
        })
        created = True
        try:
            container_id = api.create_container(**spec)["Id"]
        except APIError as exc:
            return result("failed", None, f"the Docker engine refused to create the container: "
                                          f"{exc.explanation or exc}")
        details["container_id"] = container_id
        details.update(_effective(api.inspect_container(container_id)))  # the limits the engine applied
        watch = _DeathWatch(api, container_id)
        watch.start()
        stream = api.attach(container_id, stdout=True, stderr=True, stream=True, logs=True, demux=True)
        pump = _Pump(stream, log_files)
        pump.start()
        try:
            api.start(container_id)
        except APIError as exc:
            return result("failed", None, f"the container could not start: {exc.explanation or exc}")
        log.info("container %s started (image %s)", name, image)
        exit_code = _wait_for_exit(api, container_id, pump, watch, t_end=time.monotonic() + config.timeout)
        timed_out = exit_code is None
        if timed_out:
            log.warning("run %s reached its %d s timeout: stopping container %s",
                        job.run_id, config.timeout, name)
            _stop(api, container_id, GRACE_SECONDS)
        pump.join(timeout=10)
        if timed_out or exit_code != 0 or not config.remove_container:
            # a failure, or a container kept for inspection: the engine's settled account, OOM included
            exit_code = api.wait(container_id, timeout=GRACE_SECONDS + 60)["StatusCode"]
            details.update(_effective(api.inspect_container(container_id)))
        else:  # exit code 0, from the `die` event: any OOM kill the engine reported by then counts
            details["oom_killed"] = watch.oom
        ended = True
        if timed_out:
            return result("timed_out", exit_code, f"stopped after the {config.timeout} s timeout")
        if details["oom_killed"]:
            limit = f"the {config.memory} ({config.memory_bytes} bytes) memory limit" if config.memory \
                else "no memory limit set (the host ran out of memory)"
            return result("failed", exit_code,
                          f"out of memory: killed by the kernel OOM killer at {limit} (exit code {exit_code})")
        if exit_code != 0:
            return result("failed", exit_code, f"command exited with code {exit_code}")
        return result("succeeded", exit_code, "")
    except BaseException:
        # Interrupted (SIGINT/SIGTERM), KeyboardInterrupt or an unexpected error: stop gently first.
        if created:
            _stop(api, container_id or name, GRACE_SECONDS)
        raise
    finally:
        if created and config.remove_container:
            if ended:  # the engine may still be releasing its network: rompy's records need none of that
                teardown.clean_up(lambda: _remove(api, container_id), name=f"remove container {name}")
            else:
                _remove(api, container_id or name)  # also ends the attach stream of a never-started one
        if watch is not None:
            watch.close()
        _join(pump)
        if stream is not None:
            try:
                stream.close()
            except Exception:
                pass
        _join(pump)
        for fh in log_files.values():
            fh.close()


def _join(pump: _Pump | None) -> None:
    """Wait for the output pump, if it got as far as starting (a signal can land in start())."""
    if pump is not None and pump.ident is not None:
        pump.join(timeout=5)


def _wait_for_exit(api, container_id: str, pump: _Pump, watch: _DeathWatch, t_end: float) -> int | None:
    """The exit code, or None if the container still runs at `t_end`.

    The output stream closes when the container exits, and its `die` event follows at
    once; waiting on the threads' events (not on an HTTP call) keeps the main thread
    responsive to SIGINT/SIGTERM. Without the event (the event stream broke) the
    engine's `wait` answers.
    """
    import requests

    if not pump.done.wait(max(0.0, t_end - time.monotonic())):
        return None
    if not watch.died.wait(max(0.0, t_end - time.monotonic())):
        return None  # the process closed its output and runs on
    if watch.exit_code is not None:
        return watch.exit_code
    try:
        return api.wait(container_id, timeout=max(1.0, t_end - time.monotonic()))["StatusCode"]
    except requests.exceptions.RequestException:
        return None


def _effective(state: dict) -> dict[str, Any]:
    """The limits the engine actually applied, from `inspect`: what the record keeps."""
    host = state.get("HostConfig") or {}
    conf = state.get("Config") or {}
    return {
        "nano_cpus": host.get("NanoCpus"),
        "memory_bytes": host.get("Memory") or None,
        "memory_swap_bytes": host.get("MemorySwap") or None,
        "shm_size_bytes": host.get("ShmSize"),
        "network_mode": host.get("NetworkMode"),
        "user": conf.get("User"),
        "working_dir": conf.get("WorkingDir"),
        "oom_killed": bool((state.get("State") or {}).get("OOMKilled")),
    }

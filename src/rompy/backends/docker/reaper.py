"""Containers a killed rompy left behind (SIGKILL, power loss): stopped and removed by a later rompy.

Only containers whose labels prove they were created on this host, for this active-run
registry, by a rompy process that is gone are touched (rompy.runtime.ownership); a
container of a live rompy, or one rompy did not create, never is. A container whose
owner asked to keep it (`remove_container: false`) is stopped if it still runs, and kept.
"""

from __future__ import annotations

import logging

from rompy.runtime.ownership import LABEL_HOST, LABEL_REGISTRY, LABEL_REMOVE, LABEL_RUN_ID, host_id, is_orphan, \
    registry_id

log = logging.getLogger("rompy.backends.docker")


def reap_orphans(client) -> list[str]:
    """Remove this registry's orphaned containers on the engine `client` talks to; the ids acted on."""
    from docker.errors import APIError

    reaped: list[str] = []
    try:
        listed = client.api.containers(all=True, filters={"label": [f"{LABEL_HOST}={host_id()}",
                                                                    f"{LABEL_REGISTRY}={registry_id()}"]})
    except APIError as exc:  # engine refusing us: reaping is best effort
        log.debug("orphan reaping skipped: %s", exc)
        return reaped
    for container in listed:
        labels = container.get("Labels") or {}
        if not is_orphan(labels):
            continue
        cid = container["Id"]
        try:
            if labels.get(LABEL_REMOVE) == "false":
                if container.get("State") == "running":
                    client.api.kill(cid)
                    reaped.append(cid)
                continue
            client.api.remove_container(cid, force=True, v=True)
        except APIError:  # already gone, or being removed by another rompy
            continue
        reaped.append(cid)
        log.info("removed container %s left by a rompy that is gone (run %s)", cid[:12], labels.get(LABEL_RUN_ID, "?"))
    return reaped


def reap_after_killed_run(notes: dict) -> str:
    """The active-run registry's hook for a Docker run whose rompy died: remove its containers.

    Returns a phrase for the run's record ('' when there was nothing to do).
    """
    from rompy.backends.docker.engine import connect
    from rompy.errors import PreflightError

    try:
        client = connect()
    except PreflightError:  # no engine now: its containers went with it, or the next run's pre-flight reaps them
        return ""
    try:
        removed = reap_orphans(client)
    finally:
        client.close()
    return f"; {len(removed)} container(s) removed" if removed else ""

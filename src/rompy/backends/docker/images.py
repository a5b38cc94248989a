"""Getting the image a run needs: inspect, pull per `pull_policy`, or build from a Dockerfile.

Pulls and builds go through the SDK's low-level streaming API: the high-level
`images.pull` can hide errors and `images.build` prints nothing until the build is
over. Every `error` chunk becomes a RunFailed (exit 1) with the engine's text. A build
is cached by the content hash of its context (rompy.backends.docker.context).
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

from rompy.errors import PreflightError, RunFailed
from rompy.runtime.output import LineCopier

log = logging.getLogger("rompy.backends.docker")

BUILD_REPOSITORY_PREFIX = "rompy-build"
LABEL_BUILD_HASH = "rompy.build_hash"


def inspect_image(client, reference: str) -> dict[str, Any] | None:
    from docker.errors import ImageNotFound, NotFound

    try:
        return client.api.inspect_image(reference)
    except (ImageNotFound, NotFound):
        return None


def image_details(reference: str, info: dict[str, Any]) -> dict[str, Any]:
    """What the run record keeps about the image: the reference, its id and digests."""
    return {
        "image": reference,
        "image_id": info.get("Id"),
        "image_digests": list(info.get("RepoDigests") or []),
    }


def _split_reference(reference: str) -> tuple[str, str]:
    """`name[:tag][@digest]` -> (name, tag or digest) for the pull API."""
    name, _, digest = reference.partition("@")
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    return name, digest or tag or "latest"


def _say(text: str, console: IO[str] | None, log_file: IO[bytes] | None = None) -> None:
    copier = LineCopier(console, log_file)
    copier.feed(text.encode("utf-8", errors="replace"))
    copier.close()


def pull_image(client, reference: str, console: IO[str] | None = None) -> dict[str, Any]:
    """Pull through the streaming API, showing layer progress; RunFailed on any error chunk."""
    from docker.errors import APIError

    console = sys.stderr if console is None else console
    name, tag = _split_reference(reference)
    _say(f"rompy: pulling image {reference}\n", console, None)
    shown: set[tuple[str, str]] = set()
    try:
        for chunk in client.api.pull(name, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
                raise RunFailed(f"pulling image {reference} failed: {detail}")
            status, layer = chunk.get("status", ""), chunk.get("id", "")
            if chunk.get("progressDetail") or (layer, status) in shown:
                continue  # byte counters: too chatty for a log
            shown.add((layer, status))
            _say(f"pull: {layer + ': ' if layer else ''}{status}\n", console, None)
    except APIError as exc:
        raise RunFailed(f"pulling image {reference} failed: {exc.explanation or exc}") from None
    info = inspect_image(client, reference)
    if info is None:
        raise RunFailed(f"pulling image {reference} reported success but the image is not there")
    return info


def ensure_image(client, config, console: IO[str] | None = None) -> dict[str, Any]:
    """The image `config.image` names, pulled according to `config.pull_policy`."""
    reference = config.image
    info = inspect_image(client, reference)
    if config.pull_policy == "never":
        if info is None:
            raise PreflightError(
                f"image {reference} is not on the Docker engine and backend.pull_policy is 'never': "
                f"build or load it first (docker build -t {reference} ., docker load -i image.tar), "
                "or set backend.pull_policy=missing"
            )
        return info
    if info is None or config.pull_policy == "always":
        info = pull_image(client, reference, console)
    return info


def build_tag(context: Path, digest: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", context.resolve().name.lower()).strip("-") or "context"
    return f"{BUILD_REPOSITORY_PREFIX}-{slug[:60]}:{digest[:32]}"


def build_image(client, config, exclude_dirs: list[Path], log_file: IO[bytes] | None = None,
                console: IO[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build `config.dockerfile` unless an image of the same content hash exists.

    Returns (image inspect data, details for the record). RunFailed if the build fails.
    """
    from rompy.backends.docker.context import context_digest, context_entries, dockerfile_name, write_context_tar

    console = sys.stdout if console is None else console
    context = Path(config.build_context or ".").expanduser().resolve()
    dockerfile = (context / config.dockerfile).resolve()
    try:
        entries = context_entries(context, exclude_dirs)
        text = dockerfile.read_bytes()
        in_tar = dockerfile_name(context, dockerfile)
        digest = context_digest(entries, text, in_tar, config.build_args)
    except (OSError, ValueError) as exc:
        raise RunFailed(f"cannot read the build context {context}: {exc}") from None
    tag = build_tag(context, digest)
    details = {"tag": tag, "build_context": str(context), "dockerfile": str(dockerfile),
               "build_hash": digest, "built": False}
    info = inspect_image(client, tag)
    if info is not None:
        _say(f"rompy: build context unchanged, reusing image {tag}\n", console, log_file)
        return info, details
    _say(f"rompy: building image {tag} from {dockerfile} ({len(entries)} context entries)\n", console, log_file)
    with tempfile.SpooledTemporaryFile(max_size=64 << 20) as tar:
        try:
            write_context_tar(tar, entries, text, in_tar)
        except OSError as exc:
            raise RunFailed(f"cannot pack the build context {context}: {exc}") from None
        tar.seek(0)
        output = LineCopier(console, log_file)
        try:
            _stream_build(client, tar, tag, in_tar, config.build_args, digest,
                          lambda text: output.feed(text.encode("utf-8", errors="replace")),
                          pull=config.pull_policy == "always")
        finally:
            output.close()
    info = inspect_image(client, tag)
    if info is None:
        raise RunFailed(f"the build of {tag} reported success but the image is not there")
    details["built"] = True
    return info, details


def _stream_build(client, tar, tag: str, dockerfile: str, build_args: dict[str, str], digest: str,
                  emit: Callable[[str], None], pull: bool = False) -> None:
    from docker.errors import APIError

    try:
        chunks = client.api.build(
            fileobj=tar, custom_context=True, tag=tag, dockerfile=dockerfile,
            buildargs=dict(build_args), rm=True, forcerm=True, decode=True, pull=pull,
            labels={LABEL_BUILD_HASH: digest},
        )
        for chunk in chunks:
            if "error" in chunk:
                detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
                emit(detail.rstrip("\n") + "\n")
                raise RunFailed(f"building image {tag} failed: {detail.strip()}")
            if "stream" in chunk:
                emit(chunk["stream"])
            elif "status" in chunk:
                emit(chunk["status"].rstrip("\n") + "\n")
    except APIError as exc:
        raise RunFailed(f"building image {tag} failed: {exc.explanation or exc}") from None

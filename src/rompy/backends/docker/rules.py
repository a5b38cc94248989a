"""Value rules of the Docker backend: image references, memory sizes, volumes, host-takeover mounts.

Each checker returns the normalised value or raises ValueError with a message that states
what is allowed; Pydantic turns that into a located validation error. They follow the
Docker engine's own grammar, so what passes here the engine accepts.
"""

from __future__ import annotations

import os
import re

from rompy.backends.docker.engine import engine_socket

# distribution/reference grammar (github.com/distribution/reference), simplified only
# in ways that do not change what is accepted.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_NAME_RE = re.compile(
    rf"^(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
_SHA256_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def _is_registry_host(component: str) -> bool:
    """The Docker engine's rule: a first component is a registry host only if it has '.' or ':' or is 'localhost'."""
    return "." in component or ":" in component or component == "localhost"


def check_image_reference(value: str) -> str:
    """Accept what the Docker engine accepts: `[host[:port]/]name[:tag][@digest]`."""
    example = "e.g. 'python:3.12-slim' or 'registry.example.com:5000/team/model:1.2'"
    first, slash, rest = value.partition("/")
    host = first if slash and _is_registry_host(first) else None
    repository = (rest if host else value).split(":", 1)[0].split("@", 1)[0]
    if repository != repository.lower():
        where = "" if host or not slash else (f"; {first!r} is not read as a registry host (that needs a '.' "
                                              "or ':' in it, or 'localhost')")
        raise ValueError(f"not a valid image reference: the repository name {repository!r} must be lowercase, as the "
                         f"Docker engine requires{where}; "
                         + example)
    match = _NAME_RE.match(rest if host else value)
    if not match or len(match.group("path")) > 255 or (host is not None and not _DOMAIN_RE.match(host)):
        raise ValueError(
            "not a valid image reference; expected [host[:port]/]name[:tag][@sha256:<64 hex>] "
            f"with lowercase name components, {example}"
        )
    digest = match.group("digest")
    if digest and digest.startswith("sha256:") and not _SHA256_RE.match(digest):
        raise ValueError("a sha256 digest must be 'sha256:' followed by 64 lowercase hex digits")
    return value


_MEMORY_RE = re.compile(r"^(\d+(?:\.\d+)?)([kmgtp])?(b|ib)?$", re.IGNORECASE)
_UNIT_POWER = {None: 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
_MEMORY_RULE = (
    "a memory size is a number with an optional unit k, m, g, t or p "
    "(optionally followed by b or ib), e.g. '512m', '2g', '1.5GiB'"
)


def parse_memory(value: str | int) -> int:
    """Docker CLI memory grammar -> bytes: `512m`, `2g`, `1.5GiB`, `1024` (bytes).

    As in the Docker CLI, k/m/g/t/p are binary multiples with or without `b`/`ib`.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(_MEMORY_RULE)
    if isinstance(value, int):
        size = value
    else:
        match = _MEMORY_RE.match(value.strip())
        if not match or (match.group(3) and match.group(3).lower() == "ib" and not match.group(2)):
            raise ValueError(_MEMORY_RULE)
        unit = match.group(2).lower() if match.group(2) else None
        size = int(float(match.group(1)) * (1024 ** _UNIT_POWER[unit]))
    if size < 6 * 1024 * 1024:
        raise ValueError("memory must be at least 6m (the Docker engine's minimum)")
    return size


_PROPAGATION = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}
_OPTION_GROUPS = (({"ro", "rw"}, "ro|rw"), ({"z", "Z"}, "z|Z"), (_PROPAGATION, "propagation"),
                  ({"nocopy"}, "nocopy"))


# Host paths that hand a container control of the host: refused unless explicitly allowed.
UNSAFE_HOST_PATHS = ("/", "/var/run/docker.sock", "/run/docker.sock")


def unsafe_host_path(spec: str) -> str | None:
    """The host path of a volume if mounting it would give the container the host, else None."""
    host = os.path.realpath(os.path.expanduser(spec.split(":", 1)[0]))
    unsafe = {os.path.realpath(p) for p in UNSAFE_HOST_PATHS}
    socket = engine_socket()
    if socket:
        unsafe.add(os.path.realpath(socket))
    return host if host in unsafe else None


def check_volume(spec: str) -> str:
    """`host:container[:opts]` with an existing host path and an absolute container path."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ValueError("a volume is 'host_path:container_path[:options]', e.g. '/data:/app/data:ro'")
    host, container = parts[0], parts[1]
    if not os.path.isabs(container) or os.path.normpath(container) == "/":
        raise ValueError(f"container path {container!r} must be absolute and not '/'")
    if not os.path.exists(os.path.expanduser(host)):
        raise ValueError(f"host path {host!r} does not exist")
    if len(parts) == 3:
        options = parts[2].split(",")
        for opt in options:
            if not any(opt in group for group, _ in _OPTION_GROUPS):
                raise ValueError(
                    f"unknown volume option {opt!r}; allowed: ro, rw, z, Z, nocopy, "
                    + ", ".join(sorted(_PROPAGATION))
                )
        for group, label in _OPTION_GROUPS:
            if sum(opt in group for opt in options) > 1:
                raise ValueError(f"volume options may name at most one of {label}")
    return spec

"""DockerConfig: run the model in a container, from an image or a Dockerfile.

Only validation lives here; the Docker SDK is imported when a container is started
(rompy.backends.docker.container), so validating or `--help` never pays for it.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from rompy._pluggable import is_existing_dir, is_existing_file
from rompy.backends.base import BackendConfig, BackendResult, Job, Resources
from rompy.backends.docker.rules import check_image_reference, check_volume, parse_memory, unsafe_host_path

CONTAINER_RUN_DIR = "/rompy/run"


class DockerConfig(BackendConfig):
    """Run the command in a container with enforced CPU, memory and time limits."""

    type: Literal["docker"] = "docker"
    reaper: ClassVar[str | None] = "rompy.backends.docker.reaper:reap_after_killed_run"
    image: str | None = Field(None, description="Image to run, e.g. 'python:3.12-slim' (or give dockerfile).")
    dockerfile: str | None = Field(None, description="Dockerfile to build instead of using image, relative to build_context.")
    build_context: str | None = Field(None, description="Folder sent to the build (default: the current directory).")
    build_args: dict[str, str] = Field(default_factory=dict, description="--build-arg values for the build.")
    cpu: float = Field(1, gt=0, description="CPU hard limit (fractions allowed), e.g. 0.5 or 4.")
    memory: str | None = Field(None, description="Memory limit in Docker CLI form: '512m', '2g', '1.5GiB'.")
    volumes: list[str] = Field(default_factory=list, description="Extra mounts 'host:container[:ro|rw]'; host paths must exist.")
    allow_unsafe_mounts: bool = Field(
        False, description="Allow mounting '/' or the Docker socket, which gives the container the host.")
    remove_container: bool = Field(True, description="Remove the container when the run ends.")
    pull_policy: Literal["missing", "always", "never"] = Field("missing", description="When to pull the image.")
    user: str | None = Field(None, description="uid[:gid] or name inside the container; default: the invoking user.")
    working_dir: str | None = Field(None, description=f"Absolute working directory in the container; default {CONTAINER_RUN_DIR}.")
    gpus: str | int | None = Field(None, description="GPUs to expose: 'all' or a count.")
    network: str | None = Field(None, description="Docker network mode, e.g. 'none', 'host', 'bridge'.")
    shm_size: str | None = Field(None, description="Size of /dev/shm, e.g. '1g'.")

    # Set by preflight() and reused by execute(): one engine connection, one image lookup/pull.
    _client: Any = PrivateAttr(None)
    _image_info: dict | None = PrivateAttr(None)

    @field_validator("image")
    @classmethod
    def _image(cls, value):
        return None if value is None else check_image_reference(value)

    @field_validator("memory", "shm_size", mode="before")
    @classmethod
    def _memory(cls, value):
        if value is None:
            return None
        parse_memory(value)
        return str(value)

    @classmethod
    def path_text(cls, field: str, path) -> str:
        """A Path among the volumes mounts that folder at the same path in the container."""
        import os

        return f"{os.fspath(path)}:{os.fspath(path)}" if field == "volumes" else super().path_text(field, path)

    @field_validator("volumes")
    @classmethod
    def _volumes(cls, value):
        return [check_volume(v) for v in value]

    @field_validator("build_args", mode="before")
    @classmethod
    def _build_args(cls, value):
        if isinstance(value, dict):
            return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}
        return value

    @field_validator("working_dir")
    @classmethod
    def _working_dir(cls, value):
        if value is not None and not posixpath.isabs(value):
            raise ValueError(f"working_dir {value!r} must be an absolute path inside the container")
        return value

    @field_validator("gpus")
    @classmethod
    def _gpus(cls, value):
        if value is None or value == "all":
            return value
        try:
            count = int(value)
        except (TypeError, ValueError):
            raise ValueError("gpus must be 'all' or a positive count") from None
        if count < 1:
            raise ValueError("gpus must be 'all' or a positive count")
        return count

    @model_validator(mode="after")
    def _no_host_takeover(self):
        if not self.allow_unsafe_mounts:
            for spec in self.volumes:
                host = unsafe_host_path(spec)
                if host:
                    raise ValueError(
                        f"volume {spec!r} mounts {host}, which gives the container control of the host; "
                        "set allow_unsafe_mounts: true if you really mean it"
                    )
        return self

    @model_validator(mode="after")
    def _image_or_dockerfile(self):
        if (self.image is None) == (self.dockerfile is None):
            raise ValueError("give exactly one of image or dockerfile")
        if self.dockerfile is not None:
            context = Path(self.build_context or ".").expanduser()
            if not is_existing_dir(str(context)):
                raise ValueError(f"build_context {str(context)[:200]!r} is not an existing directory")
            if not is_existing_file(str(context / self.dockerfile)):
                raise ValueError(f"dockerfile {self.dockerfile[:200]!r} not found in build_context {str(context)[:200]!r}")
        return self

    @property
    def memory_bytes(self) -> int | None:
        return None if self.memory is None else parse_memory(self.memory)

    def resources(self) -> Resources:
        """The container's CPU limit and memory; it holds this machine's cores only if the engine runs here."""
        from rompy.backends.docker.engine import engine_is_on_this_machine

        return Resources(cpus=float(self.cpu), memory_bytes=self.memory_bytes, timeout_s=self.timeout,
                         local_cpus=float(self.cpu) if engine_is_on_this_machine() else 0.0)

    def preflight(self) -> None:
        from rompy.backends.docker.container import preflight

        preflight(self)

    def execute(self, job: Job) -> BackendResult:
        from rompy.backends.docker.container import run_container

        return run_container(self, job)

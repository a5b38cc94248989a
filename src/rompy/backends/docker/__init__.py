"""The Docker backend: a run in a container, from an image or a Dockerfile.

config (DockerConfig) and rules (the engine's grammar for images, sizes, mounts); engine
(where the engine is, connecting); images and context (pull, build, what a build sends);
container (one run, create to remove); reaper (what a killed rompy left).
"""

from rompy.backends.docker.config import CONTAINER_RUN_DIR, DockerConfig

__all__ = ["CONTAINER_RUN_DIR", "DockerConfig"]

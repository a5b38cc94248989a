"""Let users' committed config groups come before rompy's shipped ones.

Hydra appends `--config-dir` and `hydra.searchpath` after the primary config, so
a user's `conf/backend/local.yaml` could never shadow the shipped one. This plugin
prepends `./conf` and the ROMPY_CONFIG_PATH folders, and only while rompy's own
CLI is composing (other Hydra apps in the same environment are left alone).
"""

import sys

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class RompySearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        searchpath = sys.modules.get("rompy.cli.searchpath")
        if searchpath is None or not getattr(searchpath, "COMPOSING", False):
            return
        from rompy.cli.searchpath import user_conf_dirs

        for folder in reversed(user_conf_dirs()):
            search_path.prepend(provider="rompy-user", path=f"file://{folder}")

"""Add rompy-veros's config groups (pkg://rompy_veros.conf) to rompy's search path, after rompy's own.

Acts only while rompy's CLI composes (rompy.cli.searchpath.COMPOSING): Hydra runs every
installed search-path plugin for every Hydra app, and another app's `model` group must not
gain Veros options. Appended, so a user's ./conf, ROMPY_CONFIG_PATH and rompy's shipped
options come first and can shadow these. Hydra imports this module on every start of any
Hydra app: it stays this small.
"""

import sys

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class RompyVerosSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        searchpath = sys.modules.get("rompy.cli.searchpath")
        if searchpath is not None and getattr(searchpath, "COMPOSING", False):
            search_path.append(provider="rompy-veros", path="pkg://rompy_veros.conf")

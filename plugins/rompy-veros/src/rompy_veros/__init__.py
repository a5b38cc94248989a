"""rompy-veros: Veros, the versatile ocean simulator, as a rompy model.

config (VerosConfig, `type: veros`: a setup, the settings that differ, a restart), setups
(finding Veros's setups and reading a setup's settings without running it), runner (the
script each run directory gets), postprocess (VerosSummaryConfig, `type: veros_summary`: a
plot and the headline numbers), conf/ (the config group options rompy finds through the
search-path plugin in hydra_plugins.rompy_veros_searchpath).
"""

"""Config group options rompy-veros ships (model=veros_acc, postprocessor=veros_summary, ...): a package so
that Hydra can find it as pkg://rompy_veros.conf."""

"""rompy's Hydra plugins: the `rompy` sweeper and the sequential, parallel and slurm launchers.

Hydra imports every module here on every start (plugin discovery), so these
modules only define classes; the work lives in `rompy.sweep`, imported when a
sweep actually runs, and submitit is imported only when a SLURM sweep starts.
"""

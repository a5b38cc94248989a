"""Browsing what ran, from the run records alone: no server, no database to keep up.

index (the runs under an output folder, through a cache that is only ever a cache),
sweeps (a sweep folder as `rompy sweeps` and `rompy report` see it), diff (how two runs
differ: config and outcome), report (a sweep's self-contained HTML page), plot (its SVG
plots). The command line over these is rompy.cli.subcommands.
"""

"""Multirun sweeps: one line of results per member, a summary, resume, and launchers.

Hydra's `-m` gives rompy the sweep syntax; this package gives sweeps what Hydra
lacks (DESIGN §4): every failure reported instead of only the first, results
written as members finish, resume, and launchers that compose each member once.

Layout (one job per module):
  settings   the `sweep:` block of RunConfig (fail_fast, resume, progress)
  plan       members from overrides; member keys and run ids
  compose    one composition per member, cheap for members that differ in values only
  member     run one member through the CLI's own task and turn it into a MemberResult
  records    MemberResult, results.jsonl and summary.json
  resume     which members earlier runs of the same sweep already finished
  report     progress line / plain lines and the final table
  runner     the sweep loop shared by every launcher: plan, resume, run, record, exit code
  inprocess, parallel, slurm, foreign   the executors behind the launchers
  weights    how many cores a member holds in the parallel launcher
  outcome    hands the sweep's exit code to the CLI (Hydra's multirun returns nothing)

Nothing heavy is imported here: Hydra imports the plugin modules that use this
package on every start.
"""

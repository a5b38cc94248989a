#!/usr/bin/env bash
# Fresh-machine check: does the committed repository install and run from nothing?
#
#   1. git clone of this checkout's HEAD into a temporary folder (uncommitted work is
#      not included: what is checked is what others get),
#   2. a fresh virtual environment, activated, so `python3` in README's install command
#      is the venv's Python,
#   3. README's install command, read from README.md (its first ```bash block line that
#      runs scripts/install.sh),
#   4. the main job: `python -m rompy` from an empty folder -> exit 0 and
#      output/<run_id>/outputs/dispersion.csv, and the `rompy` console script,
#   5. one example: examples/backends/01_basic_local_run.py.
# Any failure stops it with a non-zero exit. It does not run the test suite.
#
# Environment: ROMPY_FRESH_KEEP=1 keeps the temporary folder (its path is printed).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
started=$(date +%s)
step() { echo "fresh-machine-check: [$(( $(date +%s) - started )) s] $*"; }
die() { echo "fresh-machine-check: FAILED: $*" >&2; exit 1; }

WORK=$(mktemp -d /tmp/rompy-fresh.XXXXXX)
if [[ ${ROMPY_FRESH_KEEP:-0} == 1 ]]; then
    echo "fresh-machine-check: keeping $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi

step "cloning $(git -C "$REPO" rev-parse --short HEAD) into $WORK/rompy"
git clone --quiet --no-hardlinks "$REPO" "$WORK/rompy"

step "creating a fresh virtual environment"
python3 -m venv "$WORK/venv"
# shellcheck disable=SC1091
source "$WORK/venv/bin/activate"
[[ $(command -v python3) == "$WORK/venv/bin/python3" ]] || die "python3 is not the venv's: $(command -v python3)"
unset PYTHONPATH ROMPY_CONFIG_PATH

cd "$WORK/rompy"
install_cmd=$(awk '/^```bash/ {inside=1; next} /^```/ {inside=0} inside && /scripts\/install\.sh/ {sub(/[ \t]+#.*/, ""); print; exit}' README.md)
[[ -n $install_cmd ]] || die "README.md has no \`\`\`bash line running scripts/install.sh"
step "README's install command: $install_cmd"
bash -e -c "$install_cmd" || die "README's install command failed"
python3 -c 'import rompy, sys; sys.exit(0 if rompy.__file__.startswith(sys.argv[1]) else 1)' "$WORK/rompy/src" \
    || die "rompy is not imported from the fresh clone"
[[ -x $WORK/venv/bin/rompy ]] || die "the rompy console script was not installed in the venv"

step "main job: python -m rompy in an empty folder"
mkdir "$WORK/job" && cd "$WORK/job"
python -m rompy run_id=fresh || die "python -m rompy exited $?"
[[ -s output/fresh/outputs/dispersion.csv ]] || die "output/fresh/outputs/dispersion.csv was not written"
python - <<'EOF' || die "the run record does not say succeeded"
import json, sys
record = json.load(open("output/fresh/rompy-result.json"))
sys.exit(0 if record["status"] == "succeeded" else 1)
EOF
rompy run_id=fresh-script dry_run=true >/dev/null || die "the rompy console script failed"
rompy --help | grep -q '^backend=' || die "rompy --help does not list the backend group"

step "example: examples/backends/01_basic_local_run.py"
mkdir "$WORK/example" && cd "$WORK/example"
python "$WORK/rompy/examples/backends/01_basic_local_run.py" || die "example 01 exited $?"
[[ -s output/example_local_run/outputs/dispersion.csv ]] || die "example 01 wrote no outputs"

step "passed"

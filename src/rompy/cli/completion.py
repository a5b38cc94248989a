"""Tab completion beyond Hydra's: completing `python -m rompy` lines in bash."""

from __future__ import annotations

# Printed after Hydra's own script by `rompy -sc install=bash`. Bash completes the command word,
# which for `python -m rompy` is the interpreter: this function completes rompy's part of such a
# line; registering it for an interpreter is left to the user (docs/configuration.md).
PYTHON_M_COMPLETION = r"""
# `python -m rompy` too: complete -o nospace -o default -F rompy_python_m_completion python3
rompy_python_m_completion()
{
    local words=($COMP_LINE)
    if [ "${words[1]}" != "-m" ] || [ "${words[2]}" != "rompy" ] || (( COMP_CWORD < 3 )); then
        return 0
    fi
    local head="${COMP_LINE%%rompy*}rompy"
    local line="rompy${COMP_LINE:${#head}}"
    local point=$(( COMP_POINT - ${#head} + 5 ))
    local choices=$(COMP_POINT=$point COMP_LINE="$line" "${words[0]}" -m rompy -sc query=bash)
    COMPREPLY=($( compgen -o nospace -o default -W "$choices" -- "${words[$COMP_CWORD]}" ))
}
"""


def installs_bash_completion(argv: list[str]) -> bool:
    pairs = zip(argv, argv[1:])
    return any(flag in ("-sc", "--shell-completion") and value == "install=bash" for flag, value in pairs) or \
        "--shell-completion=install=bash" in argv

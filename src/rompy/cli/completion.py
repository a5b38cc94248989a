"""Tab completion beyond Hydra's: sub-commands and their run ids, and `python -m rompy` lines in bash."""

from __future__ import annotations

import os
import sys

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


def answer_subcommand(argv: list[str]) -> bool:
    """Answer `rompy -sc query=bash` for a sub-command; True if the answer is complete.

    On the first word, the sub-command names are offered and Hydra adds its groups and keys
    (False). On a sub-command's line, the options, statuses, sweep ids and run ids are all
    there is (True): Hydra is not asked.
    """
    pairs = list(zip(argv, argv[1:]))
    if not (any(flag in ("-sc", "--shell-completion") and value == "query=bash" for flag, value in pairs)
            or "--shell-completion=query=bash" in argv):
        return False
    from rompy.cli.subcommands import SUBCOMMANDS, completion_words
    line = os.environ.get("COMP_LINE", "")
    words = line.split()[1:]  # the program's name is not completed
    index = len(words) if not words or line.endswith(" ") else len(words) - 1
    current = words[index] if index < len(words) else ""
    if index == 0:
        offered = [name for name in SUBCOMMANDS if name.startswith(current)]
        complete = False
    elif words[0] in SUBCOMMANDS:
        offered = [w for w in completion_words(words, index, current) if w.startswith(current)]
        complete = True
    else:
        return False
    if offered or complete:
        sys.stdout.write(" ".join(offered) + ("\n" if complete else " "))
        sys.stdout.flush()
    return complete

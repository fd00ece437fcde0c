"""`%workbook`: the command line inside a notebook, where the `workbook` command may not be on PATH.

    %load_ext workbook.magic
    %workbook list
    %workbook score my-work/legal-contract-summarizer.answers.json

Arguments are split like a shell would (`shlex`); paths are relative to the
notebook's folder, as the kernel runs there. Nothing is executed but the CLI.
"""

from __future__ import annotations

import shlex


def workbook_magic(line: str) -> int | None:
    """Run `workbook ARGS`; print its output; return the exit status when it is not 0."""
    from .cli import main

    try:
        status = main(shlex.split(line))
    except ValueError as error:  # unbalanced quotes
        print(f"workbook: error: {error}")
        return 2
    except SystemExit as stop:  # --help
        status = stop.code if isinstance(stop.code, int) else 0
    return status or None


def load_ipython_extension(ipython) -> None:
    ipython.register_magic_function(workbook_magic, magic_kind="line", magic_name="workbook")

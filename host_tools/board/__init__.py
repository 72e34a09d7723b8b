from __future__ import annotations


def venv_tool(name: str) -> str | None:
    """A command-line tool installed with this project: the venv's own copy
    (beside the running interpreter) first, then PATH; None if neither has it."""
    import os
    import shutil
    import sys

    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)

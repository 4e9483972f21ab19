"""The ``tuning-studio`` entry point: the app when only ``--data-dir`` is given, else the
command line. Kept free of Qt imports so the command line works where Qt is not installed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def _gui_data_dir(args: list[str]) -> tuple[bool, str | None]:
    """(whether the arguments ask for the app, the --data-dir they name)."""
    if not args:
        return True, None
    if len(args) == 2 and args[0] == "--data-dir":
        return True, args[1]
    if len(args) == 1 and args[0].startswith("--data-dir="):
        return True, args[0].split("=", 1)[1]
    return False, None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    wants_gui, data_dir = _gui_data_dir(args)
    if not wants_gui:
        from studio.cli.main import main as cli_main

        return cli_main(args)
    from ui.app import run_app

    return run_app(data_dir)


if __name__ == "__main__":
    sys.exit(main())

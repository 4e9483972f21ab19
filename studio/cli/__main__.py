"""``python -m studio.cli``: the same command line as ``tuning-studio``."""

from studio.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())

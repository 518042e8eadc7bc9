"""`python -m impl` is the `taskapi` command (see impl/cli.py)."""

from impl.cli import main

main()

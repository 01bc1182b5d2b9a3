"""``python -m cli ...``: the `ledger` command without the installed script."""

from cli.main import main

main()

"""The `ledger` command line: one module per command group, one renderer (``render``), the demo.

It opens stores through the composition root (``bootstrap``) and never imports ``api``.
"""

"""Operations: what a command does when it is more than one ``Ledger`` method, written ONCE for
both edges. The HTTP routes (``api/``) and the command line (``cli/``) both call these
functions, so a route and its CLI command cannot drift apart.

Layering: ``operations`` sits beside ``api`` and ``cli`` and below them: it may import
``domain`` and ``projections``, never ``api``, ``cli`` or ``bootstrap``
(``tests/unit/test_layout.py``). What a function needs from the read side is a small
``Protocol`` that each edge satisfies with what it has (the API's shared read pool, the
command line's own ``Projections``).

- ``invoicing``: issue one tenant's invoice for a closed month, or every tenant's.
"""

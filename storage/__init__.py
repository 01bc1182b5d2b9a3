"""The storage layer: everything that knows a database, below the projections and the API.

* ``storage.urls``: the ``--db`` / ``LEDGER_DATABASE_URL`` setting (libpq URL parsing, conninfo);
* ``storage.dialect``: what differs between SQLite and PostgreSQL in our own SQL, and
  statements with named parameters compiled once per driver;
* ``storage.locks``: advisory locks (table creation across processes, one writer per GPU pool);
* ``storage.event_store``: opening the ledger's event store with our recorders;
* ``storage.recorders``: the library's recorders, with attachments saved in the events' transaction;
* ``storage.tables``: projection tables declared by dataclasses (named rows);
* ``storage.database``: one connection for projection reads and writes (set-oriented upserts).

It imports nothing from ``projections``, ``api``, ``server``, ``web`` or ``cli``
(tests/unit/test_layout.py).
"""

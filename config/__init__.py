"""The settings: ``LEDGER_*`` from the environment, then ``.env``, then defaults
(``config.settings``), and how they are shown and reported to people (``config.view``)."""

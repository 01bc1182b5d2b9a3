"""The processes of ``ledger serve``: the uvicorn supervisor and its workers
(``server.supervisor``), the projection follower (``server.follower``, a thread or a child
process) and what the kernel calls each of them (``server.names``). The HTTP app itself is
``api``; the dashboard is ``web``."""

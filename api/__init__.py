"""The HTTP API: the FastAPI app (``api.app``), its routes (``api.routes``), schemas
(``api.schemas``), auth (``access.tokens``, ``api.deps``) and problem+json errors. The processes that
serve it are ``server``; the dashboard is ``web``; the command line is ``cli``."""

"""Where the Prometheus series of several worker processes meet (``prometheus_client``'s
multiprocess mode). Kept apart from ``api.metrics``: the supervisor sets the variable before
anything imports ``prometheus_client``, which reads it when first imported."""

from __future__ import annotations

import os

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client reads it when first imported


def multiprocess_metrics_directory() -> str | None:
    """The shared directory when this process is one of several workers, else None."""
    return os.environ.get(MULTIPROC_ENV) or None

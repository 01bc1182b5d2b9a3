"""The log of a ``ledger serve`` process: every record (the API's, uvicorn's) on stderr, one line
each, ``text`` or ``json`` (one JSON object a line with ``timestamp`` in ISO 8601 UTC, ``level``,
``logger``, ``message`` and the record's fields), stamped with the id of the request being
answered (``api.observability.current_request_id``). uvicorn's own access log is off: the API
writes one line per request itself."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from api.observability import ACCESS_FIELDS, current_request_id

LOG_FORMATS = ("text", "json")
LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime",
                                                                                      "taskName", "color_message"}


def iso_utc(created: float) -> str:
    """A record's time as ISO 8601 UTC with milliseconds: ``2026-03-01T12:00:00.123Z``."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a call passed with ``extra=``, access fields first."""
    found = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")}
    ordered = {k: found.pop(k) for k in ACCESS_FIELDS if k in found}
    ordered.update(found)
    return ordered


class JsonFormatter(logging.Formatter):
    """One JSON object a line: timestamp (ISO 8601 UTC), level, logger, message, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"timestamp": iso_utc(record.created), "level": record.levelname.lower(),
                                "logger": record.name, "message": record.getMessage()}
        line.update(extras(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=True)


class TextFormatter(logging.Formatter):
    """``2026-03-01T12:00:00.123Z INFO api.access GET /v1/sites 201 request_id=... latency_ms=4.2``.
    Messages and values are escaped to one line (a control character cannot forge a second line)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={_one_line(v)}" for k, v in extras(record).items() if v is not None)
        text = f"{iso_utc(record.created)} {record.levelname} {record.name} {_one_line(record.getMessage())}"
        if fields:
            text += " " + fields
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _one_line(value: object) -> str:
    text = str(value)
    return text if text.isprintable() else json.dumps(text)[1:-1]


class RequestIdFilter(logging.Filter):
    """Stamps a record with the id of the request being answered when it is emitted (a handler's
    filter runs in the logging call's thread and context, a formatter may not)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            found = current_request_id.get()
            if found is not None:
                record.request_id = found
        return True


def log_handler(stream: Any, log_format: Literal["text", "json"]) -> logging.Handler:
    """A handler writing one line per record to ``stream`` in ``log_format``, request ids stamped."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def resolve_format(log_format: str | None) -> Literal["text", "json"]:
    """``text`` or ``json``; ``auto`` (or None): text when stderr is a terminal, else json."""
    if log_format in (None, "auto"):
        return "text" if sys.stderr.isatty() else "json"
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format: {log_format!r} is not one of auto, text, json")
    return "json" if log_format == "json" else "text"


def configure_logging(log_format: str | None = "auto", level: str = "info") -> Literal["text", "json"]:
    """Send every log record (the API's, uvicorn's) to stderr, one line each, in ``log_format``;
    returns the format chosen. ValueError on an unknown format or level."""
    chosen = resolve_format(log_format)
    name = level.lower()
    if name not in LEVELS:
        raise ValueError(f"log level: {level!r} is not one of {', '.join(LEVELS)}")
    handler = log_handler(sys.stderr, chosen)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(5 if name == "trace" else getattr(logging, name.upper()))
    for noisy in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # through the root handler, once
        logger = logging.getLogger(noisy)
        logger.handlers.clear()
        logger.propagate = True
    return chosen

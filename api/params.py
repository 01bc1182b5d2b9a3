"""Parameter guards shared by every resource route, whatever its signature says.

Bodies are checked by their pydantic types (``api.schemas.common``: ``Text``, ``UtcDateTime``,
``Month``, ...). Query, path and header parameters are also checked here, once per route, from
the route's own declaration, so a route written with a plain ``str`` or ``AwareDatetime`` still
cannot hand the database a NUL byte or the projections a time they cannot convert to UTC:

- any declared parameter whose raw value holds a NUL (PostgreSQL refuses it in text) or a lone
  surrogate is refused with 422 naming it;
- any parameter declared as a datetime whose value parses (with pydantic's own parser) but
  leaves the years 1-9999 in UTC, or falls in 9999-12, is refused with 422 naming it.
"""

from __future__ import annotations

import types
from datetime import datetime
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Request, params
from fastapi.dependencies.utils import get_flat_params
from pydantic import AwareDatetime, FutureDatetime, NaiveDatetime, PastDatetime, TypeAdapter, ValidationError

from domain.checks import storable
from domain.timeutil import to_utc

_DATETIME = TypeAdapter(datetime)


# pydantic's datetime flavours are marker classes, not datetime subclasses.
_TIME_MARKERS = (AwareDatetime, NaiveDatetime, FutureDatetime, PastDatetime)


def _mentions_datetime(annotation: Any) -> bool:
    if annotation is datetime or annotation in _TIME_MARKERS or (
            isinstance(annotation, type) and issubclass(annotation, datetime)):
        return True
    origin = get_origin(annotation)
    if origin is Annotated or origin is Union or isinstance(annotation, types.UnionType) or origin is list:
        return any(_mentions_datetime(arg) for arg in get_args(annotation))
    return False


def _declared(route: Any) -> tuple[tuple[str, str, bool], ...]:
    """(location, name as sent, is a time) for every query, header and path parameter; worked
    out once per route and kept on it (routes are not hashable)."""
    known: tuple[tuple[str, str, bool], ...] | None = getattr(route, "_ledger_checked_params", None)
    if known is not None:
        return known
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return ()
    found: list[tuple[str, str, bool]] = []
    for field in get_flat_params(dependant):
        info = field.field_info
        location = ("query" if isinstance(info, params.Query) else "header" if isinstance(info, params.Header)
                    else "path" if isinstance(info, params.Path) else None)
        if location is not None:
            found.append((location, field.alias, _mentions_datetime(info.annotation)))
    known = tuple(found)
    route._ledger_checked_params = known
    return known


def _values(request: Request, location: str, name: str) -> list[str]:
    if location == "query":
        return request.query_params.getlist(name)
    if location == "header":
        return request.headers.getlist(name)
    value = request.path_params.get(name)
    return [value] if isinstance(value, str) else []


def check_parameters(request: Request) -> None:
    """Run by every resource route before its dependencies (``api.idempotency.IdempotentRoute``,
    the route class of ``api.routes.resource_router``): inline, as a plain call rather than a
    dependency, which would cost every request one more solve."""
    route = request.scope.get("route")
    if route is None:
        return
    for location, name, is_time in _declared(route):
        for value in _values(request, location, name):
            storable(value, field=name)
            if is_time:
                try:
                    moment = _DATETIME.validate_python(value)
                except ValidationError:
                    continue  # not a time at all: the route's own validation names it
                if moment.tzinfo is not None:
                    to_utc(moment, field=name)

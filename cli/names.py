"""Names next to ids, and ids from names: report rows carry site and tenant ids; people read and
type names.

- :class:`Names`, :func:`with_names`: the read operation's (``projections.queries``), re-exported
  here for the command line's own tables (``ledger demo``, name filters);
- :func:`resolve`: the ONE resolver of what a person types for a tenant, a site, a funding round,
  an invoice or a reservation -- a full id, a name (case-insensitive, or a part of one that only
  one has), or an id prefix of at least 8 hex digits -- into the id. Unknown or ambiguous is one
  line naming the option: ``--tenant: no tenant named 'Helixa' (did you mean 'Helixa AI'?)``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from uuid import UUID

from domain.errors import InvalidInput, NotFound
from projections.queries import Names, with_names

__all__ = ["MIN_PREFIX", "Names", "is_id_prefix", "resolve", "with_names"]

MIN_PREFIX = 8  # hex digits: an id prefix shorter than this is too likely to be a name
_HEX = re.compile(r"^[0-9a-f-]+$")
_SHOWN = 4  # names listed in a refusal, at most


def is_id_prefix(value: str) -> bool:
    """At least 8 hex digits (hyphens allowed, as ids print): a prefix of an id."""
    text = value.strip().lower()
    return bool(_HEX.match(text)) and len(text.replace("-", "")) >= MIN_PREFIX


def _full_id(value: str) -> str | None:
    try:
        return str(UUID(value.strip()))
    except ValueError:
        return None


def resolve(value: str | None, names: Mapping[str, str], what: str, option: str, *,
            named: bool = True) -> str | None:
    """The id of the one ``what`` (``names``: id -> name) that ``value`` names: a full id as given,
    else an exact name (case-insensitive), an id prefix (8+ hex digits), or a part of one name.
    ``None`` stays ``None``. Refused (one line naming ``option``) when none or several match;
    ``named=False`` for what has no names (invoices, reservations: ``names`` maps ids to "")."""
    if value is None:
        return None
    full = _full_id(value)
    if full is not None:
        return full
    text = value.strip().lower()
    matches = [ident for ident, name in names.items() if name.strip().lower() == text]
    if not matches and is_id_prefix(text):
        matches = [ident for ident in names if str(ident).lower().startswith(text)]
    if not matches and text:
        matches = [ident for ident, name in names.items() if text in name.lower()]
    if len(matches) == 1:
        return str(matches[0])
    if matches:
        shown = sorted(repr(names[m]) if names[m] else str(m) for m in matches)
        more = f" and {len(shown) - _SHOWN} more" if len(shown) > _SHOWN else ""
        raise InvalidInput(f"{option}: {value!r} matches {len(shown)} {what}s ({', '.join(shown[:_SHOWN])}{more}); "
                           f"give the full name or more of the id", field=option)
    if not named:
        raise NotFound(f"{option}: no {what} with an id starting {value.strip()!r}", field=option)
    raise NotFound(f"{option}: no {what} named {value!r}{_hint(value, names)}", field=option)


def _hint(value: str, names: Mapping[str, str]) -> str:
    """`` (did you mean 'Helixa AI'?)``, else the known names (a few), else none recorded."""
    known = sorted({name for name in names.values() if name})
    if not names:
        return " (none recorded yet)"
    by_lower = {name.lower(): name for name in known}
    near = difflib.get_close_matches(value.strip().lower(), list(by_lower), n=1, cutoff=0.6)
    if near:
        return f" (did you mean {by_lower[near[0]]!r}?)"
    more = f", ... {len(known) - _SHOWN} more" if len(known) > _SHOWN else ""
    return f" (known: {', '.join(known[:_SHOWN])}{more})"

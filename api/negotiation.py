"""Content negotiation for resources offered in several media types (RFC 9110, section 12.5.1).

``choose(accept, offered)`` picks the offered type the ``Accept`` header prefers: the highest
quality value wins, a more specific range beats a wildcard, and ties go to the order of
``offered`` (its first entry is the default). No header, ``*/*``, or only types we do not offer:
the default (we answer JSON rather than 406, so a client that asks for something odd still
gets the resource in its documented default form).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    quality: float

    def matches(self, media_type: str) -> int:
        """How specifically this range matches ``media_type``: 2 exact, 1 ``type/*``, 0 ``*/*``, -1 no."""
        kind, _, sub = media_type.partition("/")
        if self.type == kind and self.subtype == sub:
            return 2
        if self.type == kind and self.subtype == "*":
            return 1
        if self.type == "*" and self.subtype == "*":
            return 0
        return -1


def parse_accept(header: str) -> list[MediaRange]:
    ranges = []
    for part in header.lower().split(",")[:64]:
        media, *params = (piece.strip() for piece in part.split(";"))
        kind, slash, sub = media.partition("/")
        if not slash or not kind or not sub:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append(MediaRange(kind, sub, quality))
    return ranges


def choose(accept: str | None, offered: Sequence[str]) -> str:
    """The offered media type ``accept`` prefers (``offered[0]`` when nothing we offer is asked for)."""
    ranges = parse_accept(accept or "")
    best, best_key = offered[0], (-1.0, -1, 0)
    for index, media_type in enumerate(offered):
        scored = [(r.matches(media_type), r.quality) for r in ranges]
        scored = [s for s in scored if s[0] >= 0]
        if not scored:
            continue
        specificity, quality = max(scored)  # the most specific matching range decides
        if quality <= 0:
            continue
        key = (quality, specificity, -index)
        if key > best_key:
            best, best_key = media_type, key
    return best

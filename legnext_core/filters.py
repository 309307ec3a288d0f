"""The filters History and the Gallery share: which jobs a person asked to see."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from legnext_core.store import record_filter


@dataclass(frozen=True)
class JobFilter:
    """Statuses, kinds, search text (prompt words or a job id) and a submission time range.

    Empty means "any"; ``since`` is inclusive and ``until`` exclusive, in epoch seconds.
    """

    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    text: str = ""
    since: float | None = None
    until: float | None = None

    def predicate(self) -> Callable[[Mapping[str, Any]], bool]:
        """These filters over stored objects (see :func:`~legnext_core.store.record_filter`)."""
        return record_filter(
            statuses=self.statuses or None,
            kinds=self.kinds or None,
            text=self.text or None,
            since=self.since,
            until=self.until,
        )

"""Small formatting helpers for the pages: times, durations, points, literal text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

POINTS_PER_USD = 1000


def label_of(labels: Mapping[str, str]) -> Callable[[Any], str]:
    """A widget's ``format_func`` that shows each option's label (the option itself if it has none)."""
    return lambda option: labels.get(option, str(option))


def relative_time(then: float, now: float) -> str:
    """'12 s ago', '3 min ago', '2 h ago' for an epoch time in the past."""
    seconds = max(0.0, now - then)
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} d ago"


def duration(seconds: float | None) -> str:
    """'45 s', '3 min 12 s' or an em dash."""
    if seconds is None:
        return "—"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def points(value: int | None) -> str:
    """'480 points (US$0.48)'."""
    if value is None:
        return "—"
    return f"{value:,} points (US${value / POINTS_PER_USD:,.2f})"


def file_size(size_bytes: int) -> str:
    """'740 KB' below a megabyte (rounded up, so never '0 KB'), '12.5 MB' above: a download's size."""
    if size_bytes < 1_048_576:
        return f"{max(1, -(-size_bytes // 1024))} KB"
    return f"{size_bytes / 1_048_576:.1f} MB"


def code_span(text: object) -> str:
    """``text`` as a Markdown code span: shown literally wherever the page speaks Markdown.

    For untrusted strings (prompts, ids, messages from Legnext, URL parameters) inside a Markdown line:
    nothing in a code span is formatting, a link, math, a colour or an icon. The fence is longer than
    any run of backticks in the text, so the text cannot close it (CommonMark, "Code spans").
    """
    value = " ".join(str(text).splitlines())
    run = longest = 0
    for char in value:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith(("`", " ")) or value.endswith(("`", " ")) or not value else ""
    return f"{fence}{pad}{value}{pad}{fence}"

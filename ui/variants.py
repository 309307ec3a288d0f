"""A finished job's outputs, shown inline: the four videos (or four images) with a download for each.

The archived local copy is preferred over Legnext's URL: result URLs are signed and expire after 30 days,
and the archived file plays even when the signed URL no longer does.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from legnext_core.bundle import output_file_name
from legnext_core.records import JobRecord
from ui.context import studio


@dataclass(frozen=True)
class Variant:
    """One output of a job: its position, Legnext's URL and the archived copy, when there is one."""

    index: int
    url: str | None
    local_path: Path | None
    is_video: bool
    #: The job the output belongs to (Legnext's id, else our local one): it names downloaded files.
    job_ref: str = "job"

    @property
    def label(self) -> str:
        return f"{'Video' if self.is_video else 'Image'} {self.index + 1}"

    @property
    def file_name(self) -> str:
        """``<job>-video-2.mp4``: files from different jobs never collide in a downloads folder."""
        suffix = self.local_path.suffix if self.local_path is not None else None
        return output_file_name(self.job_ref, self.index, is_video=self.is_video, suffix=suffix)


def _media_root() -> Path | None:
    try:
        return studio().settings.media_dir
    except Exception:  # noqa: BLE001 - without a Studio a relative path simply cannot be resolved
        return None


def _local_file(raw: Any) -> Path | None:
    """The archived file for one output, or None when it was not archived or has since gone."""
    if not raw:
        return None
    path = Path(str(raw))
    if not path.is_absolute():
        root = _media_root()
        if root is None:
            return None
        path = root / path
    return path if path.is_file() else None


def variants_of(record: JobRecord) -> list[Variant]:
    """The outputs of a record in Legnext's order (0-3; an upscale has one).

    ``media_paths`` has one entry per output URL, in the same order (None where nothing was archived).
    """
    is_video = record.kind != "image"
    urls = list(record.video_urls or []) if is_video else list(record.image_urls or [])
    paths = list(record.media_paths or [])
    count = max(len(urls), len(paths))
    return [
        Variant(
            index=i,
            url=urls[i] if i < len(urls) else None,
            local_path=_local_file(paths[i] if i < len(paths) else None),
            is_video=is_video,
            job_ref=str(record.job_id or record.local_id or "job"),
        )
        for i in range(count)
        if (i < len(urls) and urls[i]) or _local_file(paths[i] if i < len(paths) else None)
    ]


def _reader(path: Path):
    # A callable makes the download deferred: the bytes are read when the user clicks, not on every
    # rerun of a page that auto-refreshes.
    def read() -> bytes:
        return path.read_bytes()

    return read


def _show_one(variant: Variant, *, download: bool, key_prefix: str) -> None:
    source: Path | str | None = variant.local_path or variant.url
    if variant.is_video:
        st.video(str(source), muted=True, loop=True)
    else:
        st.image(str(source), width="stretch")
    if not download:
        return
    if variant.local_path is not None:
        mime = mimetypes.guess_type(variant.local_path.name)[0] or "application/octet-stream"
        st.download_button(
            f"Download {variant.label.lower()}",
            data=_reader(variant.local_path),
            file_name=variant.file_name,
            mime=mime,
            icon=":material/download:",
            key=f"{key_prefix}-download-{variant.index}",
            on_click="ignore",
        )
    elif variant.url:
        st.link_button(
            f"Open {variant.label.lower()}",
            variant.url,
            icon=":material/open_in_new:",
            help="Not archived locally: this opens Legnext's signed URL (valid for 30 days).",
        )


def show_variants(
    record: JobRecord,
    *,
    download: bool = True,
    key_prefix: str = "variants",
    columns: int = 4,
    actions: Callable[[Variant], None] | None = None,
) -> list[Variant]:
    """Play each output of ``record`` inline (archived copy first, else the URL), with a download each.

    Image jobs show their four images. ``actions`` draws extra buttons under each output (the detail
    view's Extend / Upscale / Animate). Returns the variants shown; shows a caption and returns [] when
    the job has no outputs yet.
    """
    variants = variants_of(record)
    if not variants:
        st.caption(":material/hourglass_empty: No outputs yet.")
        return []
    per_row = max(1, min(columns, len(variants)))
    for start in range(0, len(variants), per_row):
        row = st.columns(per_row)
        for column, variant in zip(row, variants[start : start + per_row], strict=False):
            with column:
                st.markdown(f"**{variant.label}**" + ("" if variant.local_path else " · not archived"))
                _show_one(variant, download=download, key_prefix=key_prefix)
                if actions is not None:
                    actions(variant)
    return variants

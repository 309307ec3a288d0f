"""Many results as one ZIP: which files go in, under which names, written a piece at a time.

A selection from the Gallery names variants ``(local_id, index)``. Each becomes an entry named like a
single download of it (:func:`output_file_name`: ``legnext-<job>-video-<n>.mp4``), read from the archived
copy. The ZIP is written into a file, each video copied through in chunks (zipfile's own streaming
write), so a selection of many videos never sits in memory at once; :func:`write_zip` yields the bytes
done after each chunk, for a progress bar. Videos and images are already compressed: entries are
stored, not deflated, which is as small and many times faster. No streamlit here.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from legnext_core.gallery import media_file
from legnext_core.records import JobRecord

CHUNK_BYTES = 1024 * 1024


def output_file_name(job_ref: str, index: int, *, is_video: bool, suffix: str | None = None) -> str:
    """``legnext-<job>-video-2.mp4``: files from different jobs never collide in a downloads folder.

    ``job_ref`` is Legnext's job id (else the local one); ``index`` is 0-based; ``suffix`` the archived
    file's (".mp4", ".png"), else the usual one for the kind.
    """
    noun = "video" if is_video else "image"
    default = ".mp4" if is_video else ".png"
    return f"legnext-{job_ref}-{noun}-{index + 1}{suffix or default}"


@dataclass(frozen=True)
class Entry:
    """One file of the ZIP: its name inside, the archived file it is read from, and its size."""

    name: str
    path: Path
    size: int


@dataclass(frozen=True)
class Selection:
    """What goes in: the entries found, and the picked variants that have no archived file."""

    entries: tuple[Entry, ...]
    missing: tuple[str, ...]

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.entries)


def select(records: Iterable[tuple[JobRecord, int]], media_dir: Path | None = None) -> Selection:
    """The ZIP entries for these (record, variant index) pairs, in the order given, each once."""
    entries: list[Entry] = []
    missing: list[str] = []
    seen: set[str] = set()
    for record, index in records:
        is_video = record.kind != "image"
        paths = list(record.media_paths or [])
        name_ref = str(record.job_id or record.local_id)
        path = media_file(paths[index] if 0 <= index < len(paths) else None, media_dir)
        name = output_file_name(
            name_ref, index, is_video=is_video, suffix=path.suffix if path is not None else None
        )
        if name in seen:
            continue
        seen.add(name)
        if path is None:
            missing.append(name)
            continue
        entries.append(Entry(name, path, path.stat().st_size))
    return Selection(tuple(entries), tuple(missing))


def write_zip(entries: Iterable[Entry], target: BinaryIO) -> Iterator[int]:
    """Write the ZIP into ``target`` (an open binary file), yielding the bytes copied so far.

    Each file is copied in chunks of :data:`CHUNK_BYTES`; a file that vanished meanwhile raises OSError.
    """
    done = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for entry in entries:
            info = zipfile.ZipInfo.from_file(entry.path, arcname=entry.name)
            info.compress_type = zipfile.ZIP_STORED
            with entry.path.open("rb") as source, archive.open(info, "w", force_zip64=True) as sink:
                while chunk := source.read(CHUNK_BYTES):
                    sink.write(chunk)
                    done += len(chunk)
                    yield done
            yield done


def zip_file_name(selection: Selection) -> str:
    """The ZIP's own name: ``legnext-3-videos.zip`` (or files, when images are among them)."""
    count = len(selection.entries)
    noun = "videos" if all("-video-" in e.name for e in selection.entries) else "files"
    return f"legnext-{count}-{noun if count != 1 else noun[:-1]}.zip"

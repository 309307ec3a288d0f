"""Many results as one ZIP: which files go in, under which names, written a piece at a time.

A selection from the Gallery names variants ``(local_id, index)``. Each becomes an entry named like a
single download of it (:func:`output_file_name`: ``legnext-<job>-video-<n>.mp4``), read from the archived
copy. The ZIP is written into a file, each video copied through in chunks (zipfile's own streaming
write), so a selection of many videos never sits in memory at once; :func:`write_zip` yields the bytes
done after each chunk, for a progress bar. Videos and images are already compressed: entries are
stored, not deflated, which is as small and many times faster. No streamlit here.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from legnext_core.files import write_atomically
from legnext_core.media import archived_file
from legnext_core.records import JobRecord

CHUNK_BYTES = 1024 * 1024
#: Where made files (the Gallery's ZIPs, History's CSV exports) wait under the data folder, each in a
#: folder named by its token, and their URL path: ``/downloads/<token>/<name>``. The server streams the
#: file from disk (``legnext_core.server``). A file made again is a new file: one already offered stays
#: fetchable until it expires, whatever the page shows meanwhile.
DOWNLOADS_DIR = "downloads"
DOWNLOAD_PATH = "/downloads"
#: A made file can be fetched for this long, then it is removed.
KEEP_SECONDS = 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
#: What a made file's name may be, and the type it is served as.
MEDIA_TYPES = {".zip": "application/zip", ".csv": "text/csv; charset=utf-8"}
_DOWNLOAD_NAME = re.compile(r"^legnext-[A-Za-z0-9-]{1,80}\.(zip|csv)$")


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
        path = archived_file(paths[index] if 0 <= index < len(paths) else None, media_dir)
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


# -- made files, waiting to be fetched ------------------------------------------------------------------


def new_download(data_dir: Path, name: str) -> Path:
    """Where to put a new file called ``name``: a fresh folder named by a 128-bit random token.

    The token is what makes the download URL unguessable (like Streamlit's own media URLs); expired
    files are removed on the way.
    """
    if not _DOWNLOAD_NAME.match(name):
        raise ValueError(f"not a download name: {name!r}")
    sweep(data_dir)
    folder = Path(data_dir) / DOWNLOADS_DIR / secrets.token_hex(16)
    folder.mkdir(parents=True)
    return folder / name


def save_download(data_dir: Path, name: str, data: bytes) -> Path:
    """``data`` as a new made file called ``name`` (a small one, such as a CSV export); its path."""
    path = new_download(data_dir, name)
    write_atomically(path, data, durable=False)  # made again on a click if lost in a crash
    return path


def media_type(path: Path) -> str:
    """The Content-Type a made file is served with."""
    return MEDIA_TYPES[path.suffix]


def download_url(path: Path) -> str:
    """The URL path a made file is fetched from."""
    return f"{DOWNLOAD_PATH}/{path.parent.name}/{path.name}"


def find_download(data_dir: Path, token: str, name: str, *, now: float | None = None) -> Path | None:
    """The made file a download URL names, or None (malformed, expired or gone)."""
    if not _TOKEN.match(token) or not _DOWNLOAD_NAME.match(name):
        return None
    path = Path(data_dir) / DOWNLOADS_DIR / token / name
    try:
        fresh = (now or time.time()) - path.stat().st_mtime < KEEP_SECONDS
    except OSError:
        return None
    return path if fresh and path.is_file() else None


def remove_download(path: Path) -> None:
    """Remove a made file and its token folder."""
    shutil.rmtree(path.parent, ignore_errors=True)


def sweep(data_dir: Path, *, now: float | None = None) -> None:
    """Remove made files older than :data:`KEEP_SECONDS` (and folders left half made)."""
    root = Path(data_dir) / DOWNLOADS_DIR
    if not root.is_dir():
        return
    cutoff = (now or time.time()) - KEEP_SECONDS
    for folder in root.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # removed by another session meanwhile

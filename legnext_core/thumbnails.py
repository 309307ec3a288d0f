"""Poster frames and short looping previews of archived results, made once beside the media.

A grid of results must not decode videos on every page run, so the tracker's archiving step makes,
for each archived output ``<media_dir>/<job>/<n>.<ext>``:

- ``<n>.poster.jpg``: one frame (about a second in, past any fade from black) of a video, or the image
  itself, at most :data:`POSTER_WIDTH` pixels wide, without metadata;
- ``<n>.preview.webp`` (videos only): the first :data:`PREVIEW_SECONDS` seconds as a small animated WebP
  that loops; an ``<img>`` plays it, so a grid of many previews costs no video players.

Decoding uses PyAV, whose wheels carry FFmpeg (no system ffmpeg). A file that is missing or cannot be
decoded yields no thumbnail and a logged warning, never an exception to the caller; pages then show
:func:`placeholder_jpeg`.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image, ImageDraw

from legnext_core.files import write_atomically
from legnext_core.media import archived_file, recorded_path

log = logging.getLogger(__name__)

POSTER_WIDTH = 480
PREVIEW_WIDTH = 240
PREVIEW_SECONDS = 3.0
PREVIEW_FPS = 6
#: Where the poster frame is taken from: this far in, or a quarter of a shorter video.
POSTER_AT_SECONDS = 1.0
POSTER_SUFFIX = ".poster.jpg"
PREVIEW_SUFFIX = ".preview.webp"
_VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".webm", ".m4v", ".mkv"})


@dataclass(frozen=True)
class Thumbnail:
    """What was made for one archived output."""

    poster: Path
    preview: Path | None = None


def poster_path(media: Path) -> Path:
    return media.with_name(media.stem + POSTER_SUFFIX)


def preview_path(media_or_poster: Path) -> Path:
    """The preview beside a media file or beside its poster."""
    name = media_or_poster.name
    stem = name[: -len(POSTER_SUFFIX)] if name.endswith(POSTER_SUFFIX) else media_or_poster.stem
    return media_or_poster.with_name(stem + PREVIEW_SUFFIX)


def is_video(media: Path) -> bool:
    return media.suffix.lower() in _VIDEO_SUFFIXES


def make_thumbnail(media: Path, *, preview: bool = True) -> Thumbnail | None:
    """Make the poster (and, for a video, the preview) of one archived file; None if it cannot be read."""
    media = Path(media)
    try:
        if is_video(media):
            frames = _video_frames(media, with_preview=preview)
            if not frames:
                raise ValueError("no decodable frame")
            poster = _write_poster(_poster_frame(frames), poster_path(media))
            made_preview = _write_preview(frames, preview_path(media)) if preview else None
            return Thumbnail(poster, made_preview)
        with Image.open(media) as image:
            image.load()
            return Thumbnail(_write_poster(image, poster_path(media)))
    except (OSError, ValueError, av.FFmpegError, Image.DecompressionBombError) as exc:
        log.warning("No thumbnail for %s: %s", media.name, exc)
        return None


def make_thumbnails(
    media_paths: Sequence[str | None], existing: Sequence[str | None] = ()
) -> list[str | None]:
    """One poster path per output (None where there is no file or it cannot be read).

    Posters already on disk (listed in ``existing``) are kept, so a restart only fills the gaps.
    """
    posters: list[str | None] = []
    for index, raw in enumerate(media_paths):
        known = existing[index] if index < len(existing) else None
        if known and Path(known).is_file():
            posters.append(known)
            continue
        made = make_thumbnail(Path(raw)) if raw else None
        posters.append(None if made is None else str(made.poster))
    return posters


def needs_thumbnails(media_paths: Sequence[str | None], thumbnails: Sequence[str | None] | None) -> bool:
    """Whether an archived output has no poster recorded yet (a failed one is recorded as None once)."""
    archived = sum(1 for path in media_paths if path)
    return archived > 0 and (thumbnails is None or len(thumbnails) < len(media_paths))


# -- decoding ---------------------------------------------------------------------------------------


def _video_frames(media: Path, *, with_preview: bool) -> list[tuple[float, Image.Image]]:
    """(time, frame) pairs: every 1/PREVIEW_FPS s up to PREVIEW_SECONDS, and one near the poster time."""
    wanted_until = max(PREVIEW_SECONDS if with_preview else 0.0, POSTER_AT_SECONDS)
    frames: list[tuple[float, Image.Image]] = []
    next_at = 0.0
    with av.open(str(media)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            at = float(frame.time) if frame.time is not None else next_at
            if at >= next_at:
                # Scaled by FFmpeg while converting: a full 720p frame never reaches Pillow.
                width = min(POSTER_WIDTH, frame.width)
                height = max(2, round(frame.height * width / frame.width / 2) * 2)
                frames.append((at, frame.to_image(width=width, height=height)))
                next_at = at + 1.0 / PREVIEW_FPS
            if at >= wanted_until:
                break
    return frames


def _poster_frame(frames: list[tuple[float, Image.Image]]) -> Image.Image:
    last = frames[-1][0]
    target = min(POSTER_AT_SECONDS, last / 4 if last < POSTER_AT_SECONDS * 4 else POSTER_AT_SECONDS)
    return min(frames, key=lambda pair: abs(pair[0] - target))[1]


def _scaled(image: Image.Image, width: int) -> Image.Image:
    image = image.convert("RGB")
    if image.width > width:
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return image


def _write(target: Path, data: bytes) -> Path:
    # Posters and previews are made again when missing: no fsync, but never half a file.
    write_atomically(target, data, durable=False)
    return target


def _write_poster(image: Image.Image, target: Path) -> Path:
    buffer = io.BytesIO()
    # A fresh RGB image carries no EXIF or other metadata of the source.
    _scaled(image, POSTER_WIDTH).save(buffer, "JPEG", quality=82, optimize=True)
    return _write(target, buffer.getvalue())


def _write_preview(frames: list[tuple[float, Image.Image]], target: Path) -> Path | None:
    shown = [_scaled(image, PREVIEW_WIDTH) for at, image in frames if at <= PREVIEW_SECONDS]
    if len(shown) < 2:
        return None
    buffer = io.BytesIO()
    shown[0].save(
        buffer,
        "WEBP",
        save_all=True,
        append_images=shown[1:],
        duration=round(1000 / PREVIEW_FPS),
        loop=0,
        quality=50,
        # WebP's faster method: a third of the time of the default for a few percent more bytes.
        method=1,
    )
    return _write(target, buffer.getvalue())


# -- placeholder ------------------------------------------------------------------------------------


@functools.cache
def placeholder_jpeg() -> bytes:
    """A plain 16:9 tile with a play mark, shown where a poster is missing or broken."""
    width, height = 480, 270
    image = Image.new("RGB", (width, height), (38, 39, 48))
    draw = ImageDraw.Draw(image)
    cx, cy, r = width // 2, height // 2, 34
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(120, 122, 138), width=4)
    draw.polygon([(cx - 10, cy - 16), (cx - 10, cy + 16), (cx + 17, cy)], fill=(120, 122, 138))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def poster_source(poster: str | None, media_dir: Path | None = None) -> Path | bytes:
    """The poster file to show, or the placeholder when there is none or it has gone."""
    return archived_file(poster, media_dir) or placeholder_jpeg()


def preview_source(poster: str | None, media_dir: Path | None = None) -> Path | None:
    """The looping preview made beside a poster, or None where there is none (images, old posters)."""
    path = recorded_path(poster, media_dir)
    if path is None:
        return None
    preview = preview_path(path)
    return preview if preview.is_file() else None

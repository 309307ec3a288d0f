"""Start and end images uploaded from a person's computer, served by the dashboard for Legnext to fetch.

Legnext takes images only as URLs it downloads itself, so an uploaded picture must be reachable at a
public address. The dashboard keeps it under ``<media_dir>/uploads/<sha256>.<ext>`` and serves it at
``<LEGNEXT_PUBLIC_URL>/uploads/<sha256>.<ext>`` (the route is in :mod:`legnext_core.server`).

What happens to an upload, in order:

1. size: at most :data:`UPLOAD_MAX_BYTES` (the same limit as an image URL a person types);
2. type, by content (Pillow decodes it; the file name proves nothing): PNG, JPEG or WebP;
   a decompression bomb (more than :data:`MAX_PIXELS` pixels) is refused before decoding;
3. metadata stripped by re-encoding the pixels: EXIF (camera, time, GPS), XMP, text chunks and
   comments are dropped. The EXIF orientation is applied to the pixels first, so the picture still
   stands the right way up. The ICC colour profile is **kept**: it describes colours, not the person,
   and dropping it would shift the colours of wide-gamut photos. An animated image keeps its first frame;
4. stored content-addressed: the name is the SHA-256 of the stripped bytes, so the same picture
   uploaded twice is one file, and the name is an unguessable capability (256 bits) that only the
   team and Legnext learn. Files are written to a temporary name and renamed.

The public URL exists only where Legnext can reach the dashboard: in sandbox mode the dashboard's own
loopback address; in live mode ``LEGNEXT_PUBLIC_URL``, which must not be a loopback or private address.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

from legnext_core.files import write_atomically
from legnext_core.media import IMAGE_MAX_BYTES
from legnext_core.settings import PUBLIC_URL_SETTING, UPLOADS_PATH, Settings

#: The largest upload taken: the same as the largest image URL Legnext is pointed at.
UPLOAD_MAX_BYTES = IMAGE_MAX_BYTES
#: The largest picture decoded (about 8K by 6K); anything larger is refused as a decompression bomb.
MAX_PIXELS = 50_000_000
#: Pillow's format name -> (file extension, Content-Type). Only these are taken.
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
#: The extensions a person's file picker offers (the content decides, not the name).
PICKER_TYPES = ("png", "jpg", "jpeg", "webp")
CONTENT_TYPES = {extension: content_type for extension, content_type in FORMATS.values()}
#: The only names the uploads route serves: a SHA-256 and one of our extensions.
UPLOAD_NAME = re.compile(r"^[0-9a-f]{64}\.(?:png|jpg|webp)$")
#: Re-encoding quality of WebP (and of a JPEG without quantisation tables): nobody sees a difference.
LOSSY_QUALITY = 95
#: zlib level 1: a 4K photo-like PNG is stripped about five times faster than at the default 6, and
#: its file came out no larger (benchmarks/uploads.py).
PNG_COMPRESS_LEVEL = 1
#: libwebp's effort (0-6, default 4): 2 is several times faster for a slightly larger file.
WEBP_METHOD = 2

NO_PUBLIC_URL = (
    "Legnext downloads the image from this dashboard, and this dashboard has no public address. "
    f"Set {PUBLIC_URL_SETTING} to the https address where Legnext can reach it (its webhooks use the "
    "same address), or give an image URL instead."
)
PRIVATE_PUBLIC_URL = (
    "Legnext downloads the image from this dashboard, but {setting} ({url}) is a local or private "
    "address that Legnext cannot reach. Set {setting} to the dashboard's public https address, or give "
    "an image URL instead."
)


class UploadRefused(ValueError):
    """An upload that cannot be used; ``message`` says why in a sentence a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StoredUpload:
    """An uploaded image after checking and stripping, as stored and served."""

    #: ``<sha256>.<ext>``: the file's name on disk and the last part of its URL.
    name: str
    path: Path
    #: The URL Legnext fetches it from.
    url: str
    content_type: str
    width: int
    height: int
    #: Size of the stored (stripped) file in bytes.
    size: int


def upload_base_url(settings: Settings) -> str:
    """Where uploads are served for Legnext, or raise ``UploadRefused`` saying what to set."""
    public = settings.public_url
    if not public:
        raise UploadRefused(NO_PUBLIC_URL)
    if not settings.is_sandbox and not _reachable_from_outside(public):
        raise UploadRefused(PRIVATE_PUBLIC_URL.format(setting=PUBLIC_URL_SETTING, url=public))
    return public.rstrip("/") + UPLOADS_PATH


def upload_file(path_dir: Path, name: str) -> Path | None:
    """The stored file behind an uploads URL's last segment, or None (unknown or malformed name)."""
    if not UPLOAD_NAME.match(name):
        return None
    path = path_dir / name
    return path if path.is_file() else None


def store_upload(data: bytes, declared_name: str, settings: Settings) -> StoredUpload:
    """Check, strip and store an uploaded image; its public URL comes with it.

    Raises ``UploadRefused`` (nothing stored) for a file that is too large, not a PNG/JPEG/WebP
    picture, or when Legnext could not reach the dashboard to fetch it.
    """
    base = upload_base_url(settings)
    stripped, extension, width, height = strip_image(data, declared_name)
    name = f"{hashlib.sha256(stripped).hexdigest()}.{extension}"
    path = settings.uploads_dir / name
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, stripped)
    return StoredUpload(
        name=name,
        path=path,
        url=f"{base}/{name}",
        content_type=CONTENT_TYPES[extension],
        width=width,
        height=height,
        size=len(stripped),
    )


def strip_image(data: bytes, declared_name: str = "") -> tuple[bytes, str, int, int]:
    """(the picture re-encoded without metadata, its extension, width, height); see the module docstring."""
    shown = _shown_name(declared_name)
    if not data:
        raise UploadRefused(f"{shown} is empty.")
    if len(data) > UPLOAD_MAX_BYTES:
        limit = _megabytes(UPLOAD_MAX_BYTES)
        raise UploadRefused(f"{shown} is larger than {limit}, the largest picture taken.")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make every bomb an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                kind = opened.format or ""
                if kind not in FORMATS:
                    raise UploadRefused(f"{shown} is {_format_name(kind)}, not a PNG, JPEG or WebP picture.")
                if opened.width * opened.height > MAX_PIXELS:
                    raise UploadRefused(
                        f"{shown} is {opened.width}×{opened.height} pixels: pictures up to "
                        f"{MAX_PIXELS // 1_000_000} million pixels are taken."
                    )
                opened.seek(0)  # an animated picture: its first frame
                icc = opened.info.get("icc_profile")
                keep = _encoder_settings(opened)
                picture = ImageOps.exif_transpose(opened)
                picture.load()
    except UploadRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRefused(
            f"{shown} is not a picture this dashboard can read (PNG, JPEG or WebP)."
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        # Pillow reports a truncated or corrupt file with any of these.
        raise UploadRefused(f"{shown} is damaged or incomplete: it cannot be read as a picture.") from None
    extension = FORMATS[kind][0]
    return _encode(picture, kind, icc, keep), extension, picture.width, picture.height


def _encoder_settings(opened: Image.Image) -> dict[str, object]:
    """A JPEG's own quantisation tables and chroma subsampling: re-encoded with them, it keeps its
    quality and its size (a fixed quality would bloat a phone photo by a third or blur a fine one)."""
    if opened.format != "JPEG":
        return {}
    tables = getattr(opened, "quantization", None)
    sampling = JpegImagePlugin.get_sampling(opened)
    settings: dict[str, object] = {"qtables": tables} if tables else {"quality": LOSSY_QUALITY}
    if sampling != -1:
        settings["subsampling"] = sampling
    return settings


def _encode(picture: Image.Image, kind: str, icc: bytes | None, keep: dict[str, object]) -> bytes:
    """The pixels alone (and the colour profile) in the same format: no EXIF, XMP, text or comments.

    A fresh image is filled with the pixels, so nothing Pillow kept from the file (``info``, the EXIF
    it parsed) can travel into the new one.
    """
    if picture.mode in ("P", "PA"):
        has_alpha = picture.mode == "PA" or "transparency" in picture.info
        picture = picture.convert("RGBA" if has_alpha else "RGB")
    supported = _MODES[kind]
    if picture.mode not in supported:
        picture = picture.convert("RGBA" if "A" in picture.mode and "RGBA" in supported else "RGB")
    clean = Image.new(picture.mode, picture.size)
    clean.paste(picture)
    options: dict[str, object] = dict(keep)
    if icc:
        options["icc_profile"] = icc
    if kind == "PNG":
        options["compress_level"] = PNG_COMPRESS_LEVEL
    elif kind == "WEBP":
        options.update(quality=LOSSY_QUALITY, method=WEBP_METHOD)
    buffer = io.BytesIO()
    clean.save(buffer, format=kind, **options)
    return buffer.getvalue()


#: The pixel modes each format is saved in as they are; others are converted to RGB(A).
_MODES = {
    "PNG": ("1", "L", "LA", "I", "I;16", "RGB", "RGBA"),
    "JPEG": ("L", "RGB", "CMYK"),
    "WEBP": ("RGB", "RGBA"),
}


def _reachable_from_outside(url: str) -> bool:
    """False when the URL's host is obviously this machine or a private network (Legnext cannot reach it)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name: only DNS knows, and the dashboard does not look it up for this
    return address.is_global


def _shown_name(declared_name: str) -> str:
    name = Path(declared_name or "").name[:80]
    return f"“{name}”" if name else "The file"


def _format_name(kind: str) -> str:
    return f"a {kind} file" if kind else "not a picture"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"

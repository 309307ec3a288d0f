"""Uploaded start images: checked by content, stripped of metadata, stored by hash, served to Legnext."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from PIL import Image, ImageCms, PngImagePlugin

from legnext_core.settings import load_settings
from legnext_core.uploads import (
    MAX_PIXELS,
    UPLOAD_MAX_BYTES,
    UploadRefused,
    store_upload,
    strip_image,
    upload_base_url,
)
from tests.loopback_server import RouteServer

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def picture_with_metadata(kind: str = "PNG", size: tuple[int, int] = (64, 32)) -> bytes:
    """A small picture carrying EXIF (camera, GPS, orientation) and, for PNG, a text chunk."""
    picture = Image.new("RGB", size, (200, 30, 30))
    picture.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[ORIENTATION] = 6  # rotated 90° clockwise
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    options: dict = {"exif": exif.tobytes()}
    if kind == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "Jane Doe, 12 Secret Street")
        options["pnginfo"] = info
    buffer = io.BytesIO()
    picture.save(buffer, format=kind, **options)
    return buffer.getvalue()


def sandbox_settings(tmp_path: Path, **env: str):
    return load_settings({"LEGNEXT_DATA_DIR": str(tmp_path), **env}, {}, server_port=8765)


def live_settings(tmp_path: Path, **env: str):
    return load_settings({"LEGNEXT_API_KEY": "k", "LEGNEXT_DATA_DIR": str(tmp_path), **env}, {})


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_an_upload_loses_its_exif_and_gps_and_keeps_its_pixels_upright(kind, tmp_path):
    original = picture_with_metadata(kind)
    assert Image.open(io.BytesIO(original)).getexif().get(0x010F) == "SecretCam"
    stored = store_upload(original, f"holiday.{kind.lower()}", sandbox_settings(tmp_path))
    data = stored.path.read_bytes()
    assert b"SecretCam" not in data and b"Secret Street" not in data
    with Image.open(stored.path) as served:
        assert served.format == kind
        assert not served.getexif()
        assert "exif" not in served.info and "Author" not in served.info
        # The orientation was applied to the pixels: a 64×32 picture taken on its side stands 32×64.
        assert served.size == (32, 64) == (stored.width, stored.height)


def test_an_upload_is_stored_under_the_hash_of_its_stripped_bytes_once(tmp_path):
    settings = sandbox_settings(tmp_path)
    first = store_upload(picture_with_metadata(), "a.png", settings)
    again = store_upload(picture_with_metadata(), "b.png", settings)
    digest = hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert first.name == f"{digest}.png" == again.name
    assert first.path == settings.media_dir / "uploads" / first.name
    assert first.url == f"http://127.0.0.1:8765/uploads/{digest}.png"
    assert first.content_type == "image/png"
    assert [p.name for p in first.path.parent.iterdir()] == [first.name]  # no temporary files left


def test_the_colour_profile_is_kept(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="PNG", icc_profile=icc)
    stored = store_upload(buffer.getvalue(), "p.png", sandbox_settings(tmp_path))
    assert Image.open(stored.path).info.get("icc_profile") == icc


def test_a_picture_that_is_not_png_jpeg_or_webp_is_refused_by_its_content(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="GIF")
    with pytest.raises(UploadRefused, match="“cat.png” is a GIF file, not a PNG, JPEG or WebP picture"):
        store_upload(buffer.getvalue(), "cat.png", sandbox_settings(tmp_path))
    assert not (tmp_path / "media" / "uploads").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"#!/bin/sh\necho not a picture\n", "is not a picture this dashboard can read"),
        (picture_with_metadata()[:200], "damaged or incomplete"),
    ],
)
def test_a_file_that_is_no_picture_is_refused_with_a_reason(data, message):
    with pytest.raises(UploadRefused, match=message):
        strip_image(data, "/home/someone/evil.png")


def test_a_file_over_the_limit_is_refused_before_it_is_decoded():
    with pytest.raises(UploadRefused, match="“big.png” is larger than 20 MB, the largest picture taken"):
        strip_image(b"\x89PNG" + b"\0" * UPLOAD_MAX_BYTES, "big.png")


def test_a_decompression_bomb_is_refused():
    buffer = io.BytesIO()
    Image.new("1", (10_000, MAX_PIXELS // 10_000 + 1)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 1_000_000  # small on disk, huge in memory
    with pytest.raises(UploadRefused, match="million pixels"):
        strip_image(buffer.getvalue(), "bomb.png")


def test_live_mode_without_a_public_url_says_which_setting_to_set(tmp_path):
    with pytest.raises(UploadRefused, match="Set LEGNEXT_PUBLIC_URL to the https address") as refused:
        store_upload(picture_with_metadata(), "a.png", live_settings(tmp_path))
    assert "has no public address" in refused.value.message
    assert not (tmp_path / "media").exists()


@pytest.mark.parametrize("public", ["http://127.0.0.1:8501", "http://localhost:8501", "http://192.168.1.20"])
def test_live_mode_with_a_local_public_url_says_legnext_cannot_reach_it(public, tmp_path):
    with pytest.raises(UploadRefused, match="local or private address"):
        upload_base_url(live_settings(tmp_path, LEGNEXT_PUBLIC_URL=public))


def test_live_mode_with_a_public_url_serves_uploads_there(tmp_path):
    settings = live_settings(tmp_path, LEGNEXT_PUBLIC_URL="https://studio.example.com/")
    assert upload_base_url(settings) == "https://studio.example.com/uploads"


# -- the route ------------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path):
    settings = sandbox_settings(tmp_path)
    studio = SimpleNamespace(settings=settings)
    server = RouteServer(lambda: studio)
    stored = store_upload(picture_with_metadata(), "a.png", settings)
    (tmp_path / "jobs.json").write_text("{}")
    yield server, stored
    server.stop()


def test_the_route_serves_an_upload_to_anyone_with_its_type_and_cache_headers(served):
    server, stored = served
    answer = requests.get(f"{server.url}/uploads/{stored.name}", timeout=10)
    assert answer.status_code == 200
    assert answer.content == stored.path.read_bytes()
    assert answer.headers["Content-Type"] == "image/png"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in answer.headers["Cache-Control"]
    assert requests.head(f"{server.url}/uploads/{stored.name}", timeout=10).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/uploads/" + "0" * 64 + ".png",  # well formed, unknown
        "/uploads/../jobs.json",
        "/uploads/..%2Fjobs.json",
        "/uploads/%2e%2e%2fjobs.json",
        "/uploads/jobs.json",
        "/uploads/" + "a" * 64 + ".svg",
        "/uploads/" + "A" * 64 + ".png",
        "/uploads/",
    ],
)
def test_the_route_serves_nothing_but_stored_uploads(served, path):
    server, _stored = served
    answer = requests.get(server.url + path, timeout=10)
    assert answer.status_code == 404
    assert answer.content != b"{}"  # the job log next door is never what comes back


def test_the_route_waits_for_the_studio():
    server = RouteServer(lambda: None)
    try:
        assert requests.get(f"{server.url}/uploads/{'0' * 64}.png", timeout=10).status_code == 503
    finally:
        server.stop()


def test_a_jpeg_is_re_encoded_with_its_own_quality(tmp_path):
    original = picture_with_metadata("JPEG", size=(256, 128))
    stored = store_upload(original, "photo.jpg", sandbox_settings(tmp_path))
    with Image.open(io.BytesIO(original)) as before, Image.open(stored.path) as after:
        assert after.quantization == before.quantization

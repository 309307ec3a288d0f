"""Poster frames and previews: made from the archived file by the tracker, never an error for a bad file."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from legnext_core.models import JobKind
from legnext_core.sandbox.state import MEDIA_DIR
from legnext_core.thumbnails import (
    POSTER_WIDTH,
    make_thumbnail,
    make_thumbnails,
    needs_thumbnails,
    placeholder_jpeg,
    poster_source,
    preview_path,
)
from tests.test_tracker_rig import make_rig


@pytest.fixture
def video(tmp_path: Path) -> Path:
    target = tmp_path / "job" / "0.mp4"
    target.parent.mkdir()
    shutil.copy(MEDIA_DIR / "video_0.mp4", target)
    return target


def test_a_video_gets_a_jpeg_poster_and_a_looping_webp_preview_beside_it(video):
    made = make_thumbnail(video)
    assert made is not None
    assert made.poster == video.with_name("0.poster.jpg")
    with Image.open(made.poster) as poster:
        assert poster.format == "JPEG" and 0 < poster.width <= POSTER_WIDTH
    assert made.preview == preview_path(made.poster) == video.with_name("0.preview.webp")
    with Image.open(made.preview) as preview:
        assert preview.format == "WEBP" and preview.is_animated and preview.n_frames > 4
        assert preview.info.get("loop") == 0


def test_an_image_poster_is_scaled_and_carries_no_metadata(tmp_path):
    source = tmp_path / "0.png"
    image = Image.new("RGB", (1600, 900), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Secret Camera Maker"
    image.save(source, "PNG", exif=exif)
    made = make_thumbnail(source)
    assert made is not None and made.preview is None
    data = made.poster.read_bytes()
    assert b"Secret Camera Maker" not in data
    with Image.open(io.BytesIO(data)) as poster:
        assert poster.size == (POSTER_WIDTH, 270)
        assert not poster.getexif()


@pytest.mark.parametrize("content", [b"", b"not a video at all", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64])
def test_a_broken_file_gets_no_thumbnail_and_no_exception(tmp_path, content):
    broken = tmp_path / "1.mp4"
    broken.write_bytes(content)
    assert make_thumbnail(broken) is None
    assert make_thumbnail(tmp_path / "missing.mp4") is None


def test_the_list_has_one_entry_per_output_and_keeps_what_exists(video, tmp_path):
    broken = video.with_name("1.mp4")
    broken.write_bytes(b"junk")
    posters = make_thumbnails([str(video), str(broken), None])
    assert posters == [str(video.with_name("0.poster.jpg")), None, None]
    stamp = Path(posters[0]).stat().st_mtime_ns
    again = make_thumbnails([str(video), str(broken), None], posters)
    assert again == posters and Path(posters[0]).stat().st_mtime_ns == stamp


def test_needs_thumbnails_only_while_an_archived_output_has_no_entry():
    assert needs_thumbnails(["a.mp4", None], None)
    assert needs_thumbnails(["a.mp4", "b.mp4"], ["a.jpg"])
    assert not needs_thumbnails(["a.mp4", "b.mp4"], ["a.jpg", None])  # tried once: b is broken
    assert not needs_thumbnails([None, None], None)


def test_a_missing_or_gone_poster_shows_the_placeholder(tmp_path, video):
    placeholder = placeholder_jpeg()
    assert placeholder.startswith(b"\xff\xd8")
    assert poster_source(None) == placeholder
    assert poster_source(str(tmp_path / "gone.jpg")) == placeholder
    made = make_thumbnail(video)
    assert poster_source(str(made.poster)) == made.poster


def test_the_tracker_makes_posters_when_it_archives_and_after_a_restart(sandbox, manual_clock, tmp_path):
    with make_rig(sandbox, manual_clock, tmp_path) as rig:
        record = rig.submit(JobKind.TEXT_VIDEO)
        image = rig.submit(JobKind.IMAGE)
        rig.run_until_settled([record.local_id, image.local_id])
        done = rig.record(record.local_id)
        assert [Path(p).name for p in done.thumbnails] == [f"{i}.poster.jpg" for i in range(4)]
        assert all(Path(p).is_file() and preview_path(Path(p)).is_file() for p in done.thumbnails)
        assert all(Path(p).is_file() for p in rig.record(image.local_id).thumbnails)
        # A log from before thumbnails: the next tracker fills them in from the archived files.
        for poster in done.thumbnails:
            Path(poster).unlink()
        rig.store.update_tracking(record.local_id, thumbnails=None)
    media_gets = sandbox.request_count("GET", "/media/")
    with make_rig(sandbox, manual_clock, tmp_path) as second:
        second.tracker.start()
        second.tracker.stop()
        second.sweep()
        again = second.record(record.local_id)
        assert again.thumbnails and all(Path(p).is_file() for p in again.thumbnails)
        assert sandbox.request_count("GET", "/media/") == media_gets, "nothing is downloaded again"

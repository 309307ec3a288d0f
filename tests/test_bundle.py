"""Many results as one ZIP: entries named like single downloads, bytes equal to the archived files."""

from __future__ import annotations

import io
import zipfile

from legnext_core.bundle import CHUNK_BYTES, output_file_name, select, write_zip, zip_file_name
from legnext_core.records import JobRecord


def record(tmp_path, job_id: str, sizes: list[int | None], kind: str = "text_video") -> JobRecord:
    folder = tmp_path / job_id
    folder.mkdir()
    paths: list[str | None] = []
    for n, size in enumerate(sizes):
        if size is None:
            paths.append(None)
            continue
        path = folder / f"{n}.mp4"
        path.write_bytes(bytes([n + 1]) * size)
        paths.append(str(path))
    return JobRecord(local_id=f"local-{job_id}", job_id=job_id, kind=kind, media_paths=paths)


def test_names_follow_the_single_download_helper():
    assert output_file_name("abc", 1, is_video=True) == "legnext-abc-video-2.mp4"
    assert output_file_name("abc", 0, is_video=False, suffix=".webp") == "legnext-abc-image-1.webp"


def test_a_zip_holds_each_picked_variant_once_with_its_exact_bytes(tmp_path):
    big = CHUNK_BYTES * 2 + 17  # more than one chunk
    first = record(tmp_path, "job-a", [10, big, None, 5])
    second = record(tmp_path, "job-b", [3])
    chosen = select([(first, 1), (first, 3), (second, 0), (first, 1), (first, 2)])
    assert [entry.name for entry in chosen.entries] == [
        "legnext-job-a-video-2.mp4",
        "legnext-job-a-video-4.mp4",
        "legnext-job-b-video-1.mp4",
    ]
    assert chosen.missing == ("legnext-job-a-video-3.mp4",)
    buffer = io.BytesIO()
    progress = list(write_zip(chosen.entries, buffer))
    assert progress == sorted(progress) and progress[-1] == chosen.total_bytes == big + 5 + 3
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        assert archive.namelist() == [entry.name for entry in chosen.entries]
        for entry in chosen.entries:
            assert archive.read(entry.name) == entry.path.read_bytes()
            assert archive.getinfo(entry.name).compress_type == zipfile.ZIP_STORED
    assert zip_file_name(chosen) == "legnext-3-videos.zip"


def test_relative_media_paths_are_read_under_the_media_folder(tmp_path):
    made = record(tmp_path, "job-c", [4])
    relative = made.replace(media_paths=["job-c/0.mp4"])
    assert [e.path for e in select([(relative, 0)], tmp_path).entries] == [tmp_path / "job-c" / "0.mp4"]
    assert select([(relative, 0)]).missing == ("legnext-job-c-video-1.mp4",)

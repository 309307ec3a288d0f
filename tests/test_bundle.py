"""Many results as one ZIP: entries named like single downloads, bytes equal to the archived files."""

from __future__ import annotations

import io
import os
import time
import zipfile
from types import SimpleNamespace

import requests

from legnext_core.bundle import (
    CHUNK_BYTES,
    KEEP_SECONDS,
    download_url,
    find_download,
    new_download,
    output_file_name,
    save_download,
    select,
    write_zip,
    zip_file_name,
)
from legnext_core.records import JobRecord
from tests.loopback_server import RouteServer


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


def test_made_zips_are_streamed_by_token_and_expire(tmp_path):
    settings = SimpleNamespace(data_dir=tmp_path)
    server = RouteServer(lambda: SimpleNamespace(settings=settings))
    try:
        made = new_download(tmp_path, "legnext-2-videos.zip")
        payload = bytes(range(256)) * 5000
        made.write_bytes(payload)
        answer = requests.get(server.url + download_url(made), timeout=10)
        assert answer.status_code == 200 and answer.content == payload
        assert answer.headers["content-type"] == "application/zip"
        assert 'filename="legnext-2-videos.zip"' in answer.headers["content-disposition"]
        assert answer.headers["cache-control"] == "no-store"

        token = made.parent.name
        for path in (
            f"/downloads/{'0' * 32}/legnext-2-videos.zip",  # no such token
            f"/downloads/{token}/other.zip",  # not a download name
            f"/downloads/{token[:-1]}/legnext-2-videos.zip",  # malformed token
            f"/downloads/{token}/..%2Fjobs.json",
        ):
            assert requests.get(server.url + path, timeout=10).status_code == 404, path
        # An hour later it is gone, and a new ZIP sweeps it away.
        assert find_download(tmp_path, token, made.name, now=time.time() + KEEP_SECONDS + 1) is None
        old = time.time() - KEEP_SECONDS - 5
        os.utime(made, (old, old))
        os.utime(made.parent, (old, old))
        assert requests.get(server.url + download_url(made), timeout=10).status_code == 404
        new_download(tmp_path, "legnext-1-video.zip")
        assert not made.parent.exists()
        # History's CSV exports are made downloads too, served as CSV.
        csv_file = save_download(tmp_path, "legnext-jobs-20261130T064512Z.csv", b"\xef\xbb\xbfjob_id\r\n")
        answer = requests.get(server.url + download_url(csv_file), timeout=10)
        assert answer.status_code == 200 and answer.content == b"\xef\xbb\xbfjob_id\r\n"
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        assert 'filename="legnext-jobs-20261130T064512Z.csv"' in answer.headers["content-disposition"]
    finally:
        server.stop()

"""Archiving result media: allowed hosts only, every redirect re-checked, bounded size, no credentials."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from legnext_core.media import ArchiveError, MediaArchiver, MediaRefused, check_image_url

PAYLOAD = bytes(range(256)) * 64  # 16 KiB


class _MediaHost(BaseHTTPRequestHandler):
    """A real HTTP server playing a media CDN, with redirects to places the archiver must refuse."""

    seen_headers: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        type(self).seen_headers.append({k.lower(): v for k, v in self.headers.items()})
        redirects = {
            "/redirect-same-host": "/clip.mp4",
            "/redirect-private": "http://10.1.2.3/clip.mp4",
            "/redirect-link-local": "http://169.254.169.254/latest/meta-data",
            "/redirect-other-host": "http://media.example.com/clip.mp4",
            "/redirect-loop": "/redirect-loop",
        }
        if self.path in redirects:
            self.send_response(302)
            self.send_header("Location", redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/clip.mp4":
            self._send(PAYLOAD)
        elif self.path in ("/picture.png", "/redirect-to-picture"):
            if self.path == "/redirect-to-picture":
                self.send_response(302)
                self.send_header("Location", "/picture.png")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(PAYLOAD, "image/png")
        elif self.path == "/huge.png":
            self._send(PAYLOAD * 100, "image/png")
        elif self.path == "/declared-huge.mp4":
            self.send_response(200)
            self.send_header("Content-Length", str(10**10))
            self.end_headers()
        elif self.path == "/undeclared-huge.mp4":
            # No Content-Length: the size is only found out while reading.
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(PAYLOAD)
        elif self.path == "/server-error.mp4":
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _send(self, body: bytes, kind: str = "video/mp4") -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def media_host() -> Iterator[str]:
    _MediaHost.seen_headers = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MediaHost)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def loopback_archiver(tmp_path) -> MediaArchiver:
    return MediaArchiver(tmp_path / "media", ("*.legnext.ai",), allow_loopback=True, max_bytes=100_000)


def files_under(path) -> list[str]:
    return sorted(p.name for p in path.rglob("*") if p.is_file()) if path.exists() else []


JOB = "0f6a2c1e-9d3b-4c55-8a71-2f1d7e3b9c40"


def test_archives_media_from_an_allowed_host_to_job_directory(loopback_archiver, media_host, tmp_path):
    path = loopback_archiver.archive_one(JOB, 2, f"{media_host}/clip.mp4")
    assert path == tmp_path / "media" / JOB / "2.mp4"
    assert path.read_bytes() == PAYLOAD
    assert files_under(tmp_path / "media") == ["2.mp4"]


def test_follows_a_redirect_on_the_same_allowed_host(loopback_archiver, media_host):
    path = loopback_archiver.archive_one(JOB, 0, f"{media_host}/redirect-same-host")
    assert path.read_bytes() == PAYLOAD


@pytest.mark.parametrize(
    "url",
    [
        "https://media.example.com/clip.mp4",
        "https://legnext.ai.example.com/clip.mp4",
        "https://evillegnext.ai/clip.mp4",
        "file:///etc/passwd",
        "ftp://cdn.legnext.ai/clip.mp4",
        "https://user:pw@cdn.legnext.ai/clip.mp4",
    ],
)
def test_refuses_urls_outside_the_allowed_hosts(loopback_archiver, url, tmp_path):
    with pytest.raises(MediaRefused):
        loopback_archiver.archive_one(JOB, 0, url)
    assert files_under(tmp_path / "media") == []


def test_wildcard_host_matches_subdomains_only():
    archiver = MediaArchiver("unused", ("*.legnext.ai",))
    assert archiver.host_allowed("cdn.legnext.ai")
    assert archiver.host_allowed("a.b.legnext.ai")
    assert not archiver.host_allowed("legnext.ai")
    assert not archiver.host_allowed("xlegnext.ai")


def test_loopback_is_refused_unless_allowed_even_when_the_name_is_listed(media_host, tmp_path):
    # "localhost" is on the list, but DNS resolves it to a loopback address: only the sandbox may use it.
    port = media_host.rsplit(":", 1)[1]
    archiver = MediaArchiver(tmp_path / "media", ("localhost",), allow_loopback=False)
    with pytest.raises(MediaRefused, match="non-public address"):
        archiver.archive_one(JOB, 0, f"http://localhost:{port}/clip.mp4")
    assert _MediaHost.seen_headers == []


@pytest.mark.parametrize("path", ["/redirect-private", "/redirect-link-local", "/redirect-other-host"])
def test_a_redirect_to_a_refused_place_is_not_followed(loopback_archiver, media_host, path, tmp_path):
    with pytest.raises(MediaRefused):
        loopback_archiver.archive_one(JOB, 0, f"{media_host}{path}")
    assert files_under(tmp_path / "media") == []
    assert len(_MediaHost.seen_headers) == 1


def test_a_redirect_loop_is_cut_off(loopback_archiver, media_host):
    with pytest.raises(MediaRefused, match="redirects"):
        loopback_archiver.archive_one(JOB, 0, f"{media_host}/redirect-loop")


def test_declared_oversize_media_is_refused_before_reading(loopback_archiver, media_host, tmp_path):
    with pytest.raises(MediaRefused, match="size limit"):
        loopback_archiver.archive_one(JOB, 0, f"{media_host}/declared-huge.mp4")
    assert files_under(tmp_path / "media") == []


def test_undeclared_oversize_media_is_cut_off_and_the_partial_file_removed(
    loopback_archiver, media_host, tmp_path
):
    with pytest.raises(MediaRefused, match="size limit"):
        loopback_archiver.archive_one(JOB, 0, f"{media_host}/undeclared-huge.mp4")
    assert files_under(tmp_path / "media") == []


def test_a_server_error_is_worth_retrying_and_a_404_is_not(loopback_archiver, media_host):
    with pytest.raises(ArchiveError) as server_error:
        loopback_archiver.archive_one(JOB, 0, f"{media_host}/server-error.mp4")
    assert not isinstance(server_error.value, MediaRefused)
    with pytest.raises(MediaRefused):
        loopback_archiver.archive_one(JOB, 0, f"{media_host}/gone.mp4")


def test_archive_gives_one_path_per_url_and_none_where_it_failed(loopback_archiver, media_host):
    paths = loopback_archiver.archive(
        JOB, [f"{media_host}/clip.mp4", "https://media.example.com/x.mp4", None, f"{media_host}/clip.mp4"]
    )
    assert paths[1] is None and paths[2] is None
    assert paths[0].endswith("/0.mp4") and paths[3].endswith("/3.mp4")


def test_download_sends_no_credentials_from_the_environment(
    loopback_archiver, media_host, tmp_path, monkeypatch
):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password not-for-media\n")
    monkeypatch.setenv("NETRC", str(netrc))
    loopback_archiver.archive_one(JOB, 0, f"{media_host}/clip.mp4")
    sent = _MediaHost.seen_headers[0]
    assert "authorization" not in sent
    assert "x-api-key" not in sent
    assert "cookie" not in sent


def test_a_malformed_job_id_cannot_escape_the_media_directory(loopback_archiver, media_host):
    with pytest.raises(MediaRefused):
        loopback_archiver.archive_one("../../etc", 0, f"{media_host}/clip.mp4")


def test_archives_a_finished_sandbox_job_from_its_own_media_url(sandbox, tmp_path):
    from legnext_core.client import LegnextClient

    with LegnextClient("test-key-media", sandbox.base_url, timeout=5, max_retries=0) as client:
        job = client.create_image("a lighthouse at dusk")
        sandbox.advance(60)
        done = client.get_job(job.job_id)
    archiver = MediaArchiver(tmp_path / "media", ("*.legnext.ai",), allow_loopback=True)
    paths = archiver.archive(done.job_id, done.image_urls)
    assert len(paths) == 4 and all(paths)
    for path in paths:
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The same URL is refused outside sandbox mode: loopback is not a media host.
    with pytest.raises(MediaRefused):
        MediaArchiver(tmp_path / "live", ("*.legnext.ai",)).archive_one(done.job_id, 0, done.image_urls[0])


# -- checking an image URL a person typed -----------------------------------------------------------


def test_an_image_url_that_answers_with_an_image_passes_the_check(media_host):
    assert check_image_url(f"{media_host}/picture.png", allow_loopback=True).ok
    assert check_image_url(f"{media_host}/redirect-to-picture", allow_loopback=True).ok


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/clip.mp4", "not an image: the server sends video/mp4"),
        ("/missing.png", "HTTP 404"),
        ("/huge.png", "over the"),
        ("/redirect-private", "private or local address"),
        ("/redirect-link-local", "private or local address"),
        ("/redirect-loop", "redirects more than"),
    ],
)
def test_an_image_url_check_says_what_is_wrong(media_host, path, words):
    result = check_image_url(f"{media_host}{path}", allow_loopback=True, max_bytes=100_000)
    assert not result.ok and not result.could_not_check
    assert words in result.problem


def test_an_image_url_on_a_private_address_or_with_credentials_is_refused_without_a_request(media_host):
    assert "private or local" in check_image_url(f"{media_host}/picture.png").problem  # loopback not allowed
    with_password = media_host.replace("http://", "http://user:secret@") + "/picture.png"
    assert "user name or password" in check_image_url(with_password, allow_loopback=True).problem
    assert not _MediaHost.seen_headers


def test_an_image_url_that_cannot_be_reached_may_be_sent_anyway(media_host):
    result = check_image_url(f"{media_host}/server-error.mp4", allow_loopback=True)
    assert not result.ok and result.could_not_check
    unresolvable = check_image_url("https://no-such-host.invalid/a.png")
    assert not unresolvable.ok and unresolvable.could_not_check

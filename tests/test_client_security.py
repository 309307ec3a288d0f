"""The API key goes only to the configured host and never shows up in an error, a repr or a log line.

The sandbox has no redirecting route, so two tiny loopback servers play the parts: one answers every
request with a redirect (or echoes the key back in an error body), the other records what reaches it.
Different ports are different hosts as far as an HTTP client is concerned.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from legnext_core.client import LegnextClient
from legnext_core.errors import APIStatusError, InvalidInputError, LegnextError, SubmissionOutcomeUnknownError

KEY = "lk-secret-4f9a2c77e1"
JOB_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


class _Server:
    def __init__(self, respond) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, headers, body = respond(self)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def other_host() -> Iterator[_Server]:
    with _Server(lambda handler: (200, {"Content-Type": "application/json"}, b'{"job_id": "x"}')) as server:
        yield server


@pytest.fixture
def redirector(other_host: _Server) -> Iterator[_Server]:
    def respond(handler: BaseHTTPRequestHandler):
        status = 307 if handler.command == "POST" else 302
        return status, {"Location": other_host.url + handler.path}, b""

    with _Server(respond) as server:
        yield server


def _assert_no_key(*texts: str) -> None:
    for text in texts:
        assert KEY not in text


def test_plain_requests_would_hand_a_custom_key_header_to_another_host(redirector, other_host):
    # Why the client never follows redirects: requests' rebuild_auth strips Authorization on a
    # cross-host redirect, but not custom headers such as x-api-key.
    requests.get(redirector.url + "/api/account/balance", headers={"x-api-key": KEY}, timeout=5)
    assert other_host.seen and other_host.seen[0][2].get("x-api-key") == KEY


def test_get_redirect_to_another_host_is_not_followed_and_the_key_stays_home(redirector, other_host, caplog):
    caplog.set_level(logging.DEBUG)
    client = LegnextClient(KEY, redirector.url + "/api", timeout=5, sleep=lambda _: None)
    with pytest.raises(APIStatusError) as caught:
        client.get_job(JOB_ID)
    assert caught.value.status == 302
    assert "LEGNEXT_BASE_URL" in caught.value.message
    assert len(redirector.seen) == 1 and redirector.seen[0][2]["x-api-key"] == KEY
    assert other_host.seen == []
    _assert_no_key(str(caught.value), repr(caught.value), caught.value.user_message, caplog.text)


def test_post_redirect_is_not_followed_and_reports_the_outcome_unknown(redirector, other_host):
    client = LegnextClient(KEY, redirector.url + "/api", timeout=5, sleep=lambda _: None)
    with pytest.raises(SubmissionOutcomeUnknownError) as caught:
        client.create_image("a cat")
    assert caught.value.status == 307
    assert [seen[0] for seen in redirector.seen] == ["POST"]
    assert other_host.seen == []
    _assert_no_key(str(caught.value), repr(caught.value), caught.value.user_message)


def test_a_key_echoed_back_by_the_server_is_scrubbed_from_the_error():
    def respond(handler: BaseHTTPRequestHandler):
        key = handler.headers.get("x-api-key", "")
        body = {"code": 401, "message": f"Failed to verify api key {key}", "raw_message": f"key={key}"}
        return 401, {"Content-Type": "application/json"}, json.dumps(body).encode()

    with _Server(respond) as echo:
        client = LegnextClient(KEY, echo.url + "/api", timeout=5)
        with pytest.raises(LegnextError) as caught:
            client.get_balance()
    error = caught.value
    assert "[redacted]" in error.message
    _assert_no_key(str(error), repr(error), error.user_message, error.raw_message, json.dumps(error.body))


def test_html_error_page_echoing_the_key_is_scrubbed():
    def respond(handler: BaseHTTPRequestHandler):
        page = f"<html><body>502 Bad Gateway for {handler.headers.get('x-api-key')}</body></html>"
        return 502, {"Content-Type": "text/html"}, page.encode()

    with _Server(respond) as echo:
        client = LegnextClient(KEY, echo.url + "/api", timeout=5, max_retries=1, sleep=lambda _: None)
        with pytest.raises(LegnextError) as caught:
            client.get_balance()
        assert len(echo.seen) == 2
    _assert_no_key(str(caught.value), caught.value.raw_message)
    assert "502 Bad Gateway" in caught.value.raw_message


def test_client_repr_shows_the_host_only():
    client = LegnextClient(KEY, "https://api.legnext.ai/api")
    assert repr(client) == "LegnextClient(host='api.legnext.ai')"
    _assert_no_key(repr(client), str(client))


@pytest.mark.parametrize("bad_key", ["", "   ", "lk-secret\nX-Injected: 1", "lk secret", "ключ"])
def test_unusable_keys_are_refused_without_echoing_them(bad_key):
    with pytest.raises(InvalidInputError) as caught:
        LegnextClient(bad_key, "https://api.legnext.ai/api")
    assert caught.value.field == "api_key"
    if bad_key.strip():
        assert bad_key not in str(caught.value)


def test_connection_errors_do_not_carry_the_request_or_its_headers():
    # A refused port: the error must not chain the requests exception, whose request holds the key.
    client = LegnextClient(KEY, "http://127.0.0.1:9/api", timeout=2, max_retries=0)
    with pytest.raises(LegnextError) as caught:
        client.create_image("a cat")
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    _assert_no_key(str(caught.value), repr(caught.value), caught.value.user_message)

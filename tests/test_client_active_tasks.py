"""LegnextClient.get_active_tasks over real HTTP: the sandbox's list, and servers that do not offer it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from legnext_core.client import LegnextClient
from legnext_core.errors import ServerError
from legnext_core.models import JobStatus

KEY = "test-key-active-client"


def test_the_list_is_parsed_with_every_running_job(sandbox) -> None:
    with LegnextClient(KEY, sandbox.base_url, max_retries=0) as client:
        made = [client.create_video(f"a tide pool {n}").job_id for n in range(3)]
        listing = client.get_active_tasks()
        assert listing is not None
        assert [task.job_id for task in listing.tasks] == made
        assert listing.total_active == 3 and listing.concurrent_limit == 6
        assert all(
            task.status is JobStatus.PENDING and task.task_type == "video_diffusion" for task in listing.tasks
        )
        sandbox.advance(12)
        progress = [task.progress for task in client.get_active_tasks().tasks]
        assert all(p is not None and p > 0 for p in progress)
        sandbox.advance(60)
        assert client.get_active_tasks().tasks == ()


def test_a_sandbox_with_the_list_switched_off_is_not_offered(sandbox) -> None:
    sandbox.set_active_tasks(False)
    with LegnextClient(KEY, sandbox.base_url, max_retries=0) as client:
        assert client.get_active_tasks() is None


class _Server:
    """A real HTTP server answering ``GET /api/account/active_tasks`` with one fixed status."""

    def __init__(self, status: int) -> None:
        async def answer(request):
            return JSONResponse({"code": status, "message": "no", "raw_message": "", "detail": None}, status)

        app = Starlette(routes=[Route("/api/account/active_tasks", answer, methods=["GET"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture
def fixed_status_server(request) -> Iterator[_Server]:
    server = _Server(request.param)
    yield server
    server.stop()


@pytest.mark.parametrize("fixed_status_server", [404, 405, 501], indirect=True)
def test_404_405_and_501_mean_not_offered(fixed_status_server) -> None:
    with LegnextClient(KEY, fixed_status_server.base_url, max_retries=0) as client:
        assert client.get_active_tasks() is None


@pytest.mark.parametrize("fixed_status_server", [503], indirect=True)
def test_other_errors_are_errors(fixed_status_server) -> None:
    with (
        LegnextClient(KEY, fixed_status_server.base_url, max_retries=0) as client,
        pytest.raises(ServerError),
    ):
        client.get_active_tasks()

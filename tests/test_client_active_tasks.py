"""LegnextClient.get_active_tasks over real HTTP: the sandbox's list, and servers that do not offer it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from legnext_core.client import LegnextClient
from legnext_core.errors import ServerError
from legnext_core.models import JobStatus
from tests.loopback_server import LoopbackServer

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


def _fixed_status_api(status: int) -> Starlette:
    """An API answering ``GET /api/account/active_tasks`` with one fixed status."""

    async def answer(request):
        return JSONResponse({"code": status, "message": "no", "raw_message": "", "detail": None}, status)

    return Starlette(routes=[Route("/api/account/active_tasks", answer, methods=["GET"])])


@pytest.fixture
def fixed_status_api(request) -> Iterator[str]:
    """The base URL of an API answering the active-task list with ``request.param`` only."""
    with LoopbackServer(_fixed_status_api(request.param)) as server:
        yield f"{server.url}/api"


@pytest.mark.parametrize("fixed_status_api", [404, 405, 501], indirect=True)
def test_404_405_and_501_mean_not_offered(fixed_status_api) -> None:
    with LegnextClient(KEY, fixed_status_api, max_retries=0) as client:
        assert client.get_active_tasks() is None


@pytest.mark.parametrize("fixed_status_api", [503], indirect=True)
def test_other_errors_are_errors(fixed_status_api) -> None:
    with (
        LegnextClient(KEY, fixed_status_api, max_retries=0) as client,
        pytest.raises(ServerError),
    ):
        client.get_active_tasks()

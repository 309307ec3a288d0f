"""The sandbox's Starlette application: Legnext's routes, the media, and the control routes.

Routes (relative to wherever the app is mounted):

- ``POST /api/v1/video-diffusion``, ``/api/v1/extend-video``, ``/api/v1/video-upscale``,
  ``/api/v1/diffusion``; ``GET /api/v1/job/{job_id}``; ``GET /api/account/balance``;
- ``GET /media/{path}``: the sample result files (Range requests answered with 206);
- ``/_sandbox/...`` (direct loopback clients only, never cross-site: :func:`_require_local_control`):
  ``GET jobs``, ``GET|POST clock``, ``GET|POST faults``, ``GET|POST active_tasks`` (``{"enabled": bool}``),
  ``GET|DELETE requests``, ``GET callbacks``, ``POST settle``, ``GET health``.

Order of checks on a submission: key (401), video permission (403, job-shaped body), body (413,
400), fields (400), moderation (400), the parent job (404, 400), unfinished jobs (429), points (402).
Every error is JSON; a bad request never gets a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import validate
from .config import SandboxConfig
from .faults import FaultConfig, FaultDecision
from .state import SandboxState
from .transport import drop_connection
from .validate import MAX_BODY_BYTES, Submission
from .wire import ApiError, invalid, permission_denied_body, top_level_error

GATEWAY_PAGES = {
    502: b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
    503: b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n",
}


def _json(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class SandboxMiddleware:
    """Counts requests, starts the background work, and injects the configured faults."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Mounted apps get no lifespan events, so the ticker starts with the first request.
        self.state.start_background()
        path = _route_path(scope)
        method = scope["method"]
        if not path.startswith("/_sandbox/"):
            self.state.count_request(method, path)
        if path.startswith("/api/") and self.state.config.api_loopback_only and not _direct_loopback(scope):
            body = top_level_error(403, "Forbidden", "this sandbox answers its own dashboard only")
            await _json(403, body)(scope, receive, send)
            return
        fault = self.state.faults.draw(method) if path.startswith("/api/") else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        await self._inject(fault, scope, receive, send)

    async def _inject(self, fault: FaultDecision, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer (or not) the way the drawn fault says."""
        config = self.state.faults.config
        kind = fault.kind
        if kind == "drop":
            await drop_connection(send)
        elif kind == "lost_answer":
            await self.app(scope, receive, _discard)
            await drop_connection(send)
        elif kind == "500":
            if fault.perform_first:
                await self.app(scope, receive, _discard)
            body = top_level_error(500, "Internal server error", "sandbox fault injection: 500")
            await _json(500, body)(scope, receive, send)
        elif kind in ("502", "503"):
            headers = None
            if kind == "503" and config.unavailable_retry_after is not None:
                headers = {"Retry-After": str(config.unavailable_retry_after)}
            page = GATEWAY_PAGES[int(kind)]
            await Response(page, status_code=int(kind), headers=headers, media_type="text/html")(
                scope, receive, send
            )
        elif kind == "429":
            body = top_level_error(429, "Too many requests", "sandbox fault injection: rate limited")
            await _json(429, body, {"Retry-After": str(config.retry_after)})(scope, receive, send)
        elif kind == "slow":
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, receive, hold)
            await asyncio.sleep(config.slow_seconds)
            for message in held:
                await send(message)


async def _discard(message: Message) -> None:
    return None


async def _read_json_object(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise invalid("the request body is empty; a JSON object is required")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise invalid("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object")
    if _has_invalid_unicode(body):
        # JSON's \ud800-style escapes decode to lone surrogates, which no UTF-8 answer (nor the state file,
        # nor the inspection routes) could carry later.
        raise invalid("the request body holds text that is not valid Unicode (a lone surrogate)")
    return body


def _has_invalid_unicode(body: Any) -> bool:
    """Whether any key or string in ``body`` cannot be encoded as UTF-8 (walked without recursion)."""
    stack = [body]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _too_large() -> ApiError:
    return ApiError(
        413, top_level_error(413, "Request body too large", f"the limit is {MAX_BODY_BYTES} bytes")
    )


def _account(state: SandboxState, request: Request) -> str:
    account = state.authenticate(request.headers.get("x-api-key"))
    if account is None:
        raise ApiError(401, top_level_error(401, "Failed to verify api key"))
    return account


#: Headers a proxy adds to say who the real client is. A request carrying any of them came through
#: something that relays other machines' requests, so its loopback peer address proves nothing.
FORWARDING_HEADERS = (
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "x-cluster-client-ip",
    "fastly-client-ip",
    "x-original-forwarded-for",
)


def _forbidden(reason: str) -> ApiError:
    return ApiError(403, top_level_error(403, "Forbidden", reason))


def _direct_loopback(scope: Scope) -> bool:
    """A loopback peer with no forwarding header (see :func:`_require_local_control`)."""
    names = {name.decode("latin-1").lower() for name, _value in scope.get("headers", ())}
    if names.intersection(FORWARDING_HEADERS):
        return False
    client = scope.get("client")
    return _is_loopback(client[0] if client else "")


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def _require_local_control(request: Request) -> None:
    """The control routes answer only a program on this machine, never a browser page of another site.

    - the peer address is loopback, and no forwarding header is present (the ASGI server may already
      have rewritten the peer from one, and a local proxy makes every remote request look local);
    - a browser's request that changes state must be same-origin: a cross-site ``no-cors`` POST
      (a "simple" request, sent without a preflight) is refused by ``Sec-Fetch-Site``/``Origin``,
      and a POST must say ``Content-Type: application/json``, which no simple request can.
    """
    headers = request.headers
    if any(name in headers for name in FORWARDING_HEADERS):
        raise _forbidden("sandbox control routes accept direct loopback clients only, not proxied ones")
    if not _is_loopback(request.client.host if request.client else ""):
        raise _forbidden("sandbox control routes accept loopback only")
    if request.method in ("GET", "HEAD"):
        return
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise _forbidden("sandbox control routes refuse cross-site requests")
    origin = headers.get("origin")
    if origin is not None and urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
        raise _forbidden("sandbox control routes refuse requests from another origin")
    if request.method == "POST":
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(
                415, top_level_error(415, "Unsupported Media Type", "send Content-Type: application/json")
            )


# McCabe adds up the small route handlers this factory defines around one shared state; each is simple.
def create_app(  # noqa: C901
    config: SandboxConfig | None = None, *, state: SandboxState | None = None
) -> Starlette:
    """The sandbox as a Starlette app; ``app.state.sandbox`` is its :class:`SandboxState`."""
    state = state or SandboxState(config or SandboxConfig())

    def submitter(
        check: Callable[[dict[str, Any]], Submission], *, video: bool
    ) -> Callable[[Request], Awaitable[Response]]:
        async def submit(request: Request) -> Response:
            account = _account(state, request)
            if video and not state.may_make_videos(request.headers["x-api-key"]):
                return _json(403, permission_denied_body())
            submission = check(await _read_json_object(request))
            media_base = str(request.url_for("media", path="-"))[:-1]
            job = await run_in_threadpool(state.create_job, account, submission, media_base)
            return _json(200, job)

        return submit

    async def get_job(request: Request) -> Response:
        account = _account(state, request)
        job = await run_in_threadpool(state.get_job, account, request.path_params["job_id"])
        return _json(200, job)

    async def balance(request: Request) -> Response:
        account = _account(state, request)
        data = await run_in_threadpool(state.balance, account)
        return _json(200, {"code": 200, "data": data, "message": "success"})

    async def active_tasks(request: Request) -> Response:
        if not state.active_tasks_enabled:
            # Exactly what a server without the route answers.
            raise HTTPException(404)
        account = _account(state, request)
        return _json(200, await run_in_threadpool(state.active_tasks, account))

    async def media(request: Request) -> Response:
        path = request.path_params["path"]
        file = await run_in_threadpool(state.media_file, path)
        if file is None:
            raise ApiError(404, top_level_error(404, "Not Found", "no such media"))
        return FileResponse(file, headers={"Cache-Control": "public, max-age=86400"})

    async def control_jobs(request: Request) -> Response:
        _require_local_control(request)
        jobs = await run_in_threadpool(state.inspect_jobs)
        return _json(200, {"count": len(jobs), "jobs": jobs})

    async def control_clock(request: Request) -> Response:
        _require_local_control(request)
        if request.method == "POST":
            body = await _read_json_object(request)
            seconds = body.get("advance")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise invalid("advance must be a number of seconds, 0 or more")
            try:
                await run_in_threadpool(state.advance, float(seconds))
            except TypeError:
                raise ApiError(
                    409, top_level_error(409, "Conflict", "this sandbox runs on real time")
                ) from None
        now = state.clock.now()
        return _json(200, {"now": now, "manual": hasattr(state.clock, "advance")})

    async def control_faults(request: Request) -> Response:
        _require_local_control(request)
        if request.method == "POST":
            body = await _read_json_object(request)
            try:
                new = FaultConfig.from_json(body)
            except (TypeError, ValueError) as exc:
                raise invalid(str(exc)) from None
            state.faults.configure(new)
        return _json(200, {"faults": state.faults.config.to_json(), "fired": dict(state.faults.fired)})

    async def control_active_tasks(request: Request) -> Response:
        _require_local_control(request)
        if request.method == "POST":
            enabled = (await _read_json_object(request)).get("enabled")
            if not isinstance(enabled, bool):
                raise invalid("enabled must be true or false")
            state.active_tasks_enabled = enabled
        return _json(200, {"enabled": state.active_tasks_enabled})

    async def control_requests(request: Request) -> Response:
        _require_local_control(request)
        if request.method == "DELETE":
            state.reset_request_counts()
        return _json(200, {"counts": state.request_counts()})

    async def control_callbacks(request: Request) -> Response:
        _require_local_control(request)
        return _json(200, {"attempts": list(state.deliverer.attempts), "pending": state.deliverer.pending()})

    async def control_settle(request: Request) -> Response:
        _require_local_control(request)
        body = await _read_json_object(request) if int(request.headers.get("content-length") or 0) else {}
        timeout = body.get("timeout", 10.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 <= timeout <= 60:
            raise invalid("timeout must be a number of seconds, 0-60")
        settled = await run_in_threadpool(state.settle, float(timeout))
        return _json(200, {"settled": settled})

    async def health(request: Request) -> Response:
        return _json(200, {"ok": True, "jobs": len(state.inspect_jobs())})

    routes = [
        Route("/api/v1/video-diffusion", submitter(validate.video_diffusion, video=True), methods=["POST"]),
        Route("/api/v1/extend-video", submitter(validate.extend_video, video=True), methods=["POST"]),
        Route("/api/v1/video-upscale", submitter(validate.video_upscale, video=True), methods=["POST"]),
        Route("/api/v1/diffusion", submitter(validate.diffusion, video=False), methods=["POST"]),
        Route("/api/v1/job/{job_id}", get_job, methods=["GET"]),
        Route("/api/account/balance", balance, methods=["GET"]),
        Route("/api/account/active_tasks", active_tasks, methods=["GET"]),
        Route("/media/{path:path}", media, methods=["GET", "HEAD"], name="media"),
        Route("/_sandbox/jobs", control_jobs, methods=["GET"]),
        Route("/_sandbox/clock", control_clock, methods=["GET", "POST"]),
        Route("/_sandbox/faults", control_faults, methods=["GET", "POST"]),
        Route("/_sandbox/active_tasks", control_active_tasks, methods=["GET", "POST"]),
        Route("/_sandbox/requests", control_requests, methods=["GET", "DELETE"]),
        Route("/_sandbox/callbacks", control_callbacks, methods=["GET"]),
        Route("/_sandbox/settle", control_settle, methods=["POST"]),
        Route("/_sandbox/health", health, methods=["GET"]),
    ]

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _json(exc.status, exc.body, exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, str(exc.detail))
        raw = f"no route for {request.method} {_route_path(request.scope)}"
        return _json(exc.status_code, top_level_error(exc.status_code, message, raw), exc.headers)

    async def server_error(request: Request, exc: Exception) -> Response:
        return _json(500, top_level_error(500, "Internal server error"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.start_background()
        try:
            yield
        finally:
            await run_in_threadpool(state.close)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(SandboxMiddleware, state=state)],
        exception_handlers={ApiError: api_error, HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.sandbox = state
    return app

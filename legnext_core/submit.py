"""Submitting jobs: the one path from a filled-in form to a paid Legnext job.

Every submission follows the same four steps, so that no paid job is ever lost or paid twice:

1. validate the request (an invalid one is never recorded and never sent);
2. write the intent to the job log *before* the POST (status ``submitting``);
3. POST once through the client (which never resends a POST whose outcome is unknown);
4. record the answer: a job id, a rejection with Legnext's message, or "outcome unknown".

A crash between 2 and 4 leaves a visible ``submitting`` record, never silence.

Batches write every line as a ``queued`` intent first (nothing is sent yet, so a queued line is safe
to send later, even after a restart), then send as many as Legnext's concurrency limit allows; the
tracker's dispatcher sends the rest as running jobs finish.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from legnext_core import spending
from legnext_core.access import LOCAL, NotAllowedToSpendError, Person, SpendingLockedError, spending_lock
from legnext_core.client import LegnextClient
from legnext_core.errors import (
    APIConnectionError,
    APIStatusError,
    InvalidInputError,
    LegnextError,
    RateLimitError,
    SubmissionOutcomeUnknownError,
)
from legnext_core.history import HistoryTable
from legnext_core.models import DEFAULT_BATCH_SIZE, DEFAULT_SPEED, JobKind, JobRequest, estimate_points
from legnext_core.records import JobRecord, RecordStatus
from legnext_core.settings import Settings
from legnext_core.store import JobStore
from legnext_core.tracker import Tracker


class StudioParts(Protocol):
    """What submitting needs of the process's :class:`~legnext_core.studio.Studio`.

    A protocol, so this module does not import the studio, which imports it to send queued lines.
    """

    settings: Settings
    store: JobStore
    client: LegnextClient
    tracker: Tracker
    history: HistoryTable

    def forget_balance(self) -> None: ...

    def spending_guard(self) -> AbstractContextManager[None]: ...


#: Legnext runs at most this many unfinished jobs per standard account; more are answered 429.
CONCURRENCY_LIMIT = 6

Outcome = Literal["accepted", "rejected", "unknown", "invalid", "queued", "refused"]


@dataclass(frozen=True)
class SubmitResult:
    """What became of one submission."""

    outcome: Outcome
    local_id: str | None = None
    job_id: str | None = None
    error: LegnextError | None = None

    @property
    def message(self) -> str:
        """A sentence for the page."""
        if self.outcome == "accepted":
            return f"Submitted: job {self.job_id}."
        if self.outcome == "queued":
            return "Queued: it is sent as soon as one of the running jobs finishes."
        # "refused": a spending cap, a viewer, or a server nobody may spend on; nothing was recorded.
        if self.error is not None:
            return self.error.user_message
        return "Not submitted."

    @property
    def field(self) -> str | None:
        """The form field an invalid input belongs to, if any."""
        return self.error.field if isinstance(self.error, InvalidInputError) else None


def outcome_now(outcome: Outcome, record: JobRecord | None) -> Outcome:
    """A batch line's outcome as the log tells it now.

    A line reported ``queued`` is sent later by the dispatcher (or, when the dispatcher claimed it first,
    while the batch was still being sent), so its outcome is whatever that send made of it.
    """
    if outcome != "queued" or record is None:
        return outcome
    if record.job_id:
        return "accepted"
    if record.status == RecordStatus.REJECTED:
        return "rejected"
    if record.status == RecordStatus.UNKNOWN:
        return "unknown"
    return "queued"


def _parent_video_type(studio: StudioParts, request: JobRequest) -> int | None:
    """The resolution of the video an extend or upscale works on, when the log knows it."""
    if request.kind not in (JobKind.EXTEND, JobKind.UPSCALE) or not request.parent_job_id:
        return None
    parent = studio.store.by_job_id(request.parent_job_id)
    return None if parent is None else parent.video_type


def new_callback_token() -> str:
    """128 random bits, hex: the secret part of one submission's callback URL."""
    return secrets.token_hex(16)


def _with_callback(studio: StudioParts, request: JobRequest) -> tuple[JobRequest, str | None]:
    """The request as sent, and its callback token.

    The dashboard's callback is ``<public url>/webhooks/legnext/<token>`` with a token of its own per
    submission: only Legnext learns it, so a delivery to it is not forgeable, and a job object that
    names it (``config.webhook_config.endpoint``) says which submission made it. A callback the person
    set themselves is sent as it is, without a token.
    """
    if request.callback:
        return request, None
    token = new_callback_token()
    url = studio.settings.callback_url(token)
    if url is None:
        return request, None
    return dataclasses.replace(request, callback=url), token


def _record_intent(
    studio: StudioParts,
    request: JobRequest,
    *,
    status: str,
    batch_id: str | None = None,
    resubmit_of: str | None = None,
    callback_token: str | None = None,
    submitted_by: str,
) -> JobRecord:
    return studio.store.add_intent(
        request,
        api_mode=studio.settings.mode,
        api_base_url=studio.settings.base_url,
        estimated_points=_estimate(studio, request),
        batch_id=batch_id,
        resubmit_of=resubmit_of,
        status=status,
        callback_token=callback_token,
        submitted_by=submitted_by,
    )


def _estimate(studio: StudioParts, request: JobRequest) -> int:
    return estimate_points(request, _parent_video_type(studio, request))


def may_not_spend(studio: StudioParts, person: Person) -> LegnextError | None:
    """Why ``person`` may not make jobs on this server at all, or None."""
    reason = spending_lock(studio.settings)
    if reason is not None:
        return SpendingLockedError(reason)
    if not person.may_spend:
        return NotAllowedToSpendError(person.email)
    return None


def _month_records(studio: StudioParts, now: float) -> list[JobRecord]:
    """This month's records on the API this process spends on: what the caps are counted over.

    The server's History table picks the month from its column of submission times (kept current
    from the records that changed), so only this month's records are read: a scan of the whole log
    took 0.75 s per submission at 100,000 jobs.
    """
    since = spending.month_start(now).timestamp()
    return [r for r in studio.history.records(since=since) if _same_api(studio, r)]


def _send(
    studio: StudioParts, local_id: str, request: JobRequest, *, requeue_when_busy: bool = False
) -> SubmitResult | None:
    """POST a request whose intent is already recorded, and record the answer.

    With ``requeue_when_busy`` a 429 (a definite "not created") puts the line back in the queue and
    returns None, instead of recording a rejection.
    """
    studio.tracker.submission_started(local_id)
    try:
        job = studio.client.submit(request)
    except RateLimitError as exc:
        if requeue_when_busy and studio.store.requeue(local_id):
            return None
        studio.store.record_rejected(local_id, exc)
        return SubmitResult("rejected", local_id, error=exc)
    except SubmissionOutcomeUnknownError as exc:
        studio.store.record_unknown(local_id, exc.user_message)
        studio.tracker.look_for(local_id)
        return SubmitResult("unknown", local_id, error=exc)
    except (APIStatusError, APIConnectionError, InvalidInputError) as exc:
        # A status answer, or a connection never made: Legnext created no job.
        studio.store.record_rejected(local_id, exc)
        return SubmitResult("rejected", local_id, error=exc)
    finally:
        studio.tracker.submission_finished(local_id)
    studio.store.record_accepted(local_id, job)
    studio.forget_balance()
    # The tracker schedules the first poll near the earliest likely finish; a GET now would be wasted.
    studio.tracker.refresh()
    return SubmitResult("accepted", local_id, job.job_id)


def submit_job(
    studio: StudioParts, request: JobRequest, *, resubmit_of: str | None = None, person: Person = LOCAL
) -> SubmitResult:
    """Validate, check who spends and the caps, record the intent, POST once, record the answer."""
    request, token = _with_callback(studio, request)
    try:
        request.validate()
    except InvalidInputError as exc:
        return SubmitResult("invalid", error=exc)
    refusal = may_not_spend(studio, person)
    if refusal is not None:
        return SubmitResult("refused", error=refusal)
    with studio.spending_guard():
        now = time.time()
        over = spending.check(
            _month_records(studio, now),
            person=person.email,
            needed=_estimate(studio, request),
            caps=spending.load_caps(studio.settings),
            now=now,
        )
        if over is not None:
            return SubmitResult("refused", error=over)
        record = _record_intent(
            studio,
            request,
            status="submitting",
            resubmit_of=resubmit_of,
            callback_token=token,
            submitted_by=person.email,
        )
    result = _send(studio, record.local_id, request)
    assert result is not None  # only requeue_when_busy answers None
    return result


def free_slots(studio: StudioParts) -> int:
    """How many more jobs Legnext will take now on this API, by the log's count of unfinished ones."""
    busy = sum(
        1
        for record in studio.store.active() + studio.store.in_flight_submissions()
        if _same_api(studio, record)
    )
    return max(0, CONCURRENCY_LIMIT - busy)


def submit_batch(
    studio: StudioParts,
    requests: Sequence[JobRequest],
    *,
    on_progress: Callable[[int, int, SubmitResult], None] | None = None,
    person: Person = LOCAL,
) -> list[SubmitResult]:
    """Submit many requests under Legnext's concurrency limit; one result per request, in order.

    Invalid lines are reported and never recorded. Valid lines are recorded as ``queued`` first, as
    many as fit under the spending caps (in order; the rest are ``refused`` with the cap's message);
    as many as there are free slots are sent now, the rest stay queued for the dispatcher.
    """
    batch_id = uuid.uuid4().hex
    results: list[SubmitResult | None] = [None] * len(requests)
    valid: list[tuple[int, JobRequest, str | None]] = []
    for position, raw_request in enumerate(requests):
        request, token = _with_callback(studio, raw_request)
        try:
            request.validate()
        except InvalidInputError as exc:
            results[position] = SubmitResult("invalid", error=exc)
            continue
        valid.append((position, request, token))
    refusal = may_not_spend(studio, person)
    if refusal is not None:
        for position, _request, _token in valid:
            results[position] = SubmitResult("refused", error=refusal)
        valid = []
    pending: list[tuple[int, str, JobRequest]] = []
    with studio.spending_guard():
        now = time.time()
        fitting, over = spending.fit_batch(
            _month_records(studio, now),
            person=person.email,
            estimates=[_estimate(studio, request) for _position, request, _token in valid],
            caps=spending.load_caps(studio.settings),
            now=now,
        )
        for position, request, token in valid[:fitting]:
            record = _record_intent(
                studio,
                request,
                status="queued",
                batch_id=batch_id,
                callback_token=token,
                submitted_by=person.email,
            )
            pending.append((position, record.local_id, request))
    for position, _request, _token in valid[fitting:]:
        results[position] = SubmitResult("refused", error=over)

    done = sum(result is not None for result in results)
    slots = free_slots(studio)
    for position, local_id, request in pending:
        result = dispatch_one(studio, local_id, request) if slots > 0 else None
        if result is None:
            slots = 0  # no slot left, or Legnext said busy: the rest wait for the dispatcher
        elif result.outcome == "accepted":
            slots -= 1
        result = result or SubmitResult("queued", local_id)
        results[position] = result
        done += 1
        if on_progress is not None:
            on_progress(done, len(requests), result)
    return [result for result in results if result is not None]


def _same_api(studio: StudioParts, record: JobRecord) -> bool:
    """Whether a record lives on the API this process talks to (sandbox records follow the sandbox)."""
    if studio.settings.is_sandbox:
        return record.api_mode == "sandbox"
    return record.api_mode == "live" and record.api_base_url == studio.settings.base_url


def dispatch_one(studio: StudioParts, local_id: str, request: JobRequest) -> SubmitResult | None:
    """Send one queued line. None when Legnext said it is busy (the line stays queued)."""
    if not studio.store.begin_submission(local_id):
        return None  # another thread took it, or it is no longer queued
    return _send(studio, local_id, request, requeue_when_busy=True)


def dispatch_queued(studio: StudioParts) -> list[SubmitResult]:
    """Send queued lines while there are free slots (called periodically by the dispatcher)."""
    results = []
    for record in studio.store.queued():
        if not _same_api(studio, record):
            continue
        if free_slots(studio) <= 0:
            break
        result = dispatch_one(studio, record.local_id, request_from_record(record, same_submission=True))
        if result is None:
            break
        results.append(result)
    return results


def request_from_record(record: JobRecord, *, same_submission: bool = False) -> JobRequest:
    """The request a record was made from: for queued lines, and for "run again with the same settings".

    A queued line is the same submission and keeps its callback (``same_submission``); a new one made
    from a record gets a callback token of its own, so the dashboard's callback is not copied.
    """
    own_callback = bool(record.callback_token) and not same_submission
    if record.kind is None:
        raise ValueError(f"record {record.local_id} does not say what kind of job it is")
    return JobRequest(
        kind=JobKind(record.kind),
        prompt=record.prompt,
        image_url=record.image_url,
        parent_job_id=record.parent_job_id,
        index=record.parent_index,
        video_type=record.video_type or 0,
        motion=record.motion,
        raw=bool(record.raw),
        callback=None if own_callback else record.callback,
        end_url=record.end_url,
        loop=bool(record.loop),
        batch_size=record.batch_size or DEFAULT_BATCH_SIZE,
        speed=record.speed or DEFAULT_SPEED,
    )


def lines_to_requests(lines: Iterable[str], template: JobRequest) -> list[JobRequest]:
    """One request per non-empty line, each a copy of ``template`` with that line as its prompt."""
    return [dataclasses.replace(template, prompt=line.strip()) for line in lines if line.strip()]

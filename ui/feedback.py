"""What became of a submission, said beside the form: success with a link, or the error and what to do.

``describe`` is the pure part (an error becomes a level, a message and the next step); ``show_result``
and ``show_error`` draw it. An invalid input is shown next to its own field by ``field_error``; the
general area then only says that nothing was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import streamlit as st

from legnext_core import reconcile
from legnext_core.access import NotAllowedToSpendError, SpendingLockedError
from legnext_core.errors import (
    InsufficientCreditsError,
    LegnextError,
    RateLimitError,
    SubmissionOutcomeUnknownError,
)
from legnext_core.history import STATUS_LABELS
from legnext_core.spending import SpendingCapError
from legnext_core.studio import Studio
from legnext_core.submit import SubmitResult, request_from_record, submit_job
from ui import access
from ui.format import code_span, points

Level = Literal["success", "info", "warning", "error"]

_ICONS = {
    "success": ":material/check_circle:",
    "info": ":material/schedule:",
    "warning": ":material/warning:",
    "error": ":material/error:",
}
JOB_PAGE = "pages/job.py"
HISTORY_PAGE = "pages/history.py"


@dataclass(frozen=True)
class Feedback:
    level: Level
    title: str
    #: What to do next (may be empty).
    advice: str = ""

    @property
    def text(self) -> str:
        return f"**{self.title}**" + (f"  \n{self.advice}" if self.advice else "")


def _balance_line(balance_points: int | None) -> str:
    if balance_points is None:
        return "The balance could not be read just now; it is shown in the sidebar."
    return f"Available balance: {points(balance_points)}."


#: Errors that mean "not now" rather than "wrong": drawn as warnings.
_WARNINGS = (
    RateLimitError,
    SubmissionOutcomeUnknownError,
    SpendingCapError,
    SpendingLockedError,
    NotAllowedToSpendError,
)


def describe(error: LegnextError, *, balance_points: int | None = None) -> Feedback:
    """Lay out one error's wording (``LegnextError.headline``, ``legnext_says``, ``advice``) for a page.

    The words are the error's own; this only decides the level, quotes Legnext's text literally and adds
    the balance to a 402.
    """
    title = error.headline
    if error.legnext_says:
        title = f"{title.rstrip('.')}: {code_span(error.legnext_says)}"
    advice = error.advice
    if error.legnext_details:
        advice += f"  \nDetails from Legnext: {code_span(error.legnext_details)}"
    if isinstance(error, InsufficientCreditsError):
        advice += f" {_balance_line(balance_points)}"
    return Feedback("warning" if isinstance(error, _WARNINGS) else "error", title, advice)


def _balance_points(current: Studio) -> int | None:
    reading = current.balance(max_age=5)
    return None if reading.balance is None else reading.balance.available_points


def show_error(error: LegnextError, current: Studio) -> None:
    """Draw one error where the caller is (beside its form)."""
    balance = _balance_points(current) if isinstance(error, InsufficientCreditsError) else None
    feedback = describe(error, balance_points=balance)
    _draw(feedback)


def _draw(feedback: Feedback) -> None:
    getattr(st, feedback.level)(feedback.text, icon=_ICONS[feedback.level])


def job_link(job_id: str, *, label: str | None = None) -> None:
    """A link to the job's page (``/job?job=<id>``)."""
    st.page_link(
        JOB_PAGE,
        label=label or f"Open job {job_id}",
        icon=":material/open_in_new:",
        query_params={"job": job_id},
    )


def field_error(result: SubmitResult | None, *fields: str) -> None:
    """Under a widget: the message of an invalid input that belongs to one of ``fields``."""
    if result is not None and result.outcome == "invalid" and result.field in fields:
        st.error(result.message, icon=":material/edit:")


def show_result(
    result: SubmitResult | None,
    current: Studio,
    *,
    result_key: str,
    shown_fields: tuple[str, ...] = (),
) -> None:
    """The outcome of the last submission of a form, with what to do next.

    ``result_key`` is where the page keeps that result in session state: a deliberate resubmit after
    an unknown outcome replaces it. ``shown_fields`` are the fields the page marks itself with
    ``field_error`` (their message is not repeated here).
    """
    if result is None:
        return
    if result.outcome == "accepted" and result.job_id is not None:  # an accepted job always has its id
        st.success(f"**Submitted.** Legnext accepted job {code_span(result.job_id)}.", icon=_ICONS["success"])
        job_link(result.job_id)
        with st.container():  # a live part in a holder of its own (ui/live.py)
            _live_progress(current, result.job_id)
        return
    if result.outcome == "queued":
        st.info(f"**Queued.** {result.message}", icon=_ICONS["info"])
        return
    if result.outcome == "invalid":
        if result.field in shown_fields:
            st.error("**Not sent: fix the input marked above.**", icon=_ICONS["error"])
        elif result.error is not None:
            _draw(describe(result.error))
        return
    if result.error is not None:
        show_error(result.error, current)
    if result.outcome == "unknown":
        st.page_link(HISTORY_PAGE, label="Look for it in History", icon=":material/history:")
        _resubmit_controls(result, current, result_key=result_key)


@st.fragment(run_every=1.5)
def _live_progress(current: Studio, job_id: str) -> None:
    """The submitted job's progress as the tracker records it (reads the log only)."""
    record = current.store.by_job_id(job_id)
    if record is None or record.status not in ("pending", "staged", "processing"):
        return
    st.progress(
        min(100, max(0, int(record.progress or 0))),
        text=f"{STATUS_LABELS.get(record.status, record.status)} · {reconcile.progress_label(record)}",
    )


def _resubmit_controls(result: SubmitResult, current: Studio, *, result_key: str) -> None:
    """A deliberate "submit again", in two steps, for a submission whose outcome is unknown."""
    if result.local_id is None:
        return
    state = st.session_state
    confirm_key = f"{result_key}:confirm-resubmit"

    def ask() -> None:
        state[confirm_key] = result.local_id

    def cancel() -> None:
        state.pop(confirm_key, None)

    def resubmit(local_id: str) -> None:
        # Popping first makes a second click on the same confirmation a no-op.
        if state.pop(confirm_key, None) != local_id:
            return
        record = current.store.get(local_id)
        if record is None:
            return
        who = access.person()
        if not who.may_resubmit(record.submitted_by):
            return
        state[result_key] = submit_job(current, request_from_record(record), resubmit_of=local_id, person=who)

    if state.get(confirm_key) != result.local_id:
        st.button(
            "Submit again…",
            key=f"{result_key}:ask-resubmit",
            on_click=ask,
            icon=":material/replay:",
            help="Only if History shows no job for this submission.",
        )
        return
    st.warning(
        "**Submit again?** If Legnext did create the first job, this makes a second one and both are billed.",
        icon=":material/help:",
    )
    left, right, _ = st.columns([1, 1, 3])
    left.button(
        "Yes, submit again",
        key=f"{result_key}:confirm-resubmit-button",
        on_click=resubmit,
        args=(result.local_id,),
        type="primary",
        icon=":material/replay:",
    )
    right.button("Cancel", key=f"{result_key}:cancel-resubmit", on_click=cancel)

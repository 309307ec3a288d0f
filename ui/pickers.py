"""Choosing what to work on: a completed job (from the log, a deep link or a pasted id) and one of its
four outputs, with all four shown so the choice is made by eye.

Used by Extend and Upscale (video jobs) and by Create's animate mode (image jobs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import streamlit as st

from legnext_core import history
from legnext_core.errors import InvalidInputError, LegnextError, NotFoundError
from legnext_core.models import OUTPUT_INDEXES, JobKind
from legnext_core.records import JobRecord
from legnext_core.studio import Studio
from ui.context import studio
from ui.format import code_span, relative_time
from ui.variants import show_variants, variants_of

#: Jobs whose four videos can be extended or upscaled (an upscale's single output cannot).
VIDEO_PARENT_KINDS = (JobKind.TEXT_VIDEO, JobKind.IMAGE_URL_VIDEO, JobKind.ANIMATE, JobKind.EXTEND)


def completed_jobs(current: Studio, kinds: Iterable[JobKind]) -> list[JobRecord]:
    """Completed jobs of these kinds, newest first, that this process can follow up on."""
    records = current.store.recent(200, statuses=["completed"], kinds=[kind.value for kind in kinds])
    return [
        record
        for record in records
        if record.job_id and variants_of(record) and current.client_for(record) is not None
    ]


def job_label(record: JobRecord, now: float | None = None) -> str:
    """One line that tells jobs apart: prompt, kind, age and the start of the id."""
    prompt = history.shorten(record.prompt, 60) or "(no prompt)"
    kind = history.KIND_LABELS.get(record.kind or "", record.kind or "job")
    when = record.ended_at or record.updated_at or record.submitted_at
    age = f" · {relative_time(when, now or time.time())}" if when else ""
    return f"{prompt} · {kind}{age} · {str(record.job_id)[:8]}"


def parse_index(raw: Any) -> int | None:
    """A variant number 0-3 from a query parameter, or None."""
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        return None
    return value if value in OUTPUT_INDEXES else None


def pick_job(
    records: Sequence[JobRecord],
    *,
    key: str,
    label: str,
    preselect: str | None = None,
    choose_first: bool = True,
    placeholder: str = "Choose a job",
) -> JobRecord | None:
    """A select box over ``records`` (by job id); ``preselect`` is chosen when it is among them, else the
    newest when ``choose_first`` (a page opened without a link), else nothing."""
    by_id = {record.job_id: record for record in records}
    options = list(by_id)
    state = st.session_state
    state_key = f"{key}:job"
    if preselect in by_id and state.get(f"{key}:preselected") != preselect:
        # Applied once per deep link, so the user's own choice afterwards is kept.
        state[state_key] = preselect
        state[f"{key}:preselected"] = preselect
    if state.get(state_key) not in by_id:
        state.pop(state_key, None)
    # With no choice in the state (none made yet, or Streamlit dropped the widget's state after a
    # submission's rerun) the link's job is chosen again, else the newest: choosing nothing would leave
    # the page blank under the picker.
    if state_key in state:
        index = None
    elif preselect in by_id:
        index = options.index(preselect)
    else:
        index = 0 if choose_first and options else None
    now = time.time()
    chosen = st.selectbox(
        label,
        options,
        index=index,
        format_func=lambda job_id: job_label(by_id[job_id], now),
        key=state_key,
        placeholder=placeholder,
    )
    return by_id.get(chosen) if chosen else None


def pick_variant(
    record: JobRecord, *, key: str, preselect: int | None = None, choose_first: bool = True
) -> int | None:
    """Show all outputs of ``record`` and let the user choose one; the chosen index (0-3), or None while
    nothing is chosen (``choose_first`` False: a link named a variant that does not exist)."""
    variants = show_variants(record, download=False, key_prefix=f"{key}-preview")
    if not variants:
        return None
    indexes = [variant.index for variant in variants]
    noun = "Video" if variants[0].is_video else "Image"
    state_key = f"{key}:variant:{record.job_id}"
    if preselect in indexes and st.session_state.get(f"{state_key}:preselected") != preselect:
        st.session_state[state_key] = preselect
        st.session_state[f"{state_key}:preselected"] = preselect
    if st.session_state.get(state_key) not in indexes:
        if choose_first:
            st.session_state[state_key] = indexes[0]
        else:
            st.session_state.pop(state_key, None)
    return st.segmented_control(
        f"Which {noun.lower()}",
        indexes,
        format_func=lambda index: f"{noun} {index + 1}",
        required=True,
        key=state_key,
    )


def no_videos_yet(current: Studio, action: str) -> None:
    """The empty state of Extend and Upscale: nothing to work on yet, and where to make something."""
    making = [
        record
        for record in current.store.active()
        if record.kind in {kind.value for kind in VIDEO_PARENT_KINDS}
    ]
    if making:
        count = len(making)
        st.info(
            f"**No finished videos yet.** {count} video job{'s are' if count != 1 else ' is'} being made; "
            f"the first to finish appears here, ready to {action}.",
            icon=":material/hourglass_top:",
        )
        with st.container():  # a live part in a holder of its own (ui/live.py)
            _wait_for_a_finished_video(len(completed_jobs(current, VIDEO_PARENT_KINDS)))
    else:
        st.info(
            f"**No finished videos yet.** Make a video first; once it is done you can {action} it here.",
            icon=":material/movie:",
        )
    st.page_link("pages/create.py", label="Make a video on Create", icon=":material/add_circle:")


@st.fragment(run_every=2)
def _wait_for_a_finished_video(finished_when_drawn: int) -> None:
    """Redraw the page once a video finishes (reads the log only; the tracker does the polling)."""
    if len(completed_jobs(studio(), VIDEO_PARENT_KINDS)) > finished_when_drawn:
        st.rerun(scope="app")


def linked_job_problem(
    current: Studio,
    job_id: str,
    kinds: Sequence[JobKind],
    action: str,
) -> tuple[JobRecord | None, str | None]:
    """The deep-linked job's record when it can be worked on here, else why it cannot (one sentence)."""
    from ui.feedback import describe  # feedback words errors; pickers only choose

    shown = code_span(job_id)
    try:
        record, _ = current.track_job(job_id)
    except InvalidInputError:
        return None, f"{shown} is not a Legnext job id."
    except NotFoundError:
        return None, f"Legnext has no job {shown}."
    except LegnextError as exc:
        return None, f"Job {shown} could not be opened: {describe(exc).title}"
    wanted = {kind.value for kind in kinds}
    if record.kind not in wanted:
        kind = history.KIND_LABELS.get(record.kind or "", "job")
        return None, f"Job {shown} is {_article(kind)} {kind.lower()} job: it cannot be used to {action}."
    status = record.status
    if status in FINISHED_WITHOUT_OUTPUT:
        label = history.STATUS_LABELS.get(status, status).lower()
        return None, f"Job {shown} has no videos to {action}: its status is {label}."
    if status != "completed":
        return None, (
            f"Job {shown} is {history.STATUS_LABELS.get(status, status).lower()}: it can be chosen here "
            "once it has completed."
        )
    reason = current.unreachable_reason(record)
    if reason:
        return None, f"Job {shown} cannot be used: {reason}"
    return record, None


#: Statuses of a job that ended (or may never have started) without outputs.
FINISHED_WITHOUT_OUTPUT = frozenset({"failed", "rejected", "lost", "unknown"})


def choose_video(
    current: Studio,
    *,
    form: str,
    action: str,
    label: str,
    usable: Callable[[JobRecord], bool] = lambda record: True,
) -> tuple[JobRecord, int | None]:
    """The finished video and variant a follow-up page works on.

    Honours the ``?job=<id>&variant=<n>`` deep link. A link that cannot be followed says what is
    wrong with it and preselects nothing, so no unrelated video is offered in its place. Stops the
    page with the empty state when there is no finished video to offer.
    """
    records = [record for record in completed_jobs(current, VIDEO_PARENT_KINDS) if usable(record)]
    linked_job = st.query_params.get("job")
    raw_variant = st.query_params.get("variant")
    linked_variant = parse_index(raw_variant)
    problems = []
    if linked_job and not any(record.job_id == linked_job for record in records):
        record, problem = linked_job_problem(current, linked_job, VIDEO_PARENT_KINDS, action)
        if record is not None and not usable(record):
            record, problem = None, f"Job {code_span(linked_job)} cannot be used to {action}."
        if record is not None:
            records = [record, *records]
        if problem:
            problems.append(problem)
    if raw_variant is not None and linked_variant is None:
        problems.append(f"Variant {code_span(raw_variant)} does not exist: a job has videos 0-3.")
    if problems:
        st.warning(
            "**This link cannot be followed.** " + " ".join(problems) + " Nothing is chosen for you.",
            icon=":material/link_off:",
        )
    if not records:
        no_videos_yet(current, action)
        st.stop()
    linked = bool(linked_job or raw_variant is not None)
    record = pick_job(
        records, key=form, label=label, preselect=None if problems else linked_job, choose_first=not linked
    )
    if record is None:
        st.stop()
    return record, pick_variant(record, key=form, preselect=linked_variant, choose_first=not problems)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"

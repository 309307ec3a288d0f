"""Form pieces the making pages share: video options, the cost line, the one-shot submit button, batches.

The submit button is the guard against paying twice. Streamlit reruns the whole page on every
interaction and a fast second click can arrive before the page has redrawn, so a click only counts when
it carries the token the button was last drawn with. The click swaps the token and marks a submission
pending; the page then redraws the button disabled, sends once (``take_pending``) and reruns.
A rerun, a stale second click or a reload never finds a pending submission to send again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from legnext_core import history
from legnext_core.access import LOCAL, Person
from legnext_core.errors import InvalidInputError
from legnext_core.models import MOTIONS, VIDEO_TYPES, JobKind, JobRequest
from legnext_core.studio import Studio
from legnext_core.submit import SubmitResult, outcome_now, submit_batch
from ui.controls import pick_one
from ui.format import points
from ui.video_options import MoreOptions, more_options

#: Resolution choices as shown (videoType 0/1).
RESOLUTIONS = {label: video_type for video_type, label in VIDEO_TYPES.items()}
_MOTION_DEFAULT = "Default"


@dataclass(frozen=True)
class VideoOptions:
    video_type: int
    motion: str | None
    raw: bool
    callback: str | None
    more: MoreOptions = MoreOptions()

    def request_fields(self) -> dict[str, Any]:
        """The options as ``JobRequest`` fields."""
        return {
            "video_type": self.video_type,
            "motion": self.motion,
            "raw": self.raw,
            "callback": self.callback,
            "batch_size": self.more.batch_size,
            "speed": self.more.speed,
            "loop": self.more.loop,
            "end_url": self.more.end_url,
        }


def _keys(form_key: str) -> tuple[str, str]:
    return f"{form_key}:token", f"{form_key}:pending"


def submit_button(
    form_key: str,
    label: str,
    *,
    disabled: bool = False,
    help: str | None = None,
    icon: str = ":material/send:",
) -> bool:
    """Draw the form's submit button; True while a fresh click waits to be sent (see ``take_pending``)."""
    token_key, pending_key = _keys(form_key)
    state = st.session_state
    if token_key not in state:
        state[token_key] = uuid.uuid4().hex

    def on_click(token: str) -> None:
        # A click drawn with an older token is a double click or a stale page: it does not count.
        if state.get(token_key) != token or state.get(pending_key):
            return
        state[token_key] = uuid.uuid4().hex
        state[pending_key] = True

    pending = bool(state.get(pending_key))
    st.button(
        "Submitting…" if pending else label,
        key=f"{form_key}:submit",
        on_click=on_click,
        args=(state[token_key],),
        disabled=disabled or pending,
        type="primary",
        icon=":material/progress_activity:" if pending else icon,
        help=help,
    )
    return pending


def take_pending(form_key: str) -> bool:
    """True once per fresh click: the caller sends now. Cleared *before* sending, so nothing resends it."""
    return bool(st.session_state.pop(_keys(form_key)[1], False))


def hand_over(form_key: str, **fields: Any) -> None:
    """Fill fields of another page's form: taken by ``take_over`` when that page draws its form.

    A widget's own key cannot carry a value across a page switch (Streamlit drops the state of widgets
    that are not on the page being drawn), so the values wait under a key of their own.
    """
    st.session_state[f"{form_key}:handed-over"] = fields


def take_over(form_key: str) -> None:
    """Put values handed over by ``hand_over`` into this page's form fields, once."""
    for field, value in st.session_state.pop(f"{form_key}:handed-over", {}).items():
        st.session_state[f"{form_key}:{field}"] = value


def video_options(key_prefix: str, *, resolution: bool = True, flags: bool = True) -> VideoOptions:
    """Resolution, Midjourney's ``--motion``/``--raw`` as controls, and the callback override."""
    video_type = 0
    motion: str | None = None
    raw = False
    # Motion's three choices need the most room: at 1024 px beside the sidebar equal thirds cut "High".
    columns = st.columns([1, 1.5, 1] if flags else 1, vertical_alignment="bottom")
    if resolution:
        with columns[0]:
            chosen = pick_one(
                "Resolution",
                list(RESOLUTIONS),
                default="480p",
                key=f"{key_prefix}:resolution",
                help="720p costs about three times as much as 480p.",
            )
            video_type = RESOLUTIONS[chosen]
    if flags:
        with columns[1 if resolution else 0]:
            motion_label = pick_one(
                "Motion",
                [_MOTION_DEFAULT, *(m.capitalize() for m in MOTIONS)],
                default=_MOTION_DEFAULT,
                key=f"{key_prefix}:motion",
                help="Midjourney's --motion: low for subtle movement, high for lively movement.",
            )
            motion = None if motion_label == _MOTION_DEFAULT else motion_label.lower()
        with columns[-1]:
            raw = st.toggle(
                "Raw style",
                key=f"{key_prefix}:raw",
                help="Midjourney's --raw: less of Midjourney's own styling, closer to the prompt.",
            )
    more = more_options(key_prefix) if flags else MoreOptions()
    return VideoOptions(video_type, motion, raw, callback_override(key_prefix), more)


def callback_override(key_prefix: str) -> str | None:
    """The advanced callback URL, or None to use the dashboard's own webhook."""
    with st.expander("Advanced", icon=":material/tune:"):
        value = st.text_input(
            "Callback URL override",
            key=f"{key_prefix}:callback",
            placeholder="https://example.com/legnext-callback",
            help="Legnext POSTs the finished job here instead of to this dashboard. "
            "Leave empty to let the dashboard receive it.",
        )
    return value.strip() or None


def cost_line(estimated: int, *, note: str | None = None, count: int = 1) -> None:
    """'Estimated cost: 480 points (US$0.48)', before anything is submitted."""
    total = estimated * count
    each = f" ({count} × {points(estimated)})" if count > 1 else ""
    text = f":material/payments: Estimated cost: **{points(total)}**{each}"
    if note:
        text += f" · {note}"
    st.markdown(text)


# -- batch ---------------------------------------------------------------------------------------------

#: What a batch line's outcome is called in the results table.
OUTCOME_LABELS = {
    "accepted": "accepted",
    "queued": "queued",
    "rejected": "rejected",
    "unknown": "outcome unknown",
    "invalid": "invalid",
    "refused": "not sent (limit)",
}
_RESOLUTION_WORDS = {"": None, "480p": 0, "480": 0, "0": 0, "720p": 1, "720": 1, "1": 1}


@dataclass(frozen=True)
class BatchLine:
    """One prompt of a batch, with the line it came from and why it cannot be sent (if it cannot)."""

    number: int
    prompt: str
    request: JobRequest
    error: str | None = None


def lines_from_text(text: str) -> list[tuple[int, str, str]]:
    """(line number, prompt, resolution) for each non-blank line; blank lines keep the numbering."""
    return [(number, line.strip(), "") for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def lines_from_csv(upload: Any) -> tuple[list[tuple[int, str, str]], str | None]:
    """(line number, prompt, resolution) per CSV row (the header is line 1), or why the file is unusable."""
    if upload is None:
        return [], None
    try:
        frame = pd.read_csv(upload, dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        return [], f"The file could not be read as CSV: {exc}"
    columns = {str(name).strip().lower(): name for name in frame.columns}
    if "prompt" not in columns:
        return [], "The CSV has no `prompt` column. Put the prompts in a column named prompt."
    prompts = frame[columns["prompt"]]
    resolutions = frame[columns["resolution"]] if "resolution" in columns else None
    rows = []
    for position, prompt in enumerate(prompts):
        resolution = "" if resolutions is None else str(resolutions.iloc[position])
        rows.append((position + 2, str(prompt).strip(), resolution.strip()))
    return rows, None


def prepare_batch(lines: list[tuple[int, str, str]], options: VideoOptions) -> list[BatchLine]:
    """Requests for the lines, each validated before anything is sent."""
    prepared = []
    for number, prompt, resolution in lines:
        video_type: Any = _RESOLUTION_WORDS.get(resolution.lower(), resolution)
        fields = options.request_fields()
        if video_type is not None:
            fields["video_type"] = video_type
        request = JobRequest(kind=JobKind.TEXT_VIDEO, prompt=prompt or None, **fields)
        error = None
        try:
            request.validate()
        except InvalidInputError as exc:
            error = (
                f"resolution “{resolution}” is not 480p or 720p" if exc.field == "video_type" else exc.message
            )
        prepared.append(BatchLine(number, prompt, request, error))
    return prepared


def submit_prepared_batch(
    current: Studio,
    lines: list[BatchLine],
    *,
    on_progress: Callable[[int, int, SubmitResult], None] | None = None,
    person: Person = LOCAL,
) -> list[dict[str, Any]]:
    """Send the valid lines under the concurrency limit and the caps; one table row per line."""
    valid = [line for line in lines if line.error is None]
    requests = [line.request for line in valid]
    results = iter(submit_batch(current, requests, on_progress=on_progress, person=person))
    rows = []
    for line in lines:
        if line.error is not None:
            rows.append(_row(line, None, "invalid", line.error))
            continue
        result = next(results)
        message = "" if result.outcome == "accepted" else result.message
        rows.append(_row(line, result, result.outcome, message))
    return rows


def _row(line: BatchLine, result: SubmitResult | None, outcome: str, message: str) -> dict[str, Any]:
    return {
        "line": line.number,
        "prompt": line.prompt,
        "local_id": None if result is None else result.local_id,
        "job_id": None if result is None else result.job_id,
        "outcome": outcome,
        "message": message,
    }


@st.fragment(run_every=2)
def batch_results(current: Studio, rows: list[dict[str, Any]], *, latest: bool = True) -> None:
    """The per-line result table; a queued line takes its job id and outcome from the log once it is sent."""
    table = []
    outcomes: list[str] = []
    for row in rows:
        record = current.store.get(row["local_id"]) if row["local_id"] else None
        job_id = (record.job_id if record else None) or row["job_id"]
        status = record.status if record else None
        outcome = outcome_now(row["outcome"], record)
        outcomes.append(outcome)
        message = row["message"] or ""
        if outcome != row["outcome"]:  # a queued line the dispatcher has sent since
            message = "" if outcome == "accepted" else (record.error_message if record else None) or ""
        table.append(
            {
                "Line": row["line"],
                "Prompt": row["prompt"],
                # An empty cell (drawn as "—") until Legnext gives the job an id; never "None".
                "Job id": f"/job?job={job_id}" if job_id else "",
                "Outcome": OUTCOME_LABELS.get(outcome, outcome),
                "Status now": history.STATUS_LABELS.get(status, status) if status else "—",
                "Message": message,
            }
        )
    counts = {label: outcomes.count(outcome) for outcome, label in OUTCOME_LABELS.items()}
    st.markdown(
        f":material/fact_check: **{'Batch result' if latest else 'Earlier batch'}:** "
        + " · ".join(f"{count} {label}" for label, count in counts.items() if count)
    )
    st.dataframe(
        pd.DataFrame(table),
        hide_index=True,
        width="stretch",
        placeholder="—",
        column_config={
            "Line": st.column_config.NumberColumn(width=50),
            "Job id": st.column_config.LinkColumn(display_text=r"/job\?job=(.*)", width="medium"),
            "Prompt": st.column_config.TextColumn(width="medium"),
            "Outcome": st.column_config.TextColumn(width=110),
            "Status now": st.column_config.TextColumn(width=100),
            # Messages say what to do; they are long, so the column takes what is left.
            "Message": st.column_config.TextColumn(width="large"),
        },
    )

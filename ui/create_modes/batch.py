"""Create many videos at once, from lines of text or a CSV file."""

from __future__ import annotations

import streamlit as st

from legnext_core.access import Person
from legnext_core.models import estimate_points
from legnext_core.pricing import estimate_note
from legnext_core.studio import Studio
from legnext_core.submit import free_slots
from ui import forms
from ui.create_modes.common import options_area
from ui.create_modes.keys import BATCH_RESULTS, BATCH_SENT

#: Under the greyed-out button while there is no prompt: what makes it live.
NOTHING_TO_SEND = "Nothing to send yet: write one prompt per line above, or load a CSV file."


def batch_mode(current: Studio, who: Person) -> None:
    state = st.session_state
    if state.pop(BATCH_SENT, False):
        # The sent prompts now live in the results table; an emptied form cannot send them twice.
        state["create:batch:lines"] = ""
        state["create:batch:upload_round"] = state.get("create:batch:upload_round", 0) + 1
    source = st.segmented_control(
        "Prompts from",
        ["One per line", "CSV file"],
        default="One per line",
        required=True,
        key="create:batch:source",
    )
    if source == "CSV file":
        upload = st.file_uploader(
            "CSV with a `prompt` column (optional `resolution`: 480p or 720p)",
            type=["csv"],
            key=f"create:batch:csv:{state.get('create:batch:upload_round', 0)}",
        )
        lines, problem = forms.lines_from_csv(upload)
        if problem:
            st.error(problem, icon=":material/edit:")
    else:
        text = st.text_area(
            "Prompts, one per line",
            key="create:batch:lines",
            height=180,
            placeholder="A fox running through snow\nWaves breaking on black sand\nA neon city in the rain",
        )
        lines = forms.lines_from_text(text)
    options = options_area("batch")
    prepared = forms.prepare_batch(lines, options)
    valid = [line for line in prepared if line.error is None]
    invalid = [line for line in prepared if line.error is not None]
    if invalid:
        st.warning(
            "**Not sent (fix these lines):**  \n"
            + "  \n".join(f"Line {line.number}: {line.error}" for line in invalid),
            icon=":material/edit:",
        )
    if valid:
        forms.cost_line(
            sum(estimate_points(line.request) for line in valid), note=estimate_note(valid[0].request)
        )
        slots = free_slots(current)
        if len(valid) > slots:
            later = len(valid) - slots
            now = (
                f"all {slots} free slots are used at once and the other {later}"
                if slots
                else f"all slots are busy now, so the {later}"
            )
            st.info(
                f"Legnext runs at most 6 of your jobs at a time: {now} "
                f"{'are' if later != 1 else 'is'} queued here and sent automatically as running jobs "
                "finish (keep the dashboard running).",
                icon=":material/queue:",
            )
    pending = forms.submit_button(
        "batch",
        # The count is what will be sent: lines that need fixing are not.
        f"Submit {len(valid)} prompt{'s' if len(valid) != 1 else ''}" if valid else "Submit",
        disabled=not valid,
        icon=":material/playlist_add_check:",
    )
    if not prepared:
        st.caption(f":material/info: {NOTHING_TO_SEND}")
    if pending:
        bar = st.progress(0.0, text="Submitting…")

        def on_progress(done: int, total: int, _result) -> None:
            bar.progress(done / total, text=f"Submitted {done} of {total}")

        if forms.take_pending("batch"):
            rows = forms.submit_prepared_batch(current, prepared, on_progress=on_progress, person=who)
            # Every batch sent stays in view, newest first; the form empties so it cannot be sent twice.
            state[BATCH_RESULTS] = [rows, *state.get(BATCH_RESULTS, [])]
            state[BATCH_SENT] = True
        st.rerun()
    for number, rows in enumerate(state.get(BATCH_RESULTS, [])):
        with st.container():  # a live part in a holder of its own (ui/live.py)
            forms.batch_results(current, rows, latest=number == 0)

"""The History page: the live table, filters, selection, counts, export, track-by-id, empty state."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from legnext_core.models import JobKind, JobRequest
from tests.ui.helpers import unknown_outcome
from tests.ui.test_job_detail import finish, submit
from ui.history_export import EXPORT_STATE_KEY, export_csv
from ui.history_filters import HistoryFilters
from ui.history_table import SELECTED_KEY, TABLE_KEY

SECRET_KEY = "lgx-live-KEY-7f3a9c1e5b2d8064"
SECRET_WEBHOOK = "whsec-HISTORY-4c8e2a6f0d1b"


def page_text(at) -> str:
    """Every element the page drew, as its protobuf text (labels, values, data, links, help)."""
    chunks: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            chunks.append(str(proto))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)  # noqa: SLF001 - AppTest offers no public walk over every element
    for frame in at.dataframe:
        chunks.append(frame.value.to_csv())
    return "\n".join(chunks)


def table(at) -> pd.DataFrame:
    (frame,) = at.dataframe
    return frame.value


def open_history(app_test):
    at = app_test("history")
    assert not at.exception
    return at


def test_empty_log_shows_a_friendly_message_with_a_link_to_create(app_test):
    at = open_history(app_test)
    assert "No jobs yet" in at.info[0].value
    links = [p for p in at.get("page_link") if "Create" in p.proto.label]
    assert links and links[0].proto.page.endswith("create")
    assert not at.dataframe


def test_table_lists_jobs_newest_first_with_progress_and_status_pills(app_test, studio, sandbox):
    at = open_history(app_test)
    current = studio()
    first = submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="first: a red fox"))
    finish(current, sandbox, first)
    second = submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="second: a blue whale " * 20))
    at.run()
    assert not at.exception
    frame = table(at)
    assert list(frame["job_id"]) == [second.job_id, first.job_id]
    assert [s[0] for s in frame["status"]] == ["pending", "completed"]
    assert frame["progress"].iloc[1] == 100
    # Long prompts are shortened for the table; the detail view has them in full.
    assert len(frame["prompt"].iloc[0]) <= 80 and frame["prompt"].iloc[0].endswith("…")
    assert "local_id" not in frame.columns
    assert "**2** jobs" in at.markdown[0].value


def test_filters_narrow_the_table_and_the_counts(app_test, studio, sandbox):
    at = open_history(app_test)
    current = studio()
    fox = submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a red fox"))
    finish(current, sandbox, fox)
    whale = submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a blue whale"))
    image = submit(current, JobRequest(kind=JobKind.IMAGE, prompt="a red barn"))
    at.run()
    assert len(table(at)) == 3

    at.multiselect(key="history-status").set_value(["completed"]).run()
    assert list(table(at)["job_id"]) == [fox.job_id]
    counts = at.markdown[0].value
    assert "**1** job" in counts and "completed **1**" in counts and "pending" not in counts

    at.multiselect(key="history-status").set_value([]).run()
    at.text_input(key="history-text").set_value("RED").run()
    assert set(table(at)["job_id"]) == {fox.job_id, image.job_id}

    at.multiselect(key="history-kind").set_value(["image"]).run()
    assert list(table(at)["job_id"]) == [image.job_id]

    at.multiselect(key="history-kind").set_value([]).run()
    at.text_input(key="history-text").set_value(whale.job_id[:13]).run()
    assert list(table(at)["job_id"]) == [whale.job_id]

    at.text_input(key="history-text").set_value("").run()
    today = date.today()
    at.date_input(key="history-days").set_value((today - timedelta(days=3), today + timedelta(days=1))).run()
    assert len(table(at)) == 3
    at.date_input(key="history-days").set_value((today - timedelta(days=9), today - timedelta(days=2))).run()
    assert not at.exception
    assert not at.dataframe and "No job matches these filters." in at.info[0].value


def test_credits_of_the_view_are_summed(app_test, studio, sandbox):
    at = open_history(app_test)
    current = studio()
    done = submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a red fox"))
    finish(current, sandbox, done)
    barn = submit(current, JobRequest(kind=JobKind.IMAGE, prompt="a barn"))
    at.run()
    # The finished video's frozen points are spent, not reserved: only the running image job holds any.
    assert "consumed 480 points (US$0.48) · reserved for jobs under way 80 points" in at.markdown[0].value
    finish(current, sandbox, barn)
    at.run()
    assert "consumed 560 points (US$0.56) · reserved for jobs under way 0 points" in at.markdown[0].value


def test_selected_job_stays_selected_when_new_jobs_arrive(app_test, studio, sandbox):
    at = open_history(app_test)
    current = studio()
    picked = submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="the one I picked"))
    submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a newer one"))
    at.run()
    # Row 1 is `picked` (newest first); a click sets the table's state to that position.
    at.session_state[TABLE_KEY] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert f"`{picked.job_id}`" in page_text(at)
    submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="newest of all"))
    at.run()
    assert not at.exception
    frame = table(at)
    assert frame["job_id"].iloc[2] == picked.job_id
    assert at.session_state[TABLE_KEY]["selection"]["rows"] == [2]
    assert at.session_state[SELECTED_KEY] == picked.local_id
    summary = [p for p in at.get("page_link") if p.proto.label == "Open details"]
    assert summary and f"job={picked.job_id}" in str(summary[0].proto.query_string)


def test_unknown_outcome_records_are_shown_with_guidance(app_test, studio):
    at = open_history(app_test)
    current = studio()
    local_id = unknown_outcome(current, "did it go through?")
    at.run()
    frame = table(at)
    assert [s[0] for s in frame["status"]] == ["unknown"]
    at.session_state[TABLE_KEY] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    text = page_text(at)
    assert "outcome is unknown" in text and "looking for this job" in text and "resubmit it only" in text
    assert f"job={local_id}" in text


def test_records_this_process_cannot_follow_say_why(app_test, studio, sandbox):
    at = open_history(app_test)
    current = studio()
    request = JobRequest(kind=JobKind.TEXT_VIDEO, prompt="made with another key")
    other = current.store.add_intent(
        request, api_mode="live", api_base_url="https://api.legnext.ai/api", estimated_points=480
    )
    job = current.client.submit(request)
    current.store.record_accepted(other.local_id, job)
    at.run()
    at.session_state[TABLE_KEY] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert "Not followed here. Made on another Legnext API or key" in page_text(at)


def test_track_by_id_logs_a_job_made_elsewhere(app_test, studio, sandbox):
    at = open_history(app_test)
    current = studio()
    outside = current.client.submit(JobRequest(kind=JobKind.TEXT_VIDEO, prompt="made by a script"))
    assert current.store.by_job_id(outside.job_id) is None
    at.text_input(key="track-job-id").set_value(f"  {outside.job_id} ")
    at.button(key="FormSubmitter:track-by-id-Track this job").click().run()
    assert not at.exception
    assert f"Now tracking job `{outside.job_id}`" in at.success[0].value
    record = current.store.by_job_id(outside.job_id)
    assert record is not None and record.status == "pending"
    assert outside.job_id in list(table(at)["job_id"])


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("not-a-job", "This is not a Legnext job id"),
        ("3fa85f64-5717-4562-b3fc-2c963f66afa6", "Legnext has no job `3fa85f64-5717-4562-b3fc-2c963f66afa6`"),
        ("", "Paste a Legnext job id first."),
    ],
)
def test_track_by_id_explains_bad_and_unknown_ids(app_test, typed, message):
    at = open_history(app_test)
    at.text_input(key="track-job-id").set_value(typed)
    at.button(key="FormSubmitter:track-by-id-Track this job").click().run()
    assert not at.exception
    assert message in at.error[0].value


def test_export_holds_the_filtered_jobs_and_no_secret_appears_anywhere(
    app_test, studio_env, monkeypatch, start_sandbox
):
    live = start_sandbox(accepted_keys=frozenset({SECRET_KEY}), state_path=None)
    monkeypatch.setenv("LEGNEXT_API_KEY", SECRET_KEY)
    monkeypatch.setenv("LEGNEXT_BASE_URL", live.base_url)
    monkeypatch.setenv("LEGNEXT_WEBHOOK_SECRET", SECRET_WEBHOOK)
    monkeypatch.setenv("LEGNEXT_PUBLIC_URL", "http://127.0.0.1:9")
    at = open_history(app_test)
    from legnext_core.studio import current_studio

    current = current_studio()
    assert current.settings.mode == "live"
    fox = submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a red fox"))
    finish(current, live, fox)
    submit(current, JobRequest(kind=JobKind.IMAGE, prompt="a barn"))
    at.run()
    at.session_state[TABLE_KEY] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert not at.exception
    texts = [page_text(at)]

    detail = app_test("job", query={"job": fox.job_id})
    detail.button(key="fetch-raw").click().run()
    assert not detail.exception and detail.json
    texts.append(page_text(detail))

    export = export_csv(current, HistoryFilters(statuses=("completed",)))
    exported = pd.read_csv(io.BytesIO(export))
    assert list(exported["job_id"]) == [fox.job_id]
    texts.append(export.decode())
    everything = "\n".join(texts)
    assert fox.job_id in everything
    assert SECRET_KEY not in everything
    assert SECRET_WEBHOOK not in everything


def test_export_is_made_on_a_click_from_the_filters_then_offered_until_they_change(app_test, studio, sandbox):
    at = open_history(app_test)
    current = studio()
    fox = submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a red fox"))
    finish(current, sandbox, fox)
    submit(current, JobRequest(kind=JobKind.IMAGE, prompt="a red barn"))
    at.run()
    assert EXPORT_STATE_KEY not in at.session_state
    at.multiselect(key="history-status").set_value(["completed"]).run()
    at.button(key="history-export").click().run()
    assert not at.exception
    prepared = at.session_state[EXPORT_STATE_KEY]
    assert prepared.jobs == 1
    assert list(pd.read_csv(io.BytesIO(prepared.path.read_bytes()))["job_id"]) == [fox.job_id]
    assert prepared.label().startswith("Download 1 job (CSV, ")
    # Offered by the dashboard's own download route: a file made again never removes this one.
    (offer,) = [link for link in at.get("link_button") if link.proto.label.startswith("Download 1 job")]
    assert offer.proto.url == prepared.url and prepared.url.startswith("/downloads/")
    at.button(key="history-export").click().run()
    assert at.session_state[EXPORT_STATE_KEY].path != prepared.path and prepared.path.is_file()
    # Made for "completed": other filters drop it rather than offer a file that does not match them.
    at.multiselect(key="history-status").set_value([]).run()
    assert EXPORT_STATE_KEY not in at.session_state

"""The server's shared History table over a real job log: By column, Mine filter, reserved points,
the estimated-progress label and the export's records, all kept current from the records that change."""

from __future__ import annotations

import csv
import io

import pytest

from legnext_core import history
from legnext_core.history import ESTIMATE_SUFFIX, HistoryTable
from legnext_core.models import Job, JobKind, JobRequest
from legnext_core.sandbox.clock import ManualClock
from legnext_core.store import JobStore, ProgressUpdate
from tests.store_backends import BACKENDS, log_place

SANDBOX = {"api_mode": "sandbox", "api_base_url": "http://127.0.0.1:9/api", "estimated_points": 480}


def snapshot(job_id: str, status: str, **fields) -> Job:
    return Job.from_api({"job_id": job_id, "task_type": "video_diffusion", "status": status, **fields})


@pytest.fixture(params=BACKENDS)
def place(request, tmp_path):
    return log_place(request, tmp_path)


@pytest.fixture
def store(place):
    clock = ManualClock(1_790_000_000.0)
    with place.open(clock=clock.now) as store:
        store.clock = clock
        yield store


def submit(store: JobStore, prompt: str, who: str, job_id: str, *, frozen: int) -> str:
    store.clock.advance(1)
    record = store.add_intent(JobRequest(kind=JobKind.TEXT_VIDEO, prompt=prompt), submitted_by=who, **SANDBOX)
    store.record_accepted(record.local_id, snapshot(job_id, "pending", meta={"usage": {"frozen": frozen}}))
    return record.local_id


def test_mine_by_column_and_reserved_points_follow_the_log(store):
    table = HistoryTable(store)
    ana = submit(store, "a heron", "ana@team.test", "job-1", frozen=480)
    bo = submit(store, "a boat", "bo@team.test", "job-2", frozen=1536)
    everyone = table.page()
    assert list(everyone.frame["submitted_by"]) == ["bo@team.test", "ana@team.test"]
    assert everyone.reserved == 480 + 1536 and everyone.consumed == 0

    mine = table.page(submitted_by="ana@team.test")
    assert mine.local_ids == (ana,) and mine.matching == 1 and mine.reserved == 480

    # Bo's job finishes: its frozen points are spent, no longer reserved; the table follows the change
    # without being rebuilt.
    rebuilds = table.rebuilds
    store.apply_job(snapshot("job-2", "completed", meta={"usage": {"frozen": 1536, "consume": 1536}}))
    after = table.page()
    assert after.reserved == 480 and after.consumed == 1536
    assert after.counts == {"pending": 1, "completed": 1}
    assert table.rebuilds == rebuilds
    assert table.page(submitted_by="bo@team.test").local_ids == (bo,)
    assert table.page(submitted_by="nobody@team.test").matching == 0


def test_estimated_progress_is_labelled_until_legnext_reports_a_figure(store):
    table = HistoryTable(store)
    local_id = submit(store, "a lighthouse", "local", "job-1", frozen=480)
    store.apply_progress([ProgressUpdate("job-1", "processing", 35, estimated=True)])
    row = table.page().frame.iloc[0]
    assert row["status_label"] == "Processing" + ESTIMATE_SUFFIX and row["progress"] == 35
    store.apply_progress([ProgressUpdate("job-1", "processing", 30)])
    row = table.page().frame.iloc[0]
    assert row["status_label"] == "Processing" and row["progress"] == 30
    assert table.page().local_ids == (local_id,)


def test_the_export_reads_the_filtered_records_as_they_are_now(store):
    table = HistoryTable(store)
    submit(store, '=HYPERLINK("x")', "ana@team.test", "job-1", frozen=480)
    submit(store, "a boat", "bo@team.test", "job-2", frozen=480)
    store.apply_job(snapshot("job-1", "completed", output={"video_urls": ["https://cdn.legnext.ai/v/1.mp4"]}))

    records = table.records(submitted_by="ana@team.test")
    assert [r.job_id for r in records] == ["job-1"]
    rows = list(csv.DictReader(io.StringIO(history.to_csv(records).decode("utf-8-sig"))))
    assert [(r["job_id"], r["status"], r["submitted_by"]) for r in rows] == [
        ("job-1", "completed", "ana@team.test")
    ]
    assert rows[0]["prompt"] == '\'=HYPERLINK("x")' and rows[0]["output_1_url"].endswith("/1.mp4")
    assert [r.job_id for r in table.records(statuses=["pending"])] == ["job-2"]


def test_records_are_built_again_only_when_they_changed(store):
    table = HistoryTable(store)
    submit(store, "a heron", "ana@team.test", "job-1", frozen=480)
    submit(store, "a boat", "ana@team.test", "job-2", frozen=480)
    first = {r.job_id: r for r in table.records()}
    store.apply_job(snapshot("job-1", "completed", meta={"usage": {"frozen": 480, "consume": 480}}))
    second = {r.job_id: r for r in table.records()}
    assert second["job-1"].status == "completed" and second["job-1"].credits_consumed == 480
    assert second["job-2"] is first["job-2"]  # unchanged: not built again
    assert second["job-1"] is not first["job-1"]


def test_records_since_a_time_are_the_stores_own_newest_first(store):
    """What the Usage page and the spending check read: the same records as a scan of the log."""
    table = HistoryTable(store)
    for n in range(6):
        submit(store, f"shot {n}", "ana@team.test", f"job-{n}", frozen=480)
        store.clock.advance(100)
    since = store.clock.now() - 350
    from_table = table.records(since=since)
    assert [r.job_id for r in from_table] == ["job-5", "job-4", "job-3"]
    assert from_table == store.recent(None, since=since)


def test_jobs_written_by_another_process_or_replica_show_at_the_next_refresh(store, place):
    table = HistoryTable(store)
    mine = submit(store, "made here", "ana@example.com", "j-here", frozen=100)
    assert table.page().local_ids == (mine,)
    with place.open(clock=store.clock.now) as other:
        other.clock = store.clock
        theirs = submit(other, "made in the other replica", "bo@example.com", "j-there", frozen=200)
        assert table.page().local_ids == (theirs, mine)
        other.apply_job(snapshot("j-here", "processing", progress=40))
    page = table.page()
    assert page.counts == {"pending": 1, "processing": 1}
    assert page.frame["prompt"].tolist() == ["made in the other replica", "made here"]
    # Only the two changed records were read again, not the whole table.
    assert table.rebuilds == 1


def test_a_change_the_table_does_not_show_keeps_the_answers_already_given(store):
    table = HistoryTable(store)
    first = submit(store, "a heron", "ana@team.test", "job-1", frozen=480)
    submit(store, "a boat", "bo@team.test", "job-2", frozen=480)
    shown = table.page()
    computed = table.computed

    # A poll's bookkeeping (its time and count) changes the log but no cell of the table.
    store.update_tracking(first, poll_count=7, last_poll_at=store.clock.now())
    assert table.page() is shown and table.computed == computed

    # Progress is shown: the next refresh answers from the changed row.
    store.apply_job(snapshot("job-1", "processing", progress=40))
    after = table.page()
    assert after is not shown and table.computed == computed + 1
    assert after.counts == {"pending": 1, "processing": 1}
    assert after.frame["progress"].iloc[1] == 40.0


def test_search_finds_any_part_of_the_whole_prompt_whatever_its_case(store):
    table = HistoryTable(store)
    long_prompt = "A Heron " + "over still water " * 10 + "at the Große Straße"
    heron = submit(store, long_prompt, "ana@team.test", "Job-Upper-1", frozen=480)
    submit(store, "a boat", "ana@team.test", "job-2", frozen=480)
    shown = table.page().frame
    assert shown["prompt"].iloc[1] == history.shorten(long_prompt) and len(shown["prompt"].iloc[1]) == 80
    # Past the 80 characters shown, matched casefolded (ß is ss), and by the job id in any case.
    assert table.page(text="GROSSE STRASSE").local_ids == (heron,)
    assert table.page(text="a heron over").local_ids == (heron,)
    assert table.page(text="job-upper").local_ids == (heron,)
    assert table.page(text="a heron at sea").matching == 0


def test_a_search_follows_the_rows_that_change_and_the_rows_added(store):
    table = HistoryTable(store)
    heron = submit(store, "A heron at dawn", "ana@team.test", "job-1", frozen=480)
    submit(store, "a boat", "ana@team.test", "job-2", frozen=480)
    assert table.page(text="HERON").local_ids == (heron,)
    rebuilds = table.rebuilds
    store.apply_job(snapshot("job-1", "completed", meta={"usage": {"frozen": 480, "consume": 480}}))
    later = submit(store, "another heron", "ana@team.test", "job-3", frozen=480)
    found = table.page(text="heron")
    assert found.local_ids == (later, heron) and found.counts == {"pending": 1, "completed": 1}
    assert table.page(text="job-2").matching == 1 and table.page(text="job-3").local_ids == (later,)
    assert table.rebuilds == rebuilds  # the matches kept for "heron" were brought up to date row by row

"""The job log's memory: records held as their JSON bytes, parsed on access, and read one per line."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from benchmarks.job_records import make_record
from legnext_core.history import HistoryTable
from legnext_core.joblog import JournalStorage, RecordTable
from legnext_core.joblog.records_table import PARSED_KEPT
from legnext_core.store import JobStore

JOBS = 1_500
REPO_ROOT = Path(__file__).resolve().parent.parent


def realistic_log(path, jobs: int = JOBS) -> tuple[dict, int]:
    """An older one-line log of realistic records (~2 KB of JSON each); the records and the JSON size."""
    rng = random.Random(jobs)
    now = time.time()
    records = {r["local_id"]: r for r in (make_record(rng, now) for _ in range(jobs))}
    body = json.dumps({"jobs": records}).encode()
    path.write_bytes(body)
    return records, len(body)


def lined_log(path, jobs: int = JOBS) -> tuple[dict, int]:
    """:func:`realistic_log` rewritten as the dashboard writes it: one record per line."""
    records, json_bytes = realistic_log(path, jobs)
    storage = JournalStorage(path, background_compaction=False)
    assert storage.compact()
    storage.close()
    return records, json_bytes


def traced_bytes_of(action):
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = action()
        return kept, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_a_loaded_log_keeps_its_records_in_the_snapshot_not_in_memory(tmp_path):
    log = tmp_path / "jobs.json"
    records, json_bytes = lined_log(log)
    kept, traced = traced_bytes_of(lambda: JournalStorage(log))
    table = kept.tables()["jobs"]
    assert len(table) == JOBS and table.in_memory_count() == 0
    # Parsed into dicts the records took 2x their JSON (4.1 KB for 2.1 KB); as bytes, about 1x; left
    # in the snapshot, an id and a place each (~0.1 KB).
    assert traced < 0.1 * json_bytes, (traced / JOBS, json_bytes / JOBS)
    assert table == records


def test_the_store_and_the_history_table_together_stay_well_under_twice_the_json(tmp_path):
    log = tmp_path / "jobs.json"
    _, json_bytes = lined_log(log)

    def open_all():
        store = JobStore(log)
        table = HistoryTable(store)
        table.sync()
        return store, table

    (store, table), traced = traced_bytes_of(open_all)
    assert table.page().matching == JOBS
    # The log's bytes, the store's indexes, its built unfinished records (17 % of these records, with
    # strings of their own but one per repeated value), the table's columns: 1.53x. With the records
    # held parsed it was 2.2x; with a shortened and a casefolded prompt in the table, and its own
    # copies of the local ids and repeated values, 1.75x.
    assert traced < 1.6 * json_bytes, (traced / JOBS, json_bytes / JOBS)
    store.close()


def test_parsed_records_kept_are_bounded_however_many_are_read(tmp_path):
    log = tmp_path / "jobs.json"
    realistic_log(log, PARSED_KEPT + 500)
    with JobStore(log) as store:
        stored = store.stored()
        for local_id in list(stored):
            assert stored[local_id]["local_id"] == local_id
        assert stored.parsed_count == PARSED_KEPT
        assert len(store.recent(None)) == PARSED_KEPT + 500
        assert stored.parsed_count == PARSED_KEPT


def test_an_unchanged_record_keeps_its_stamp_and_a_changed_one_gets_a_new_one(tmp_path):
    storage = JournalStorage(tmp_path / "jobs.json", background_compaction=False)
    with storage.writing():
        storage.commit({"jobs": {"a": {"n": 1}, "b": {"n": 2}, "c": {"n": 0}}})
    storage.compact()
    with storage.writing():
        storage.commit({"jobs": {"c": {"n": 5}}})
    table = storage.tables()["jobs"]
    a, b, c = table.stamp("a"), table.stamp("b"), table.stamp("c")
    assert isinstance(a, int) and isinstance(c, bytes)  # in the snapshot; changed since
    with storage.writing():
        storage.commit({"jobs": {"a": {"n": 3}}})
    assert table.stamp("b") is b and table.stamp("c") is c  # what caches of built records rely on
    assert table.stamp("a") is not a and table["a"] == {"n": 3}


def test_a_compaction_moves_changed_records_out_of_memory_and_a_reader_of_the_old_state_reads_on(tmp_path):
    log = tmp_path / "jobs.json"
    records, _ = lined_log(log, 300)
    storage = JournalStorage(log, background_compaction=False)
    table = storage.tables()["jobs"]
    changed = {local_id: {**records[local_id], "status": "failed"} for local_id in list(records)[:40]}
    with storage.writing():
        storage.commit({"jobs": changed})
    records.update(changed)
    assert table.in_memory_count() == 40
    before = table.copy()  # a reader half-way through a scan, say
    first = next(iter(records))
    old_stamp = table.stamp(first)
    assert table[first] == records[first]  # parsed and kept by the table's cache
    assert storage.compact()
    assert table.in_memory_count() == 0 and table == records
    assert table.stamp(first) is not old_stamp  # a new place in the new snapshot, once
    assert table.parsed_count >= 1 and table[first] == records[first]
    assert before == records  # the replaced snapshot stays readable for whoever holds it
    assert JournalStorage(log).tables()["jobs"] == records


def test_a_store_reads_every_record_after_another_process_replaced_its_snapshot(tmp_path):
    log = tmp_path / "jobs.json"
    records, _ = lined_log(log, 200)
    reader = JournalStorage(log, background_compaction=False)
    assert reader.tables()["jobs"] == records
    # A second process (its own descriptors and locks) changes records and compacts, twice.
    script = (
        "import sys, orjson\n"
        "from legnext_core.joblog import JournalStorage\n"
        "s = JournalStorage(sys.argv[1], background_compaction=False)\n"
        "jobs = s.tables()['jobs']\n"
        "for n, local_id in enumerate(list(jobs)[: int(sys.argv[2])]):\n"
        "    with s.writing():\n"
        "        s.commit({'jobs': {local_id: {**jobs[local_id], 'prompt': 'changed %d' % n}}})\n"
        "assert s.compact()\n"
    )
    for count in (30, 60):
        subprocess.run([sys.executable, "-c", script, str(log), str(count)], check=True, cwd=REPO_ROOT)
        for n, local_id in enumerate(list(records)[:count]):
            records[local_id] = {**records[local_id], "prompt": f"changed {n}"}
        assert reader.tables()["jobs"] == records
    assert dict(reader.tables()["jobs"].items()) == records


def test_compactions_leave_no_old_snapshot_open(tmp_path):
    log = tmp_path / "jobs.json"
    storage = JournalStorage(log, background_compaction=False)
    for n in range(5):
        with storage.writing():
            storage.commit({"jobs": {f"r{n}": {"n": n}}})
        assert storage.compact()
    gc.collect()
    held = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own descriptor, closed by now
            held.append(os.readlink(f"/proc/self/fd/{fd}"))
    snapshots = [target for target in held if target.startswith(str(tmp_path)) and "journal" not in target]
    assert len(snapshots) == 1 and not snapshots[0].endswith("(deleted)"), snapshots


def test_a_table_refuses_a_move_that_would_leave_records_in_the_old_snapshot(tmp_path):
    log = tmp_path / "jobs.json"
    storage = JournalStorage(log, background_compaction=False)
    with storage.writing():
        storage.commit({"jobs": {"a": {"n": 1}, "b": {"n": 2}}})
    assert storage.compact()
    table = JournalStorage(log).tables()["jobs"]
    file, a = table.file, table.stamp("a")
    assert file is not None and not table.relocate(file, [("a", a, 123)])
    assert table.stamp("a") is a and table == {"a": {"n": 1}, "b": {"n": 2}}


def test_a_snapshot_is_one_record_per_line_and_still_the_same_json(tmp_path):
    log = tmp_path / "jobs.json"
    storage = JournalStorage(log, background_compaction=False)
    odd = 'quote " and colon ": in an id'
    with storage.writing():
        storage.commit({"jobs": {"a": {"n": 1, "text": "two\nlines"}, odd: {"n": 2}}})
    assert storage.compact()
    storage.close()
    body = log.read_bytes()
    # The head, the table's opening, one line per record, the table's end, the end.
    assert body.count(b"\n") == 5
    data = json.loads(body)
    assert data["jobs"] == {"a": {"n": 1, "text": "two\nlines"}, odd: {"n": 2}}
    reopened = JournalStorage(log)
    assert reopened._snapshot_lined
    assert dict(reopened.tables()["jobs"].items()) == data["jobs"]


def test_an_older_one_line_snapshot_is_rewritten_one_record_per_line_by_a_compaction(tmp_path):
    log = tmp_path / "jobs.json"
    records, _ = realistic_log(log, 50)
    storage = JournalStorage(log, background_compaction=False)
    assert not storage._snapshot_lined
    assert storage.compact()  # with no journal to fold: the rewrite alone
    assert storage._snapshot_lined and log.read_bytes().count(b"\n") == 50 + 3
    assert dict(JournalStorage(log).tables()["jobs"].items()) == records


def test_a_damaged_record_in_a_lined_snapshot_moves_the_snapshot_aside(tmp_path):
    log = tmp_path / "jobs.json"
    storage = JournalStorage(log, background_compaction=False)
    with storage.writing():
        storage.commit({"jobs": {"a": {"n": 1}, "b": {"n": 2}}})
    assert storage.compact()
    storage.close()
    log.write_bytes(log.read_bytes().replace(b'{"n":2}', b'{"n":2'))
    reopened = JournalStorage(log)
    assert reopened.tables() == {}
    assert reopened.recovered and reopened.recovered[0].name.startswith("jobs.json.corrupt-")


def test_a_record_table_reads_like_the_dict_it_replaces():
    table = RecordTable.of_records({"a": {"n": 1}, "b": {"n": 2}})
    assert list(table) == ["a", "b"] and list(reversed(table)) == ["b", "a"]
    assert table == {"a": {"n": 1}, "b": {"n": 2}}
    assert table.get("c") is None and "a" in table and len(table) == 2

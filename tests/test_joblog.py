"""The journaled storage: torn lines, damage, compaction, catch-up between processes, TinyDB's contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tinydb import TinyDB
from tinydb.table import Document, Table

from legnext_core.joblog import JournalStorage
from legnext_core.joblog.journal import encode_line, scan_lines
from tests.joblog_files import journal_lines, read_log

REPO_ROOT = Path(__file__).resolve().parent.parent


def put(storage: JournalStorage, doc_id: str, **fields) -> None:
    with storage.writing():
        storage.commit({"jobs": {doc_id: fields}})


def test_a_change_appends_one_line_and_leaves_the_snapshot_alone(tmp_path):
    log = tmp_path / "jobs.json"
    storage = JournalStorage(log)
    put(storage, "a", n=1)
    put(storage, "b", n=2)
    put(storage, "a", n=3)
    assert not log.exists()  # nothing was compacted yet
    lines, torn = journal_lines(tmp_path / "jobs.json.journal")
    assert [line[:3] for line in lines] == [
        [0, None, None],
        [1, "jobs", "a"],
        [2, "jobs", "b"],
        [3, "jobs", "a"],
    ]
    assert torn == 0
    assert read_log(log) == {"a": {"n": 3}, "b": {"n": 2}}


def test_a_torn_last_line_is_ignored_and_cut_off_by_the_next_write(tmp_path):
    log = tmp_path / "jobs.json"
    storage = JournalStorage(log)
    put(storage, "a", n=1)
    storage.close()
    journal = tmp_path / "jobs.json.journal"
    whole = encode_line(2, "jobs", "b", {"n": 2})
    with open(journal, "ab") as handle:
        handle.write(whole[: len(whole) // 2])  # a writer killed mid-append
    reader = JournalStorage(log)
    assert reader.tables()["jobs"] == {"a": {"n": 1}}
    put(reader, "c", n=3)
    lines, torn = journal_lines(journal)
    assert torn == 0 and [line[2] for line in lines[1:]] == ["a", "c"]
    assert JournalStorage(log).tables()["jobs"] == {"a": {"n": 1}, "c": {"n": 3}}


def test_a_line_failing_its_checksum_at_the_end_is_a_torn_line_too(tmp_path):
    log = tmp_path / "jobs.json"
    put(JournalStorage(log), "a", n=1)
    bad = bytearray(encode_line(2, "jobs", "b", {"n": 2}))
    bad[-3] ^= 0x01
    with open(tmp_path / "jobs.json.journal", "ab") as handle:
        handle.write(bytes(bad))
    assert JournalStorage(log).tables()["jobs"] == {"a": {"n": 1}}


def test_a_journal_damaged_in_the_middle_is_moved_aside_and_the_snapshot_kept(tmp_path):
    log = tmp_path / "jobs.json"
    log.write_text(json.dumps({"jobs": {"old": {"n": 0}}}))
    storage = JournalStorage(log)
    put(storage, "a", n=1)
    put(storage, "b", n=2)
    storage.close()
    journal = tmp_path / "jobs.json.journal"
    data = bytearray(journal.read_bytes())
    data[data.index(b'"a"') + 1] = ord("z")  # a flipped byte inside a line that has one after it
    journal.write_bytes(bytes(data))
    reopened = JournalStorage(log)
    assert reopened.tables()["jobs"] == {"old": {"n": 0}}
    [moved] = reopened.recovered
    assert moved.name.startswith("jobs.json.journal.corrupt-") and moved.read_bytes() == bytes(data)
    put(reopened, "c", n=3)
    assert read_log(log) == {"old": {"n": 0}, "c": {"n": 3}}


def test_an_unreadable_snapshot_moves_both_files_aside(tmp_path):
    log = tmp_path / "jobs.json"
    put(JournalStorage(log), "a", n=1)
    log.write_bytes(b'{"jobs": {"x": ')
    storage = JournalStorage(log)
    assert storage.tables() == {}
    moved = sorted(p.name.split(".corrupt-")[0] for p in storage.recovered)
    assert moved == ["jobs.json", "jobs.json.journal"]


def test_compaction_folds_the_journal_into_a_new_snapshot(tmp_path):
    log = tmp_path / "jobs.json"
    storage = JournalStorage(log, compact_min_bytes=1 << 30)
    for number in range(30):
        put(storage, f"id{number % 10}", n=number, text="x" * 100)
    before = read_log(log)
    assert storage.compact() is True
    snapshot = json.loads(log.read_bytes())
    assert snapshot["_journal_seq"] == 30 and snapshot["jobs"] == before
    lines, _ = journal_lines(tmp_path / "jobs.json.journal")
    assert lines == [[30, None, None, None]]
    put(storage, "id0", n=99)
    assert JournalStorage(log).tables()["jobs"]["id0"] == {"n": 99}


def test_compaction_starts_on_its_own_once_the_journal_outgrows_its_share(tmp_path):
    log = tmp_path / "jobs.json"
    # Twice: on a fresh log, and again once a compaction has grown the snapshot. How many compactions a
    # stretch of writes gets depends on how fast the background thread runs, so each stretch is checked
    # on its own: close() waits for a compaction under way.
    for stretch in range(2):
        storage = JournalStorage(log, compact_share=0.5, compact_min_bytes=4_000)
        for number in range(100 * stretch, 100 * (stretch + 1)):
            put(storage, f"id{number % 20}", n=number, text="y" * 200)
        storage.close()
        assert storage.compactions >= 1, f"stretch {stretch + 1} was never compacted"
    assert json.loads(log.read_bytes())["_journal_seq"] > 0
    assert JournalStorage(log).tables()["jobs"]["id19"]["n"] == 199


def test_another_store_catches_up_by_reading_only_the_new_lines_even_across_a_compaction(tmp_path):
    log = tmp_path / "jobs.json"
    writer = JournalStorage(log, compact_min_bytes=1 << 30)
    reader = JournalStorage(log)
    put(writer, "a", n=1)
    assert reader.tables()["jobs"] == {"a": {"n": 1}}
    version = reader.changes_since(0).version
    put(writer, "b", n=2)
    put(writer, "a", n=3)
    writer.compact()
    put(writer, "c", n=4)
    assert reader.tables()["jobs"] == {"a": {"n": 3}, "b": {"n": 2}, "c": {"n": 4}}
    assert reader.reloads == 1  # the first read only: no file was read again from scratch
    assert reader.changes_since(version).ids == (("jobs", "b"), ("jobs", "a"), ("jobs", "c"))


def _other_process(log: Path, script: str) -> None:
    prelude = "import sys; from legnext_core.joblog import JournalStorage; s = JournalStorage(sys.argv[1])\n"
    subprocess.run([sys.executable, "-c", prelude + script, str(log)], check=True, cwd=REPO_ROOT, timeout=120)


@pytest.mark.parametrize(
    ("compacts_when", "reloads"),
    [
        # The old journal is read to its end, the new one from there: no reload.
        pytest.param("n == 30", 1, id="after-one-compaction-reads-on"),
        # Several journals came and went meanwhile: the log is read again, once.
        pytest.param("n % 10 == 0", 2, id="after-several-compactions-reads-again"),
    ],
)
def test_a_process_catches_up_with_another_process_that_wrote_and_compacted(tmp_path, compacts_when, reloads):
    log = tmp_path / "jobs.json"
    reader = JournalStorage(log)
    put(reader, "mine", n=0)
    _other_process(
        log,
        "for n in range(40):\n"
        "    with s.writing(): s.commit({'jobs': {f'p{n % 7}': {'n': n}}})\n"
        f"    if {compacts_when}: s.compact()\n",
    )
    jobs = reader.tables()["jobs"]
    assert jobs["mine"] == {"n": 0} and jobs["p4"]["n"] == 39 and len(jobs) == 8
    assert reader.reloads == reloads


def test_a_snapshot_written_by_another_program_is_read_again(tmp_path):
    log = tmp_path / "jobs.json"
    storage = JournalStorage(log)
    put(storage, "a", n=1)
    log.write_text(json.dumps({"jobs": {"b": {"n": 2}}}) + " " * 10)
    assert storage.tables()["jobs"] == {"a": {"n": 1}, "b": {"n": 2}}


def test_plain_tinydb_reads_and_writes_through_the_storage(tmp_path):
    class StrIdTable(Table):
        document_id_class = str

    class StrIdDB(TinyDB):
        table_class = StrIdTable

    log = tmp_path / "jobs.json"
    with StrIdDB(log, storage=JournalStorage) as db:
        jobs = db.table("jobs")
        jobs.insert(Document({"status": "queued"}, doc_id="a"))
        jobs.insert(Document({"status": "queued"}, doc_id="b"))
        jobs.update({"status": "pending"}, doc_ids=["a"])
        jobs.remove(doc_ids=["b"])
    assert read_log(log) == {"a": {"status": "pending"}}
    lines, _ = journal_lines(tmp_path / "jobs.json.journal")
    assert len(lines) == 1 + 4  # header, then one line per changed document, never the whole table


def test_line_scanner_tells_a_cut_end_from_a_damaged_middle():
    first, second = encode_line(1, "t", "a", {}), encode_line(2, "t", "b", {})
    assert scan_lines(first + second[:5]).damaged is False
    assert scan_lines(first + b"garbage\n" + second).damaged is True
    assert scan_lines(first + second).valid_end == len(first + second)

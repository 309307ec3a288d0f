"""The job log's two storages, for contract tests that must hold on both.

``place`` (a fixture in the test modules that use this) is a :class:`TinyLog` or a :class:`PostgresLogPlace`:
``open()`` opens a :class:`JobStore` on it (as often as a test needs: each one is like a process of its
own), ``saved()`` reads what is persisted, bypassing every store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from legnext_core.store import JobStore
from tests.joblog_files import read_log

BACKENDS = ["tinydb", "postgresql"]


class TinyLog:
    name = "tinydb"

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self, **options: Any) -> JobStore:
        return JobStore(self.path, **options)

    def saved(self) -> dict[str, dict[str, Any]]:
        return read_log(self.path)


class PostgresLogPlace:
    name = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url

    def open(self, **options: Any) -> JobStore:
        from legnext_core.joblog.pg_log import PostgresLog

        return JobStore(storage=PostgresLog(self.url), **options)

    def saved(self) -> dict[str, dict[str, Any]]:
        import psycopg

        with psycopg.connect(self.url) as conn:
            rows = conn.execute("SELECT record FROM legnext_jobs ORDER BY position").fetchall()
        return {record["local_id"]: record for (record,) in rows}


def log_place(request: pytest.FixtureRequest, tmp_path: Path) -> TinyLog | PostgresLogPlace:
    """The place of the ``request.param`` storage (the PostgreSQL one on a fresh database)."""
    if request.param == "tinydb":
        return TinyLog(tmp_path / "jobs.json")
    return PostgresLogPlace(request.getfixturevalue("postgres_url"))

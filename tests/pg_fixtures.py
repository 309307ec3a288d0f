"""Fixtures for the PostgreSQL job log: one throw-away cluster per test run, a fresh database per test.

- ``postgres_cluster``: a started :class:`scripts.throwaway_postgres.ThrowawayCluster` (session-wide,
  fsync off). Tests skip with the install line when PostgreSQL is missing, except where
  ``LEGNEXT_REQUIRE_POSTGRES=1`` (CI), where they fail.
- ``postgres_url``: the URL of an empty database of its own, dropped after the test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from scripts.throwaway_postgres import ThrowawayCluster, missing_reason


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[ThrowawayCluster]:
    reason = missing_reason()
    if reason is not None:
        if os.environ.get("LEGNEXT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL tests are required here but cannot run: {reason}", pytrace=False)
        pytest.skip(reason)
    cluster = ThrowawayCluster(durable=False).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: ThrowawayCluster) -> Iterator[str]:
    import psycopg

    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_cluster.url(name)
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

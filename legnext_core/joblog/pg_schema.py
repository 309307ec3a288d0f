"""The PostgreSQL job log's schema: created and upgraded by the app when it starts.

Every replica calls :func:`ensure_schema` on start. Migrations are numbered, each runs once in one
transaction (PostgreSQL's DDL is transactional: a failed migration leaves the previous version whole),
and a transaction-level advisory lock makes replicas starting together take turns: the first migrates,
the others then find the work done. A database migrated by a newer release is refused rather than
written with rules it no longer follows.

The table ``legnext_jobs`` holds one row per job record: the whole record as JSONB (the on-disk keys of
the design notes) and, derived from it by a trigger so they can never disagree with it, the columns
queries and rules need: ``local_id``, ``job_id``, ``status``, ``status_rank``, ``submitted_at``,
``updated_at``, ``submitted_by``, ``callback_token``. The same trigger

* enforces the job log's first rule in the database itself: a status never moves to a lower rank, and a
  terminal status never changes (except the one move back the log allows: a line Legnext certainly did
  not create, with no job id, from ``submitting`` or ``rejected`` back to ``queued``); a record never
  changes its ``local_id`` nor, once it has one, its ``job_id``;
* stamps every insert and update with the next ``seq``, so a replica reads "what changed since N"
  with an index scan. Writers take a transaction-level advisory lock before drawing the number and
  hold it to commit, so numbers become visible in the order they were drawn: a reader that has seen
  ``seq`` N never later finds a smaller one appear. (Writes are one short transaction per record; a
  dashboard makes a few per second, far below what one lock serialises.)

Status ranks come from the Python definition (:data:`legnext_core.store.STATUS_RANK`) and are copied
into ``legnext_job_status`` on every start, so the rule is defined once and enforced in both places.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from legnext_core.records import STATUS_RANK, TERMINAL_STATUSES

__all__ = [
    "SCHEMA_VERSION",
    "SEQ_LOCK_KEY",
    "SPENDING_LOCK_KEY",
    "WRITE_LOCK_KEY",
    "MIGRATION_LOCK_KEY",
    "SchemaTooNewError",
    "FORWARD_ONLY_CONSTRAINT",
    "IMMUTABLE_IDS_CONSTRAINT",
    "KNOWN_STATUS_CONSTRAINT",
    "ensure_schema",
    "schema_version",
]

# Advisory lock keys (one 64-bit number space per database, shared with every other user of it):
# "LEGN" in the high half, a purpose in the low half.
MIGRATION_LOCK_KEY = 0x4C45474E_00000001
SEQ_LOCK_KEY = 0x4C45474E_00000002
#: Held (to commit) by a job store's write transaction: its read-transition-write is one step for every
#: replica, as the lock file makes it for every process on one TinyDB log.
WRITE_LOCK_KEY = 0x4C45474E_00000003
#: Held while a submission is checked against the spending caps and its intent recorded.
SPENDING_LOCK_KEY = 0x4C45474E_00000004

#: The name a refused backwards move reports as its constraint (``psycopg`` ``diag.constraint_name``).
FORWARD_ONLY_CONSTRAINT = "legnext_jobs_status_forward_only"
IMMUTABLE_IDS_CONSTRAINT = "legnext_jobs_ids_immutable"
KNOWN_STATUS_CONSTRAINT = "legnext_jobs_status_known"


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer release of the dashboard than this one."""


_MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        f"""
        CREATE TABLE legnext_job_status (
            status   text PRIMARY KEY,
            rank     smallint NOT NULL,
            terminal boolean NOT NULL
        );

        CREATE SEQUENCE legnext_jobs_seq AS bigint;

        CREATE TABLE legnext_jobs (
            local_id       text PRIMARY KEY,
            job_id         text,
            status         text NOT NULL,
            status_rank    smallint NOT NULL,
            submitted_at   double precision,
            updated_at     double precision,
            submitted_by   text,
            callback_token text,
            record         jsonb NOT NULL CHECK (jsonb_typeof(record) = 'object'),
            seq            bigint NOT NULL
        );
        CREATE UNIQUE INDEX legnext_jobs_job_id ON legnext_jobs (job_id) WHERE job_id IS NOT NULL;
        CREATE UNIQUE INDEX legnext_jobs_callback_token ON legnext_jobs (callback_token)
            WHERE callback_token IS NOT NULL;
        CREATE UNIQUE INDEX legnext_jobs_seq_index ON legnext_jobs (seq);
        CREATE INDEX legnext_jobs_status ON legnext_jobs (status);
        CREATE INDEX legnext_jobs_submitted_at ON legnext_jobs (submitted_at);
        CREATE INDEX legnext_jobs_submitted_by ON legnext_jobs (submitted_by);

        CREATE FUNCTION legnext_jobs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            new_rank smallint;
            old_rank smallint;
            old_terminal boolean;
        BEGIN
            -- The columns are the record's own fields: nobody can make them disagree.
            NEW.local_id       := NEW.record ->> 'local_id';
            NEW.job_id         := NEW.record ->> 'job_id';
            NEW.status         := NEW.record ->> 'status';
            NEW.submitted_at   := (NEW.record ->> 'submitted_at')::double precision;
            NEW.updated_at     := (NEW.record ->> 'updated_at')::double precision;
            NEW.submitted_by   := NEW.record ->> 'submitted_by';
            NEW.callback_token := NEW.record ->> 'callback_token';

            SELECT rank INTO new_rank FROM legnext_job_status WHERE status = NEW.status;
            IF new_rank IS NULL THEN
                RAISE EXCEPTION 'a job record needs a known status, not %', coalesce(NEW.status, 'none')
                    USING ERRCODE = 'check_violation', CONSTRAINT = '{KNOWN_STATUS_CONSTRAINT}';
            END IF;
            NEW.status_rank := new_rank;

            IF TG_OP = 'UPDATE' THEN
                IF NEW.local_id IS DISTINCT FROM OLD.local_id
                   OR (OLD.job_id IS NOT NULL AND NEW.job_id IS DISTINCT FROM OLD.job_id) THEN
                    RAISE EXCEPTION 'record % cannot change its local_id or job_id', OLD.local_id
                        USING ERRCODE = 'check_violation', CONSTRAINT = '{IMMUTABLE_IDS_CONSTRAINT}';
                END IF;
                IF NEW.status <> OLD.status
                   -- A line Legnext certainly did not create goes back to the queue (a 429).
                   AND NOT (NEW.status = 'queued' AND OLD.status IN ('submitting', 'rejected')
                            AND OLD.job_id IS NULL AND NEW.job_id IS NULL) THEN
                    SELECT rank, terminal INTO old_rank, old_terminal
                        FROM legnext_job_status WHERE status = OLD.status;
                    IF old_terminal OR new_rank < old_rank THEN
                        RAISE EXCEPTION 'job record % cannot go from % back to %',
                            OLD.local_id, OLD.status, NEW.status
                            USING ERRCODE = 'check_violation', CONSTRAINT = '{FORWARD_ONLY_CONSTRAINT}';
                    END IF;
                END IF;
            END IF;

            -- Held to commit, so sequence numbers become visible in the order they were drawn.
            PERFORM pg_advisory_xact_lock({SEQ_LOCK_KEY});
            NEW.seq := nextval('legnext_jobs_seq');
            RETURN NEW;
        END
        $$;

        CREATE TRIGGER legnext_jobs_guard BEFORE INSERT OR UPDATE ON legnext_jobs
            FOR EACH ROW EXECUTE FUNCTION legnext_jobs_guard();
        """,  # noqa: S608 - only this module's constants are put in
    ),
    (
        2,
        # ``position``: a record's place in the log (the seq of its insert), kept for life, so a replica
        # reading the log from scratch lists the records in the order they were added, as the TinyDB log
        # does (the Gallery pages by it). Triggers run in name order: ``guard`` has drawn ``seq`` first.
        """
        ALTER TABLE legnext_jobs ADD COLUMN position bigint;
        ALTER TABLE legnext_jobs DISABLE TRIGGER legnext_jobs_guard;
        UPDATE legnext_jobs SET position = seq;
        ALTER TABLE legnext_jobs ENABLE TRIGGER legnext_jobs_guard;
        ALTER TABLE legnext_jobs ALTER COLUMN position SET NOT NULL;
        CREATE INDEX legnext_jobs_position ON legnext_jobs (position);

        CREATE FUNCTION legnext_jobs_keep_position() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                NEW.position := NEW.seq;
            ELSE
                NEW.position := OLD.position;
            END IF;
            RETURN NEW;
        END
        $$;

        CREATE TRIGGER legnext_jobs_position BEFORE INSERT OR UPDATE ON legnext_jobs
            FOR EACH ROW EXECUTE FUNCTION legnext_jobs_keep_position();
        """,
    ),
)

#: The version this release writes.
SCHEMA_VERSION = _MIGRATIONS[-1][0]


def schema_version(conn: Any) -> int:
    """The version the database is at (0 for an empty database)."""
    exists = conn.execute("SELECT to_regclass('legnext_schema_version') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM legnext_schema_version").fetchone()[0]


def ensure_schema(
    conn: Any,
    *,
    status_ranks: Mapping[str, int] = STATUS_RANK,
    terminal_statuses: Iterable[str] = TERMINAL_STATUSES,
) -> int:
    """Create or upgrade the schema (idempotent, safe to run from many replicas at once); its version.

    ``conn`` is a psycopg connection not inside a transaction; its autocommit setting is left as it was.
    """
    terminal = frozenset(terminal_statuses)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK_KEY])
        conn.execute(
            "CREATE TABLE IF NOT EXISTS legnext_schema_version ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = schema_version(conn)
        if current > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"the job log database is at schema version {current}, newer than this release's "
                f"{SCHEMA_VERSION}: upgrade the dashboard"
            )
        for version, script in _MIGRATIONS:
            if version > current:
                conn.execute(script)
                conn.execute("INSERT INTO legnext_schema_version (version) VALUES (%s)", [version])
        # Writes only rows that differ, so a normal start changes nothing.
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO legnext_job_status AS s (status, rank, terminal) VALUES (%s, %s, %s)"
                " ON CONFLICT (status) DO UPDATE SET rank = EXCLUDED.rank, terminal = EXCLUDED.terminal"
                " WHERE (s.rank, s.terminal) IS DISTINCT FROM (EXCLUDED.rank, EXCLUDED.terminal)",
                [(status, rank, status in terminal) for status, rank in status_ranks.items()],
            )
    return SCHEMA_VERSION

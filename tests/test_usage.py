"""The Usage page's figures and the balance kept over time."""

from __future__ import annotations

from legnext_core import usage
from legnext_core.balance_log import KEEP_EVERY_SECONDS, BalanceLog
from legnext_core.models import JobKind
from legnext_core.records import JobRecord

DAY = 86_400.0
T0 = 1_790_000_000.0  # a fixed UTC moment


def rec(who: str, kind: str, status: str, points: int, day: int) -> JobRecord:
    return JobRecord.from_dict(
        {"local_id": f"{who}-{kind}-{day}", "submitted_by": who, "kind": kind, "status": status,
         "credits_consumed": points, "credits_frozen": points, "estimated_points": points,
         "submitted_at": T0 + day * DAY}
    )  # fmt: skip


RECORDS = [
    rec("ana@team.test", "text_video", "completed", 480, 0),
    rec("ana@team.test", "upscale", "completed", 480, 0),
    rec("bo@team.test", "text_video", "failed", 0, 0),
    rec("bo@team.test", "extend", "completed", 1536, 1),
    rec("ana@team.test", "text_video", "rejected", 480, 1),
    JobRecord.from_dict(
        {
            "local_id": "img",
            "kind": "image",
            "status": "processing",
            "credits_frozen": 80,
            "submitted_at": T0 + DAY,
        }
    ),
]


def test_points_per_day_by_person_and_by_kind() -> None:
    by_person = usage.points_per_day(RECORDS, by="person")
    assert list(by_person.columns) == ["ana@team.test", "bo@team.test", "local"]
    assert by_person.iloc[0].tolist() == [960, 0, 0]
    assert by_person.iloc[1].tolist() == [0, 1536, 80], "rejected costs nothing, running its frozen"
    by_kind = usage.points_per_day(RECORDS, by="kind")
    assert by_kind.sum().to_dict() == {
        JobKind.EXTEND.label: 1536,
        JobKind.IMAGE.label: 80,
        JobKind.TEXT_VIDEO.label: 480,
        JobKind.UPSCALE.label: 480,
    }
    assert usage.points_per_day([], by="kind").empty


def test_jobs_and_failure_rate_per_person() -> None:
    people = usage.per_person(RECORDS).set_index("person")
    assert people.loc["ana@team.test", "jobs"] == 3 and people.loc["ana@team.test", "failed"] == 1
    assert abs(people.loc["ana@team.test", "failure_rate"] - 1 / 3) < 1e-9
    assert people.loc["bo@team.test", "failure_rate"] == 0.5
    assert people.loc["local", "failure_rate"] is None or people["failure_rate"].isna()["local"]
    assert list(people.index)[0] == "bo@team.test", "most points first"


def test_the_balance_log_keeps_changes_and_an_hourly_reading(tmp_path) -> None:
    log = BalanceLog(tmp_path / "balance.jsonl")
    assert log.record(T0, 50_000, 50.0)
    assert not log.record(T0 + 30, 50_000, 50.0), "the same figure 30 s later says nothing new"
    assert log.record(T0 + 60, 49_520, 49.52)
    assert log.record(T0 + 60 + KEEP_EVERY_SECONDS, 49_520, 49.52)
    # A second process (or a restart) appends to the same file.
    assert not BalanceLog(tmp_path / "balance.jsonl").record(T0 + 61 + KEEP_EVERY_SECONDS, 49_520, 49.52)
    (tmp_path / "balance.jsonl").open("a").write('{"torn": \n')
    assert [s.points for s in log.samples()] == [50_000, 49_520, 49_520]
    assert [s.points for s in log.samples(since=T0 + 1)] == [49_520, 49_520]

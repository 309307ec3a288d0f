"""200 submissions with faults injected at 30 %: no job created twice, every submission ends clearly."""

from __future__ import annotations

import pytest

from benchmarks.faults import run_trial


@pytest.mark.slow
def test_two_hundred_submissions_under_faults_never_create_a_job_twice():
    result = run_trial(200, 0.3, seed=7, timeout=0.2, slow_seconds=0.5)
    assert result["created_twice"] == []
    assert result["rejected_but_created"] == []
    assert result["accepted_but_missing"] == []
    assert result["accepted"] + result["rejected"] + result["unknown"] == 200
    # Every job that exists is accounted for: an accepted submission, or one whose outcome was unknown.
    assert result["jobs_created"] == result["accepted"] + result["unknown_that_created_a_job"]
    # The faults really fired, of every kind, and the ambiguous ones surfaced as "outcome unknown".
    assert set(result["faults_fired"]) == {"500", "502", "503", "429", "slow", "drop", "lost_answer"}
    assert result["unknown"] > 0
    # Only 429s and connections never made are resent: at most one extra POST per 429 fired.
    assert result["posts_sent"] <= 200 + result["faults_fired"]["429"]

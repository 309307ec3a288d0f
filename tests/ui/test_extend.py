"""AppTest: the Extend page: choosing a video and variant, the chain limit, deep links, the empty state."""

from __future__ import annotations

from legnext_core.models import JobKind, JobRequest
from legnext_core.submit import submit_job
from tests.ui.helpers import finish_jobs, finished_video, page_text

EXTEND_POSTS = "/api/v1/extend-video"


def test_no_finished_video_says_so_and_links_to_create(app_test):
    at = app_test("extend")
    assert not at.exception
    assert "No finished videos yet" in at.info[0].value
    assert [link.proto.page for link in at.get("page_link")][-1].endswith("create")
    assert not at.button


def test_empty_state_says_a_video_is_on_its_way(app_test, studio, sandbox):
    at = app_test("extend")
    submit_job(studio(), JobRequest(kind=JobKind.TEXT_VIDEO, prompt="A heron"))
    at.run()
    assert not at.exception
    assert "1 video job is being made" in at.info[0].value
    finish_jobs(studio(), sandbox)
    at.run()
    assert at.selectbox(key="extend:job").value


def test_extends_the_chosen_video_and_variant_with_a_prompt(app_test, studio, sandbox):
    at = app_test("extend")
    video = finished_video(studio(), sandbox)
    at.run()
    assert not at.exception
    assert len(at.get("video")) == 4, "all four results are previewed"
    assert "4 s of 20 s**, 4 extensions left" in page_text(at)
    # The extension price is Legnext's published one now, so no "estimate" beside it.
    assert "480 points (US$0.48)" in page_text(at) and "an estimate" not in page_text(at)
    at.segmented_control(key=f"extend:variant:{video}").set_value(1).run()
    at.segmented_control(key="extend:mode").set_value("manual").run()
    at.text_area(key="extend:prompt").input("the camera pulls back")
    at.button(key="extend:submit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", EXTEND_POSTS) == 1
    (extension,) = studio().store.recent(kinds=["extend"])
    assert (extension.parent_job_id, extension.parent_index) == (video, 1)
    assert extension.prompt == "the camera pulls back"
    assert extension.job_id in at.success[0].value


def test_extend_auto_sends_no_prompt(app_test, studio, sandbox):
    at = app_test("extend")
    finished_video(studio(), sandbox)
    at.run()
    assert at.segmented_control(key="extend:mode").value == "auto"
    at.button(key="extend:submit").click().run()
    assert not at.exception
    (extension,) = studio().store.recent(kinds=["extend"])
    assert extension.prompt is None and extension.wire_prompt is None
    assert sandbox.jobs()[-1]["prompt"] is None


def test_extend_manual_without_a_prompt_is_not_sent(app_test, studio, sandbox):
    at = app_test("extend")
    finished_video(studio(), sandbox)
    at.run()
    at.segmented_control(key="extend:mode").set_value("manual").run()
    at.segmented_control(key="extend:speed").set_value("turbo").run()
    assert "960 points" in page_text(at)
    at.button(key="extend:submit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", EXTEND_POSTS) == 0
    assert any("A manual extension needs a prompt" in error.value for error in at.error)


def test_cost_of_an_extension_follows_the_parent_resolution(app_test, studio, sandbox):
    at = app_test("extend")
    finished_video(studio(), sandbox, video_type=1)
    at.run()
    assert "1,536 points" in page_text(at)


def test_deep_link_to_an_unknown_id_explains_and_sends_nothing(app_test, studio, sandbox):
    first = app_test("extend")
    finished_video(studio(), sandbox)
    del first
    at = app_test("extend", query={"job": "not-a-job"})
    assert not at.exception
    text = page_text(at)
    assert "This link cannot be followed." in text and "`not-a-job` is not a Legnext job id" in text
    assert "highlighted input" not in text
    assert at.selectbox(key="extend:job").value is None  # no unrelated video in its place
    assert sandbox.request_count("POST", EXTEND_POSTS) == 0


def test_deep_link_to_a_variant_that_does_not_exist_says_so_and_preselects_nothing(app_test, studio, sandbox):
    first = app_test("extend")
    video = finished_video(studio(), sandbox)
    del first
    at = app_test("extend", query={"job": video, "variant": "9"})
    assert not at.exception
    assert "Variant `9` does not exist" in page_text(at)
    assert at.selectbox(key="extend:job").value is None


def test_deep_link_to_a_failed_job_says_it_has_no_videos(app_test, studio, sandbox):
    first = app_test("extend")
    current = studio()
    finished_video(current, sandbox)
    failed = submit_job(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="fail please"))
    del first
    record = current.store.by_job_id(failed.job_id)
    current.store.apply_job(_failed(current, record))
    at = app_test("extend", query={"job": failed.job_id, "variant": "0"})
    assert not at.exception
    text = page_text(at)
    assert "has no videos to extend: its status is failed" in text
    assert "once it has completed" not in text
    assert at.selectbox(key="extend:job").value is None


def _failed(current, record):
    """Legnext's answer for the job, marked failed (as a failed poll would record it)."""
    job = current.client.get_job(record.job_id)
    raw = {**job.raw, "status": "failed", "error": {"code": 10000, "message": "Content moderation"}}
    return type(job).from_api(raw)


def test_fifth_extension_is_refused_before_any_request(app_test, studio, sandbox):
    at = app_test("extend")
    chain = [finished_video(studio(), sandbox)]
    for step in range(4):
        at = app_test("extend", query={"job": chain[-1], "variant": "0"})
        assert not at.exception
        assert f"{4 * (step + 1)} s of 20 s**, {4 - step} extension" in page_text(at)
        at.button(key="extend:submit").click().run()
        assert not at.exception, at.exception
        chain.append(studio().store.recent(kinds=["extend"])[0].job_id)
        finish_jobs(studio(), sandbox)
    assert sandbox.request_count("POST", EXTEND_POSTS) == 4

    at = app_test("extend", query={"job": chain[-1], "variant": "0"})
    assert not at.exception
    assert "20 s of 20 s**, 0 extensions left" in page_text(at)
    assert any("cannot be extended again" in error.value for error in at.error)
    button = at.button(key="extend:submit")
    assert button.disabled
    assert sandbox.request_count("POST", EXTEND_POSTS) == 4

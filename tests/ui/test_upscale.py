"""AppTest: the Upscale page: choosing a video and variant, timing and cost, deep links, the empty state."""

from __future__ import annotations

from legnext_core.models import JobKind, JobRequest
from legnext_core.submit import submit_job
from tests.ui.helpers import finish_jobs, finished_video, page_text

UPSCALE_POSTS = "/api/v1/video-upscale"


def test_no_finished_video_says_so_and_links_to_create(app_test):
    at = app_test("upscale")
    assert not at.exception
    assert "No finished videos yet" in at.info[0].value
    assert not at.button


def test_says_how_long_it_takes_and_what_it_costs(app_test, studio, sandbox):
    at = app_test("upscale")
    finished_video(studio(), sandbox)
    at.run()
    text = page_text(at)
    assert "4-6 minutes" in text
    assert "this sandbox takes about 24-36 s" in text  # the test sandbox runs at time scale 1
    assert "480 points (US$0.48)" in text


def test_upscales_the_chosen_variant_once(app_test, studio, sandbox):
    at = app_test("upscale")
    video = finished_video(studio(), sandbox)
    at.run()
    assert len(at.get("video")) == 4
    at.segmented_control(key=f"upscale:variant:{video}").set_value(3).run()
    at.button(key="upscale:submit").click().run()
    at.run()
    assert not at.exception
    assert sandbox.request_count("POST", UPSCALE_POSTS) == 1
    (upscale,) = studio().store.recent(kinds=["upscale"])
    assert (upscale.parent_job_id, upscale.parent_index) == (video, 3)
    assert upscale.job_id in at.success[0].value


def test_finished_upscales_are_not_offered_for_upscaling(app_test, studio, sandbox):
    at = app_test("upscale")
    video = finished_video(studio(), sandbox)
    submit_job(studio(), JobRequest(kind=JobKind.UPSCALE, parent_job_id=video, index=0))
    finish_jobs(studio(), sandbox)
    at.run()
    (only,) = at.selectbox(key="upscale:job").options
    assert only.endswith(video[:8]) and "Upscale" not in only


def test_deep_link_to_a_video_made_elsewhere_fetches_and_logs_it(app_test, studio, sandbox):
    first = app_test("upscale")
    elsewhere = studio().client.submit(JobRequest(kind=JobKind.TEXT_VIDEO, prompt="A heron"))
    sandbox.advance(3600)
    del first
    at = app_test("upscale", query={"job": elsewhere.job_id, "variant": "0"})
    assert not at.exception
    assert studio().store.by_job_id(elsewhere.job_id).status == "completed"
    assert at.selectbox(key="upscale:job").value == elsewhere.job_id

"""AppTest: the video options on Create and their per-field messages; rerun keeps every option."""

from __future__ import annotations

from tests.ui.helpers import page_text

VIDEO_POSTS = "/api/v1/video-diffusion"
END = "https://example.com/last-frame.png"


def test_batch_of_two_shows_the_smaller_estimate_and_makes_two_videos(app_test, studio, sandbox):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input("A paper boat")
    assert "480 points (US$0.48)" in page_text(at)
    at.segmented_control(key="create:text:batch_size").set_value(2).run()
    text = page_text(at)
    assert "240 points (US$0.24)" in text and "an estimate" in text
    assert "Midjourney options, passed through" in text
    at.button(key="text:submit").click().run()
    assert not at.exception
    (record,) = studio().store.recent()
    assert record.batch_size == 2 and record.estimated_points == 240
    assert sandbox.jobs()[-1]["prompt"] == "A paper boat --bs 2"
    sandbox.advance(3600)
    job = studio().client.get_job(record.job_id)
    assert len(job.video_urls) == 2


def test_turbo_doubles_the_price_without_calling_it_an_estimate(app_test):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input("A paper boat")
    at.segmented_control(key="create:text:speed").set_value("turbo").run()
    text = page_text(at)
    assert "960 points (US$0.96)" in text and "an estimate" not in text


def test_loop_with_an_end_frame_is_refused_beside_the_options_and_nothing_is_sent(app_test, sandbox):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input("A paper boat")
    at.text_input(key="create:text:end_url").input(END)
    at.toggle(key="create:text:loop").set_value(True).run()
    at.button(key="text:submit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 0
    assert any("cannot also have an end frame" in error.value for error in at.error)


def test_a_malformed_end_frame_is_flagged_as_typed(app_test, sandbox):
    at = app_test("create")
    at.text_input(key="create:text:end_url").input("last-frame.png").run()
    assert "The end frame URL must start with http:// or https://." in page_text(at)


def test_a_malformed_end_frame_is_refused_once_beside_its_field_and_nothing_is_sent(app_test, sandbox):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input("A paper boat")
    at.text_input(key="create:text:end_url").input("ftp://example.com/last-frame.png")
    at.button(key="text:submit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 0
    message = "The end frame URL must start with http:// or https://."
    assert page_text(at).count(message) == 1, "said once, not again under the options"
    assert [error.value for error in at.error] == [message, "**Not sent: fix the input marked above.**"]


def test_run_again_fills_every_option(app_test, studio, sandbox):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input("A paper boat")
    at.text_input(key="create:text:end_url").input(END)
    at.segmented_control(key="create:text:batch_size").set_value(1)
    at.segmented_control(key="create:text:speed").set_value("turbo").run()
    at.button(key="text:submit").click().run()
    (record,) = studio().store.recent()
    again = app_test("create", query={"rerun": record.local_id})
    assert not again.exception
    assert again.segmented_control(key="create:text:batch_size").value == 1
    assert again.segmented_control(key="create:text:speed").value == "turbo"
    assert again.text_input(key="create:text:end_url").value == END

"""AppTest: the Create page in each mode, the batch, double-submit protection and its deep links.

Every test talks real HTTP to its own sandbox on a manual clock and keeps its job log in tmp_path.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from legnext_core.models import JobKind, JobRequest
from legnext_core.submit import dispatch_queued, submit_job
from tests.ui.helpers import finish_jobs, page_text
from ui.create_modes.animate import NO_IMAGE_YET
from ui.create_modes.batch import NOTHING_TO_SEND

VIDEO_POSTS = "/api/v1/video-diffusion"


def page_links(at) -> list[str]:
    return [link.proto.page for link in at.get("page_link")] if at.get("page_link") else []


def test_text_prompt_submits_one_job_and_links_to_it(app_test, studio, sandbox):
    at = app_test("create")
    assert not at.exception
    at.text_area(key="create:text:prompt").input("A paper boat on a rainy street")
    at.button(key="text:submit").click().run()
    assert not at.exception

    assert sandbox.request_count("POST", VIDEO_POSTS) == 1
    (record,) = studio().store.recent()
    assert record.kind == "text_video" and record.job_id
    assert record.job_id in at.success[0].value
    link = next(link for link in at.get("page_link") if "job" in link.proto.label.lower())
    assert link.proto.query_string == f"job={record.job_id}"


def test_rerun_after_submitting_sends_nothing_more(app_test, sandbox):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input("A fox in the snow")
    at.button(key="text:submit").click().run()
    at.run()
    at.run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 1


def test_a_stale_second_click_does_not_submit_again(app_test, sandbox):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input("A fox in the snow")
    # The button was drawn with this token; a first click has since consumed it (as a double click
    # arriving before the page redrew would find).
    at.session_state["text:token"] = "already-used-by-the-first-click"
    at.button(key="text:submit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 0
    assert not at.success


def test_each_fresh_click_submits_once(app_test, sandbox):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input("A fox in the snow")
    at.button(key="text:submit").click().run()
    at.button(key="text:submit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 2
    assert at.button(key="text:submit").disabled is False


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("", "The prompt is empty"),
        ("a fox\x00 in snow", "invisible control character (U+0000) at position 6"),
    ],
)
def test_a_bad_prompt_is_flagged_at_the_prompt_and_nothing_is_sent(app_test, sandbox, typed, said):
    at = app_test("create")
    if typed:
        at.text_area(key="create:text:prompt").input(typed)
    at.button(key="text:submit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 0
    messages = [error.value for error in at.error]
    assert any(said in message for message in messages), messages
    # The field's own message comes right after the prompt, before the options.
    order = [node.type for node in at.main if node.type in ("text_area", "error", "segmented_control")]
    assert order.index("error") == order.index("text_area") + 1


def test_resolution_motion_and_raw_are_controls_that_reach_the_prompt(app_test, studio, sandbox):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input("Waves on black sand")
    at.segmented_control(key="create:text:resolution").set_value("720p").run()
    at.segmented_control(key="create:text:motion").set_value("High").run()
    at.toggle(key="create:text:raw").set_value(True).run()
    assert "1,536 points (US$1.54)" in page_text(at)
    at.button(key="text:submit").click().run()
    assert not at.exception
    (record,) = studio().store.recent()
    assert record.video_type == 1
    assert record.wire_prompt == "Waves on black sand --motion high --raw"


def test_cost_is_shown_before_submitting(app_test):
    at = app_test("create")
    assert "Estimated cost: **480 points (US$0.48)**" in page_text(at)


def test_callback_override_is_sent_with_the_job(app_test, studio):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input("A fox")
    at.text_input(key="create:text:callback").input("https://hooks.example.com/legnext")
    at.button(key="text:submit").click().run()
    (record,) = studio().store.recent()
    assert record.callback == "https://hooks.example.com/legnext"


def image_url_form(app_test, url: Callable[[], str]) -> AppTest:
    """Create in image-URL mode with ``url()`` typed in (called once the page has started the Studio)."""
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("image_url").run()
    at.text_input(key="create:image_url:url").input(url()).run()
    assert not at.exception
    return at


def test_image_url_mode_previews_the_image_and_sends_url_first(app_test, studio, sandbox):
    at = image_url_form(app_test, lambda: finished_output(studio(), sandbox, JobKind.IMAGE))
    url = at.text_input(key="create:image_url:url").value
    assert at.image, "a valid URL is previewed"
    at.text_area(key="create:image_url:prompt").input("the leaves sway")
    at.button(key="image_url:submit").click().run()
    assert not at.exception
    (record,) = studio().store.recent(kinds=["image_url_video"])
    assert record.wire_prompt == f"{url} the leaves sway"


def test_image_url_mode_flags_a_bad_url_at_the_url_field(app_test, sandbox):
    at = image_url_form(app_test, lambda: "ftp://example.com/a.png")
    assert not at.image
    assert at.button(key="image_url:submit").disabled
    assert sandbox.request_count("POST", VIDEO_POSTS) == 0
    # Said once, beside the field (not also as a caption).
    assert sum("must start with http:// or https://" in error.value for error in at.error) == 1
    assert not any("must start with" in caption.value for caption in at.caption)


def finished_output(current, sandbox, kind: JobKind) -> str:
    """The first output URL of a finished sandbox job of ``kind`` (served by the sandbox)."""
    result = submit_job(current, JobRequest(kind=kind, prompt="a lighthouse at dusk"))
    finish_jobs(current, sandbox)
    record = current.store.by_job_id(result.job_id)
    return (record.image_urls or record.video_urls)[0]


def test_image_url_that_is_not_an_image_is_refused_before_sending(app_test, studio, sandbox):
    at = image_url_form(app_test, lambda: finished_output(studio(), sandbox, JobKind.TEXT_VIDEO))
    # No preview of the start image (the feed of recent jobs below the form has posters of its own).
    assert not [image for image in at.image if "The image Legnext will start from" in image.captions]
    assert any("It is not an image" in error.value for error in at.error)
    assert at.button(key="image_url:submit").disabled
    at.text_input(key="create:image_url:url").input(f"{sandbox.root_url}/media/nothing-here.png").run()
    assert any("HTTP 404" in error.value for error in at.error)
    assert at.button(key="image_url:submit").disabled
    assert sandbox.request_count("POST", VIDEO_POSTS) == 1  # only the job that made the video


def test_image_url_that_could_not_be_checked_is_sent_only_when_the_person_says_so(app_test, studio, sandbox):
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("image_url").run()
    at.text_input(key="create:image_url:url").input("https://no-such-host.invalid/a.png").run()
    assert not at.exception
    assert any("could not be checked" in warning.value for warning in at.warning)
    assert at.button(key="image_url:submit").disabled
    at.checkbox(key="create:image_url:anyway:https://no-such-host.invalid/a.png").check().run()
    at.button(key="image_url:submit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 1


def test_animate_mode_makes_a_sandbox_image_job_and_animates_the_chosen_image(app_test, studio, sandbox):
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("animate").run()
    at.text_input(key="create:sandbox_image:prompt").input("A lighthouse at dusk")
    at.button(key="create:sandbox_image:submit").click().run()
    assert not at.exception
    image_job = at.text_input(key="create:animate:job_id").value
    assert image_job and sandbox.request_count("POST", "/api/v1/diffusion") == 1
    assert "Image job" in page_text(at) or at.get("progress")
    assert at.button(key="animate:submit").disabled

    finish_jobs(studio(), sandbox)
    at.run()
    assert not at.exception
    assert len(at.image) == 4
    at.segmented_control(key=f"create:animate:variant:{image_job}").set_value(2).run()
    at.button(key="animate:submit").click().run()
    assert not at.exception
    animation = studio().store.recent(kinds=["animate"])[0]
    assert (animation.parent_job_id, animation.parent_index) == (image_job, 2)
    assert animation.job_id in at.success[0].value


def test_animate_mode_fetches_and_logs_an_image_job_made_elsewhere(app_test, studio, sandbox):
    at = app_test("create")
    made_elsewhere = studio().client.submit(JobRequest(kind=JobKind.IMAGE, prompt="A red kite"))
    sandbox.advance(3600)
    assert studio().store.by_job_id(made_elsewhere.job_id) is None

    at.segmented_control(key="create:mode").set_value("animate").run()
    at.text_input(key="create:animate:job_id").input(made_elsewhere.job_id).run()
    assert not at.exception
    logged = studio().store.by_job_id(made_elsewhere.job_id)
    assert logged is not None and logged.status == "completed"
    assert len(at.image) == 4


def test_animate_mode_refuses_a_video_job_with_a_reason(app_test, studio, sandbox):
    at = app_test("create")
    video = submit_job(studio(), JobRequest(kind=JobKind.TEXT_VIDEO, prompt="A fox"))
    at.segmented_control(key="create:mode").set_value("animate").run()
    at.text_input(key="create:animate:job_id").input(video.job_id).run()
    assert not at.exception
    assert any("not an image job" in error.value for error in at.error)
    assert at.button(key="animate:submit").disabled


def test_animate_deep_link_preselects_the_image_job_and_image(app_test, studio, sandbox):
    first = app_test("create")
    made = submit_job(studio(), JobRequest(kind=JobKind.IMAGE, prompt="A lighthouse"))
    finish_jobs(studio(), sandbox)
    del first

    at = app_test("create", query={"mode": "animate", "image_job": made.job_id, "image": "3"})
    assert not at.exception
    assert at.segmented_control(key="create:mode").value == "animate"
    assert at.text_input(key="create:animate:job_id").value == made.job_id
    assert at.segmented_control(key=f"create:animate:variant:{made.job_id}").value == 3


def test_rerun_link_fills_the_form_with_the_same_settings(app_test, studio):
    first = app_test("create")
    done = submit_job(
        studio(),
        JobRequest(kind=JobKind.TEXT_VIDEO, prompt="Neon city in rain", video_type=1, motion="low", raw=True),
    )
    del first
    at = app_test("create", query={"rerun": done.local_id})
    assert not at.exception
    assert at.text_area(key="create:text:prompt").value == "Neon city in rain"
    assert at.segmented_control(key="create:text:resolution").value == "720p"
    assert at.segmented_control(key="create:text:motion").value == "Low"
    assert at.toggle(key="create:text:raw").value is True


def test_batch_sends_up_to_the_limit_queues_the_rest_and_skips_invalid_lines(app_test, studio, sandbox):
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("batch").run()
    lines = [f"Scene number {n}" for n in range(1, 9)]
    lines.insert(2, "a cat https://example.com/cat.png")  # line 3: a URL that is not first
    lines.insert(4, "")  # blank lines are skipped but keep the numbering
    at.text_area(key="create:batch:lines").input("\n".join(lines)).run()
    assert not at.exception
    text = page_text(at)
    assert "Line 3: An image URL must come first" in text
    assert "the other 2 are queued here and sent automatically" in text
    assert "3,840 points" in text  # 8 valid prompts at 480 each

    at.button(key="batch:submit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 6
    table = at.dataframe[0].value
    by_line = {row["Line"]: row for row in table.to_dict("records")}
    assert by_line[3]["Outcome"] == "invalid" and "must come first" in by_line[3]["Message"]
    assert 5 not in by_line
    outcomes = [row["Outcome"] for row in table.to_dict("records")]
    assert outcomes.count("accepted") == 6 and outcomes.count("queued") == 2
    assert all(row["Job id"] for row in table.to_dict("records") if row["Outcome"] == "accepted")
    assert len(studio().store.queued()) == 2


def test_batch_from_csv_reads_prompt_and_resolution_columns(app_test, studio, sandbox):
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("batch").run()
    at.segmented_control(key="create:batch:source").set_value("CSV file").run()
    csv = b"prompt,resolution\nA fox,720p\nA heron,\nAn owl,1080p\n"
    at.get("file_uploader")[0].upload("prompts.csv", csv, "text/csv").run()
    assert not at.exception
    assert "Line 4: resolution “1080p” is not 480p or 720p" in page_text(at)
    at.button(key="batch:submit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 2
    by_prompt = {record.prompt: record for record in studio().store.recent()}
    assert by_prompt["A fox"].video_type == 1 and by_prompt["A heron"].video_type == 0


def test_batch_csv_without_a_prompt_column_says_so(app_test, sandbox):
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("batch").run()
    at.segmented_control(key="create:batch:source").set_value("CSV file").run()
    at.get("file_uploader")[0].upload("prompts.csv", b"text\nA fox\n", "text/csv").run()
    assert not at.exception
    assert any("no `prompt` column" in error.value for error in at.error)
    assert at.button(key="batch:submit").disabled


def test_a_sent_batch_empties_the_form_keeps_its_result_and_cannot_be_sent_again(app_test, studio, sandbox):
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("batch").run()
    at.text_area(key="create:batch:lines").input("A fox in snow\nWaves on black sand").run()
    at.button(key="batch:submit").click().run()
    assert not at.exception
    assert sandbox.request_count("POST", VIDEO_POSTS) == 2
    assert at.text_area(key="create:batch:lines").value == ""
    assert at.button(key="batch:submit").disabled
    at.run()
    assert sandbox.request_count("POST", VIDEO_POSTS) == 2
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 2
    # A second batch is shown above the first: no result disappears.
    at.text_area(key="create:batch:lines").input("An owl at night").run()
    at.button(key="batch:submit").click().run()
    assert sandbox.request_count("POST", VIDEO_POSTS) == 3
    assert [len(frame.value) for frame in at.dataframe] == [1, 2]


def test_batch_button_counts_only_the_lines_it_will_send(app_test, sandbox):
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("batch").run()
    lines = ["one", "two", "three", "four", "x https://example.com/a.png"]
    at.text_area(key="create:batch:lines").input("\n".join(lines)).run()
    assert at.button(key="batch:submit").label == "Submit 4 prompts"


def test_queued_batch_lines_show_no_none_job_id(app_test, studio, sandbox):
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("batch").run()
    at.text_area(key="create:batch:lines").input("\n".join(f"Scene {n}" for n in range(8))).run()
    at.button(key="batch:submit").click().run()
    table = at.dataframe[0].value
    queued = table[table["Outcome"] == "queued"]
    assert len(queued) == 2
    # A missing id is an empty cell: None is drawn as the word "None" in a link column.
    assert not any(value is None or str(value) == "None" for value in queued["Job id"])


def test_a_queued_batch_line_reads_as_accepted_once_the_dispatcher_has_sent_it(app_test, studio, sandbox):
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("batch").run()
    at.text_area(key="create:batch:lines").input("\n".join(f"Scene {n}" for n in range(8))).run()
    at.button(key="batch:submit").click().run()
    assert "6 accepted · 2 queued" in page_text(at)
    current = studio()
    finish_jobs(current, sandbox)
    assert len(dispatch_queued(current)) == 2
    at.run()
    assert not at.exception
    assert "8 accepted" in page_text(at) and "queued" not in page_text(at).split("Batch result:")[1]
    table = at.dataframe[0].value
    assert list(table["Outcome"]) == ["accepted"] * 8
    assert all(table["Job id"]) and not any(table["Message"])


def test_a_greyed_out_submit_button_says_what_makes_it_live(app_test, studio, sandbox):
    at = app_test("create")
    at.segmented_control(key="create:mode").set_value("animate").run()
    assert at.button(key="animate:submit").disabled
    assert f":material/info: {NO_IMAGE_YET}" in [caption.value for caption in at.caption]
    at.segmented_control(key="create:mode").set_value("batch").run()
    assert at.button(key="batch:submit").disabled
    assert f":material/info: {NOTHING_TO_SEND}" in [caption.value for caption in at.caption]
    at.text_area(key="create:batch:lines").input("A fox in the snow").run()
    assert not at.button(key="batch:submit").disabled
    assert f":material/info: {NOTHING_TO_SEND}" not in [caption.value for caption in at.caption]

"""The job detail view (/job?job=...): status, outputs, lineage buttons, raw JSON, unknown outcomes."""

from __future__ import annotations

from typing import Any

import pytest

from legnext_core.models import JobKind, JobRequest
from legnext_core.submit import submit_job
from ui.variants import variants_of


def _texts(at) -> str:
    parts = []
    for kind in ("markdown", "caption", "title", "subheader", "info", "warning", "error", "success", "code"):
        parts.extend(str(element.value) for element in getattr(at, kind))
    parts.extend(str(button.label) for button in at.button)
    return "\n".join(parts)


def submit(current, request: JobRequest) -> dict[str, Any]:
    result = submit_job(current, request)
    assert result.outcome == "accepted", result.message
    return current.store.get(result.local_id)


def finish(current, sandbox, *records: dict[str, Any], seconds: float = 60) -> list[dict[str, Any]]:
    """Move the sandbox on until the jobs end, and log what Legnext says (as the tracker would)."""
    sandbox.advance(seconds)
    done = []
    for record in records:
        done.append(current.store.apply_job(current.client.get_job(record.job_id)) or record)
    return [current.store.get(r.local_id) for r in done]


def video(current, sandbox, prompt: str = "a red fox running through snow") -> dict[str, Any]:
    (record,) = finish(current, sandbox, submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt=prompt)))
    assert record.status == "completed"
    return record


def extend(current, sandbox, parent: dict[str, Any], index: int = 0) -> dict[str, Any]:
    request = JobRequest(kind=JobKind.EXTEND, parent_job_id=parent.job_id, index=index)
    (record,) = finish(current, sandbox, submit(current, request))
    assert record.status == "completed"
    return record


def open_job(app_test, job_ref: str):
    at = app_test("job", query={"job": job_ref})
    assert not at.exception
    return at


def test_completed_job_shows_its_four_videos_with_downloads_from_the_archive(app_test, studio, sandbox):
    at = app_test()
    current = studio()
    record = video(current, sandbox)
    paths = current.archiver.archive(record.job_id, record.video_urls)
    current.store.update_tracking(record.local_id, media_paths=paths)

    at = open_job(app_test, record.job_id)
    assert "Completed" in _texts(at)
    videos = at.get("video")
    assert len(videos) == 4
    labels = [b.label for b in at.download_button]
    assert labels == [f"Download video {n}" for n in range(1, 5)]
    # Each download is named by its job and variant, so files of different jobs never collide.
    names = [variant.file_name for variant in variants_of(record.replace(media_paths=paths))]
    assert names == [f"legnext-{record.job_id}-video-{n}.mp4" for n in range(1, 5)]
    assert record.job_id in [c.value for c in at.code]
    assert any(c.value.endswith(f"/job?job={record.job_id}") for c in at.code)


def test_url_only_variants_offer_a_link_instead_of_archived_bytes(app_test, studio, sandbox):
    app_test()
    current = studio()
    current.tracker.stop()  # the tracker would archive the outputs in the background
    record = video(current, sandbox)
    assert not record.media_paths
    at = open_job(app_test, record.job_id)
    assert not at.download_button
    assert [b.label for b in at.link_button] == [f"Open video {n}" for n in range(1, 5)]


@pytest.mark.parametrize(
    ("label", "page_title", "query"),
    [
        ("Extend", "extend", {"variant": "2"}),
        ("Upscale", "upscale", {"variant": "2"}),
    ],
)
def test_variant_buttons_open_the_follow_up_page_with_job_and_variant(
    app_test, studio, sandbox, label, page_title, query
):
    app_test()
    current = studio()
    record = video(current, sandbox)
    at = open_job(app_test, record.job_id)
    at.button(key=f"job-{record.local_id}-{page_title}-2").click()
    at.run()
    assert not at.exception
    assert dict(at.query_params) == {"job": record.job_id, **query}
    # The follow-up page is the one drawn now (its own title), not the detail view.
    assert [t.value for t in at.title] and label in at.title[0].value


def test_image_variants_offer_animate_with_image_job_and_index(app_test, studio, sandbox):
    app_test()
    current = studio()
    request = JobRequest(kind=JobKind.IMAGE, prompt="a lighthouse")
    (image,) = finish(current, sandbox, submit(current, request))
    at = open_job(app_test, image.job_id)
    assert len(at.image) == 4
    at.button(key=f"job-{image.local_id}-animate-1").click()
    at.run()
    assert not at.exception
    assert at.query_params["mode"] == "animate"
    assert at.query_params["image_job"] == image.job_id
    assert at.query_params["image"] == "1"


def test_extend_is_disabled_with_the_reason_when_the_chain_is_full(app_test, studio, sandbox):
    app_test()
    current = studio()
    last = video(current, sandbox)
    for _ in range(4):
        last = extend(current, sandbox, last)
    at = open_job(app_test, last.job_id)
    extend_buttons = [b for b in at.button if b.label == "Extend"]
    assert extend_buttons and all(b.disabled for b in extend_buttons)
    assert "This chain is full: 4 extensions, 20 s" in _texts(at)
    assert all(not b.disabled for b in at.button if b.label == "Upscale")
    assert "Extension chain: 4 of 4 extensions, 20 s long, 0 s left" in _texts(at)


def test_lineage_lists_parent_and_children_as_links(app_test, studio, sandbox):
    app_test()
    current = studio()
    parent = video(current, sandbox)
    child = extend(current, sandbox, parent, index=1)
    upscale_request = JobRequest(kind=JobKind.UPSCALE, parent_job_id=child.job_id, index=0)
    submit(current, upscale_request)
    at = open_job(app_test, child.job_id)
    texts = _texts(at)
    links = {str(p.proto.label): p.proto for p in at.get("page_link")}
    labels = list(links)
    # The current job sits at its own depth in the tree (indented under its parent), not at the root.
    current_label = "\u2003\u2003└ Extension of #2 · completed (this job)"
    assert current_label in links and links[current_label].disabled
    assert labels.index(current_label) == labels.index("Text to video · completed") + 1
    assert any(label.startswith("Text to video · completed") for label in labels)
    assert any("Upscale of #1 · pending" in label for label in labels)
    assert "Extension chain: 1 of 4 extensions, 8 s long, 12 s left" in texts


def test_active_job_shows_progress_and_moves_on_after_the_clock(app_test, studio, sandbox):
    app_test()
    current = studio()
    record = submit(current, JobRequest(kind=JobKind.TEXT_VIDEO, prompt="waves at dusk"))
    at = open_job(app_test, record.job_id)
    assert "Pending" in _texts(at)
    assert at.get("progress")
    finish(current, sandbox, record)
    at.run()
    assert not at.exception
    assert "Completed" in _texts(at)
    assert len(at.get("video")) == 4


def test_unknown_outcome_explains_and_resubmits_only_when_confirmed(app_test, studio, sandbox):
    app_test()
    current = studio()
    request = JobRequest(kind=JobKind.TEXT_VIDEO, prompt="a paper boat")
    intent = current.store.add_intent(
        request, api_mode="sandbox", api_base_url=current.settings.base_url, estimated_points=480
    )
    current.store.record_unknown(intent.local_id, "The connection dropped after the request was sent.")
    at = open_job(app_test, intent.local_id)
    texts = _texts(at)
    assert "outcome is unknown" in texts and "Check your Legnext dashboard" in texts
    button_key = f"resubmit-{intent.local_id}:submit"
    assert at.button(key=button_key).disabled
    at.checkbox(key=f"resubmit-sure-{intent.local_id}").check().run()
    at.button(key=button_key).click().run()
    assert not at.exception
    assert "Submitted: job" in _texts(at)
    # Sent once: the button stays disabled, and a rerun sends nothing again.
    assert at.button(key=button_key).disabled
    at.run()
    assert not at.exception
    resubmitted = [r for r in current.store.recent(None) if r.resubmit_of == intent.local_id]
    assert len(resubmitted) == 1 and resubmitted[0].job_id


def test_raw_json_is_fetched_on_demand_and_never_shows_a_secret(app_test, studio, sandbox):
    app_test()
    current = studio()
    record = video(current, sandbox)
    at = open_job(app_test, record.job_id)
    assert not at.json
    at.button(key="fetch-raw").click().run()
    assert not at.exception
    (raw,) = at.json
    assert record.job_id in raw.value
    assert current.settings.api_key not in raw.value


def test_unknown_reference_says_so_and_links_back(app_test):
    at = open_job(app_test, "no-such-job")
    assert "No job `no-such-job` in your history." in _texts(at)
    assert "A job id looks like" in _texts(at), "a malformed id is told what an id looks like"
    assert not [button for button in at.button if button.key == "job:track-missing"]


def test_a_link_to_a_job_made_elsewhere_tracks_it_in_one_click(app_test, studio, sandbox):
    app_test()
    elsewhere = studio().client.create_video("A heron at dawn")  # on the account, not in this log
    at = open_job(app_test, elsewhere.job_id)
    assert f"No job `{elsewhere.job_id}` in your history." in _texts(at)
    at.button(key="job:track-missing").click().run()
    assert not at.exception
    assert studio().store.by_job_id(elsewhere.job_id) is not None
    assert "in your history" not in _texts(at)
    assert [title.value for title in at.title] == ["Text to video"]

"""AppTest: the Gallery page draws finished jobs' posters, filters, favourites and the pager."""

from __future__ import annotations

import json
import re

from legnext_core import gallery
from legnext_core.gallery import CARD_PROMPT_CHARS
from legnext_core.models import JobKind, JobRequest
from legnext_core.submit import submit_job
from tests.ui.helpers import finish_jobs, page_text, unknown_outcome


def made(studio, sandbox, prompts, **options) -> list[str]:
    ids = [
        submit_job(studio, JobRequest(kind=JobKind.TEXT_VIDEO, prompt=p, **options)).local_id for p in prompts
    ]
    finish_jobs(studio, sandbox)
    return ids


def test_gallery_shows_cards_newest_first_with_a_tile_per_variant(app_test, studio, sandbox):
    at = app_test("gallery")
    assert not at.exception
    assert "No job matches" in page_text(at)
    made(studio(), sandbox, ["A fox in the snow"])
    made(studio(), sandbox, ["A heron at dawn"], batch_size=2)
    at.run()
    assert not at.exception
    texts = [element.value for element in at.text]
    assert texts.index("A heron at dawn") < texts.index("A fox in the snow")
    alts = [image.proto.imgs[0].alt for image in at.get("image")]
    assert len(alts) == 6, "one poster (or placeholder) per variant"
    assert all(alt.startswith(("Poster of video", "No poster yet for video")) for alt in alts)
    favourite_keys = [b.key for b in at.button if b.key and b.key.startswith("gallery:fav:")]
    assert len(favourite_keys) == 6


def test_a_favourite_is_kept_and_filters_the_gallery(app_test, studio, sandbox):
    at = app_test("gallery")
    fox, heron = made(studio(), sandbox, ["A fox in the snow", "A heron at dawn"])
    at.run()
    at.button(key=f"gallery:fav:{fox}:1:off").click().run()
    assert not at.exception
    assert studio().store.get(fox).favourite_variants == [1]
    # The star is now another widget: a repeat of the click on the old one has nothing to act on.
    assert at.button(key=f"gallery:fav:{fox}:1:on").label == "Favourited"
    assert not [b for b in at.button if b.key == f"gallery:fav:{fox}:1:off"]
    at.toggle(key="gallery-favourites").set_value(True).run()
    texts = [element.value for element in at.text]
    assert "A fox in the snow" in texts and "A heron at dawn" not in texts


def test_prompts_are_shown_literally(app_test, studio, sandbox):
    at = app_test("gallery")
    made(studio(), sandbox, ["**bold** <b>tag</b> [link](evil) # not a heading"])
    at.run()
    assert "**bold** <b>tag</b> [link](evil) # not a heading" in [element.value for element in at.text]


def test_pager_walks_to_older_jobs_and_back(app_test, studio, sandbox):
    at = app_test("gallery")
    # Legnext (and the sandbox) run six jobs at a time: make them six by six.
    for start in range(0, 26, 6):
        made(studio(), sandbox, [f"Job number {n}" for n in range(start, min(start + 6, 26))])
    at.run()
    texts = [element.value for element in at.text]
    assert "Job number 25" in texts and "Job number 1" not in texts
    at.button(key="gallery:older").click().run()
    texts = [element.value for element in at.text]
    assert "Job number 1" in texts and "Job number 0" in texts and "Job number 25" not in texts
    at.button(key="gallery:newer").click().run()
    assert "Job number 25" in [element.value for element in at.text]


def test_create_shows_the_latest_jobs_with_progress_then_posters_and_follow_ups(app_test, studio, sandbox):
    at = app_test("create")
    at.text_area(key="create:text:prompt").input("A kite over the dunes")
    at.button(key="text:submit").click().run()
    assert not at.exception
    assert "Your latest jobs" in [element.value for element in at.subheader]
    assert any("Pending" in str(bar.proto.text) for bar in at.get("progress"))
    finish_jobs(studio(), sandbox)
    at.run()
    assert not at.exception
    assert len(at.get("image")) == 4
    labels = [link.proto.label for link in at.get("page_link")]
    assert {"Extend", "Upscale", "Remix"} <= set(labels)


def test_create_feed_cuts_a_long_prompt_as_the_gallery_does(app_test, studio, sandbox):
    at = app_test("create")
    long_prompt = "A fox in the snow, " * 300  # 5,700 characters: Legnext takes up to 8,192
    submit_job(studio(), JobRequest(kind=JobKind.TEXT_VIDEO, prompt=long_prompt))
    at.run()
    assert not at.exception
    (shown,) = [element.value for element in at.text if element.value.startswith("A fox in the snow")]
    assert len(shown) == CARD_PROMPT_CHARS and shown.endswith("…")


def test_picked_results_are_counted_compared_and_hidden_together(app_test, studio, sandbox):
    at = app_test("gallery")
    fox, heron = made(studio(), sandbox, ["A fox in the snow", "A heron at dawn"])
    at.run()
    at.checkbox(key=f"gallery:pick:{fox}:0").check().run()
    at.checkbox(key=f"gallery:pick:{heron}:2").check().run()
    assert not at.exception
    assert "**2 selected**" in [element.value for element in at.markdown]
    assert not at.button(key="gallery:compare-picked").disabled
    at.button(key="gallery:clear").click().run()
    assert not at.checkbox(key=f"gallery:pick:{fox}:0").value
    assert not any(element.value.endswith("selected**") for element in at.markdown)
    at.checkbox(key=f"gallery:pick:{fox}:0").check().run()
    at.checkbox(key=f"gallery:pick:{heron}:2").check().run()
    assert "**2 selected**" in [element.value for element in at.markdown]
    at.button(key="gallery:hide-picked").click().run()
    assert not at.exception
    assert studio().store.get(fox).hidden and studio().store.get(heron).hidden
    assert "No job matches" in page_text(at)
    assert not any(element.value.endswith("selected**") for element in at.markdown)


def test_compare_takes_two_to_four_picked_videos(app_test, studio, sandbox):
    at = app_test("gallery")
    fox, heron = made(studio(), sandbox, ["A fox in the snow", "A heron at dawn"])
    at.run()
    picks = [(fox, 0), (fox, 1), (fox, 2), (fox, 3), (heron, 0)]
    for count, (local_id, index) in enumerate(picks, start=1):
        at.checkbox(key=f"gallery:pick:{local_id}:{index}").check().run()
        assert f"**{count} selected**" in [element.value for element in at.markdown]
        assert at.button(key="gallery:compare-picked").disabled is not (2 <= count <= 4), count
    at.checkbox(key=f"gallery:pick:{heron}:0").uncheck().run()
    at.button(key="gallery:compare-picked").click().run()
    assert not at.exception
    videos = at.get("video")
    assert len(videos) == 4
    assert all(v.proto.loop and v.proto.autoplay and v.proto.muted for v in videos), "side by side, looped"


def test_compare_cuts_long_prompts_as_the_cards_do(app_test, studio, sandbox):
    at = app_test("gallery")
    long_prompt = "A heron at dawn, " * 300
    fox, heron = made(studio(), sandbox, ["A fox in the snow", long_prompt])
    at.run()
    at.checkbox(key=f"gallery:pick:{fox}:0").check().run()
    at.checkbox(key=f"gallery:pick:{heron}:2").check().run()
    at.button(key="gallery:compare-picked").click().run()
    assert not at.exception
    assert len(at.get("video")) == 2, "the compare dialog plays both"
    assert all(len(element.value) <= CARD_PROMPT_CHARS for element in at.text)


def test_make_a_zip_offers_a_link_to_the_streamed_file(app_test, studio, sandbox, tmp_path):
    import io
    import zipfile

    at = app_test("gallery")
    (fox,) = made(studio(), sandbox, ["A fox in the snow"])
    current = studio()
    record = current.store.get(fox)
    folder = current.settings.media_dir / record.job_id
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(4):
        (folder / f"{n}.mp4").write_bytes(bytes([n]) * (1000 + n))
        paths.append(str(folder / f"{n}.mp4"))
    current.store.update_tracking(fox, media_paths=paths)
    at.run()
    at.checkbox(key=f"gallery:pick:{fox}:0").check().run()
    at.checkbox(key=f"gallery:pick:{fox}:3").check().run()
    at.button(key="gallery:zip-picked").click().run()
    assert not at.exception
    (link,) = [b for b in at.link_button if b.label.startswith("Download legnext-2-videos.zip")]
    assert re.fullmatch(r"Download legnext-2-videos\.zip \(\d KB\)", link.label), (
        "a small ZIP in KB, not 0.0 MB"
    )
    token, name = link.proto.url.split("/")[-2:]
    made_zip = current.settings.data_dir / "downloads" / token / name
    with zipfile.ZipFile(io.BytesIO(made_zip.read_bytes())) as archive:
        assert archive.namelist() == [f"legnext-{record.job_id}-video-{n}.mp4" for n in (1, 4)]
    # Another selection makes the old ZIP go: it no longer holds what is picked.
    at.checkbox(key=f"gallery:pick:{fox}:3").uncheck().run()
    assert not made_zip.exists()
    assert not [b for b in at.link_button if b.label.startswith("Download legnext-")]


def _chain_players(at) -> list[dict]:
    """The data each chain player on the page was given (the component's JSON)."""
    return [json.loads(element.proto.json) for element in at.get("bidi_component")]


def _archive(current, local_id: str, indexes) -> None:
    """Archived copies of some of a job's videos, as the tracker's archiving step leaves them."""
    record = current.store.get(local_id)
    folder = current.settings.media_dir / record.job_id
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[str | None] = [None] * 4
    for n in indexes:
        (folder / f"{n}.mp4").write_bytes(bytes([n]) * (1000 + n))
        paths[n] = str(folder / f"{n}.mp4")
    current.store.update_tracking(local_id, media_paths=paths)


def _extended(studio, sandbox, prompt: str, index: int) -> tuple[str, str]:
    """A text video and an extension of its video ``index + 1``: their local ids."""
    (first,) = made(studio(), sandbox, [prompt])
    parent = studio().store.get(first)
    extension = submit_job(
        studio(), JobRequest(kind=JobKind.EXTEND, prompt="higher", parent_job_id=parent.job_id, index=index)
    ).local_id
    finish_jobs(studio(), sandbox)
    return first, extension


def test_the_player_offers_an_extension_chain_in_one_player_and_the_prompt_to_copy(app_test, studio, sandbox):
    at = app_test("gallery")
    first, extension = _extended(studio, sandbox, "A kite over the dunes `x` **y**", 2)
    _archive(studio(), first, [2])
    _archive(studio(), extension, [1])
    at.run()
    at.button(key=f"gallery:play:{extension}:1").click().run()
    assert not at.exception
    assert "higher" in [block.value for block in at.code]
    # The opened video first; the chain a tab away.
    assert [tab.label for tab in at.tabs] == ["Video 2", "The whole chain, in order (2 parts)"]
    (player,) = _chain_players(at)
    parts = player["parts"]
    assert [(part["title"], part["label"]) for part in parts] == [
        ("Part 1 of 2", "Text to video, video 3"),
        ("Part 2 of 2", "Extension, video 2"),
    ]
    # Each part plays its archived copy, served by Streamlit's media endpoint as st.video serves one
    # (AppTest's stand-in storage answers /mock/media/).
    assert all(re.fullmatch(r"(/mock)?/media/[0-9a-f]+\.mp4", part["url"]) for part in parts)
    assert len({part["url"] for part in parts}) == 2
    remix = [link.proto for link in at.get("page_link") if link.proto.label == "Remix"]
    assert [link.query_string for link in remix] == [f"rerun={extension}"]
    at.button(key=f"gallery:play:{first}:0").click().run()
    # The prompt is offered literally (a code block), with no chain for a video that was not extended.
    assert "A kite over the dunes `x` **y**" in [block.value for block in at.code]
    assert _chain_players(at) == [] and not at.tabs


def test_a_chain_part_plays_from_its_url_when_not_archived_and_one_with_no_video_is_skipped(
    app_test, studio, sandbox
):
    at = app_test("gallery")
    first, extension = _extended(studio, sandbox, "A heron at dawn", 0)
    current = studio()
    _archive(current, extension, [0])
    # The extension's video 2 has no URL and no copy; its video 3 a URL no browser should be sent to.
    record = current.store.get(extension)
    urls = [record.video_urls[0], "", "javascript:alert(1)", record.video_urls[3]]
    current.store._change(extension, lambda r: r.replace(video_urls=urls))  # noqa: SLF001 - a broken answer
    at.run()
    at.button(key=f"gallery:play:{extension}:0").click().run()
    (player,) = _chain_players(at)
    parts = player["parts"]
    assert [part["title"] for part in parts] == ["Part 1 of 2", "Part 2 of 2"]
    assert parts[0]["url"] == current.store.get(first).video_urls[0], "not archived: Legnext's URL"
    assert re.fullmatch(r"(/mock)?/media/[0-9a-f]+\.mp4", parts[1]["url"])
    for index in (1, 2):
        at.button(key=f"gallery:play:{extension}:{index}").click().run()
        assert not at.exception
        (player,) = _chain_players(at)
        assert [part["title"] for part in player["parts"]] == ["Part 1 of 2"]
        skipped = (
            f"Part 2 of 2 (Extension, video {index + 1}) is neither archived nor reachable any more: skipped."
        )
        assert skipped in [caption.value for caption in at.caption]


def test_a_card_shows_its_tags_literally(app_test, studio, sandbox):
    at = app_test("gallery")
    (fox,) = made(studio(), sandbox, ["A fox in the snow"])
    gallery.set_tags(studio().store, fox, "**night**, <b>x</b>")
    at.run()
    assert not at.exception
    assert ":material/sell: `**night**` `<b>x</b>`" in [caption.value for caption in at.caption]


def test_a_freshly_opened_gallery_offers_the_tags_of_its_cards_in_its_filter(app_test, studio, sandbox):
    first = app_test("gallery")
    (fox,) = made(studio(), sandbox, ["A fox in the snow"])
    gallery.set_tags(studio().store, fox, "**night**, <b>x</b>")
    at = app_test("gallery")  # a new session: the filter bar is drawn before the cards it reads
    assert not at.exception and not first.exception
    assert at.multiselect(key="gallery-tags").options == ["**night**", "<b>x</b>"]


def test_cards_say_a_status_in_its_own_words(app_test, studio):
    at = app_test("gallery")
    current = studio()
    unknown_outcome(current, "A fox in the snow")
    at.run()
    assert not at.exception
    assert any("**Text to video** · outcome unknown · " in element.value for element in at.markdown)


def test_show_hidden_marks_the_cards_it_brings_back(app_test, studio, sandbox):
    at = app_test("gallery")
    fox, _ = made(studio(), sandbox, ["A fox in the snow", "A heron at dawn"])
    gallery.set_hidden(studio().store, fox, True)
    at.toggle(key="gallery-hidden").set_value(True).run()
    assert not at.exception
    headers = [element.value for element in at.markdown if element.value.startswith("**Text to video**")]
    assert len(headers) == 2
    assert sum(header.endswith(":material/visibility_off: hidden") for header in headers) == 1

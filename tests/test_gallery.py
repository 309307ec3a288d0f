"""The Gallery's data path: newest-first pages by position, every filter, favourites, tags, hidden."""

from __future__ import annotations

import pytest

from legnext_core.gallery import (
    GalleryFilter,
    card_of,
    load_page,
    normalise_tags,
    prompt_line,
    set_favourite,
    set_hidden,
    set_tags,
    toggle_favourite,
)
from legnext_core.models import JobKind, JobRequest
from legnext_core.records import JobRecord
from legnext_core.store import JobStore
from tests.helpers import TickingClock


@pytest.fixture
def store(tmp_path):
    with JobStore(tmp_path / "jobs.json", clock=TickingClock()) as store:
        yield store


def add(store: JobStore, prompt: str, kind: JobKind = JobKind.TEXT_VIDEO) -> str:
    request = JobRequest(kind, prompt=prompt)
    record = store.add_intent(
        request, api_mode="sandbox", api_base_url="http://127.0.0.1/api", estimated_points=1
    )
    return record.local_id


def prompts(page) -> list[str]:
    return [card.prompt for card in page.cards]


def test_pages_are_newest_first_and_stay_put_while_new_jobs_arrive(store):
    for n in range(7):
        add(store, f"job {n}")
    first = load_page(store, GalleryFilter(), per_page=3)
    assert prompts(first) == ["job 6", "job 5", "job 4"]
    add(store, "job 7")  # arrives while the first page is open
    second = load_page(store, GalleryFilter(), before=first.older, per_page=3)
    assert prompts(second) == ["job 3", "job 2", "job 1"]
    last = load_page(store, GalleryFilter(), before=second.older, per_page=3)
    assert prompts(last) == ["job 0"] and last.older is None


def test_an_exactly_full_last_page_has_no_older_page(store):
    for n in range(3):
        add(store, f"job {n}")
    page = load_page(store, GalleryFilter(), per_page=3)
    assert len(page.cards) == 3 and page.older is None


def test_setting_a_favourite_twice_keeps_what_was_asked(store):
    heron = add(store, "a heron")
    for _ in range(2):  # the same click received twice
        set_favourite(store, heron, 1, True)
    assert store.get(heron).favourite_variants == [1]
    for _ in range(2):
        set_favourite(store, heron, 1, False)
    assert not store.get(heron).favourite_variants
    with pytest.raises(KeyError):
        set_favourite(store, "no-such-job", 0, True)


def test_favourites_tags_and_hidden_filter_and_survive_reopening(store, tmp_path):
    fox, heron, owl = add(store, "a fox"), add(store, "a heron"), add(store, "an owl")
    assert toggle_favourite(store, heron, 2) is True
    assert toggle_favourite(store, heron, 0) is True
    assert toggle_favourite(store, heron, 0) is False
    set_tags(store, fox, "Winter, snow ,winter")
    set_hidden(store, owl, True)
    store.close()
    with JobStore(tmp_path / "jobs.json") as reopened:
        assert reopened.get(heron).favourite_variants == [2]
        assert reopened.get(fox).tags == ["Winter", "snow"]
        assert prompts(load_page(reopened, GalleryFilter(favourites_only=True))) == ["a heron"]
        assert prompts(load_page(reopened, GalleryFilter(tags=("winter", "SNOW")))) == ["a fox"]
        assert prompts(load_page(reopened, GalleryFilter())) == ["a heron", "a fox"]
        assert prompts(load_page(reopened, GalleryFilter(show_hidden=True)))[0] == "an owl"


def test_history_filters_and_the_person_seam(store):
    add(store, "a fox in snow")
    add(store, "a lighthouse", JobKind.IMAGE)
    assert prompts(load_page(store, GalleryFilter(kinds=("image",)))) == ["a lighthouse"]
    assert prompts(load_page(store, GalleryFilter(text="SNOW"))) == ["a fox in snow"]
    assert prompts(load_page(store, GalleryFilter(statuses=("completed",)))) == []
    assert prompts(load_page(store, GalleryFilter(person="ann@example.com"))) == []
    # Records from sign-in carry submitted_by; the filter matches it case-insensitively.
    keep = GalleryFilter(person="Ann@Example.com").predicate()
    assert keep({"local_id": "a", "submitted_by": "ann@example.com", "prompt": "x"})
    assert not keep({"local_id": "b", "submitted_by": "bob@example.com", "prompt": "x"})
    # A record from before sign-in reads back as made by "local", and the filter says the same.
    assert GalleryFilter(person="local").predicate()({"local_id": "c", "prompt": "x"})


def test_cards_carry_one_tile_per_output_with_its_poster_and_favourite():
    record = {
        "local_id": "x",
        "kind": "text_video",
        "status": "completed",
        "video_urls": ["https://a/0.mp4", "https://a/1.mp4"],
        "media_paths": ["/m/0.mp4", None],
        "thumbnails": ["/m/0.poster.jpg", None],
        "favourite_variants": [1],
    }
    card = card_of(JobRecord.from_dict(record))
    assert [(t.index, t.poster, t.media, t.favourite) for t in card.tiles] == [
        (0, "/m/0.poster.jpg", "/m/0.mp4", False),
        (1, None, None, True),
    ]
    assert card.tiles[1].label == "Video 2"


@pytest.mark.parametrize(
    ("kind", "prompt", "shown"),
    [
        ("text_video", "A fox " * 100, ("A fox " * 30).strip()[:179] + "…"),
        ("upscale", None, "(an upscale takes no prompt)"),
        ("extend", None, "(no new prompt: it continues its video's own)"),
        ("extend", "the camera pulls back", "the camera pulls back"),
        ("image_url_video", None, "(no prompt)"),
    ],
)
def test_a_card_says_its_prompt_cut_or_why_it_has_none(kind, prompt, shown):
    card = card_of(
        JobRecord.from_dict({"local_id": "x", "kind": kind, "status": "completed", "prompt": prompt})
    )
    assert prompt_line(card) == shown


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("x" * 33, "at most 32 characters"),
        (",".join(f"t{n}" for n in range(13)), "at most 12 tags"),
        ("sea,dusk\x00", r"invisible control character \(U\+0000\) at position 5"),
    ],
)
def test_bad_tags_are_refused_with_a_sentence(raw, message):
    with pytest.raises(ValueError, match=message):
        normalise_tags(raw)


def test_update_library_refuses_other_fields(store):
    local_id = add(store, "a fox")
    with pytest.raises(ValueError):
        store.update_library(local_id, status="completed")


def test_positions_hold_across_compaction_changes_and_another_process_adding_jobs(store, tmp_path):
    ids = [add(store, f"job {n}") for n in range(6)]
    first = load_page(store, GalleryFilter(), per_page=2)
    assert prompts(first) == ["job 5", "job 4"] and first.older == 4
    # A change to an old record keeps its place; a compaction rewrites the snapshot in log order.
    set_tags(store, ids[0], "keep")
    assert store.storage.compact()
    # Another process (its own store on the same file) adds a job while this page is open.
    with JobStore(tmp_path / "jobs.json") as other:
        add(other, "job 6")
    second = load_page(store, GalleryFilter(), before=first.older, per_page=2)
    assert prompts(second) == ["job 3", "job 2"]
    assert prompts(load_page(store, GalleryFilter(), per_page=1)) == ["job 6"]
    with JobStore(tmp_path / "jobs.json") as reopened:
        assert prompts(load_page(reopened, GalleryFilter(), before=second.older)) == ["job 1", "job 0"]


def test_a_page_builds_typed_records_only_for_the_cards_it_shows(store):
    for n in range(5):
        add(store, f"job {n}")
    records, older = store.newest_page(lambda data: "job" in data["prompt"], limit=2)
    assert [type(r) for r in records] == [JobRecord, JobRecord] and older == 3
    assert [r.prompt for r in records] == ["job 4", "job 3"]
    assert store.newest_page(lambda data: True, limit=2, before=0) == ([], None)


def test_an_extension_chain_is_played_from_its_first_video(store):
    from legnext_core.gallery import extension_chain
    from legnext_core.models import Job

    def made(local_id: str, job_id: str) -> JobRecord:
        store.record_accepted(local_id, Job.from_api({"job_id": job_id, "status": "pending"}))
        return store.get(local_id)

    first = made(add(store, "a kite"), "job-1")
    request = JobRequest(JobKind.EXTEND, prompt="higher", parent_job_id="job-1", index=2)
    once = store.add_intent(request, api_mode="sandbox", api_base_url="http://x/api", estimated_points=1)
    once = made(once.local_id, "job-2")
    request = JobRequest(JobKind.EXTEND, prompt="", parent_job_id="job-2", index=0)
    twice = store.add_intent(request, api_mode="sandbox", api_base_url="http://x/api", estimated_points=1)
    twice = made(twice.local_id, "job-3")
    chain = extension_chain(store, twice, 3)
    assert [(record.job_id, index) for record, index in chain] == [("job-1", 2), ("job-2", 0), ("job-3", 3)]
    assert [(r.job_id, i) for r, i in extension_chain(store, first, 1)] == [("job-1", 1)]


def test_a_chain_plays_each_part_from_its_archived_copy_else_its_url_and_skips_one_without_video(
    store, tmp_path
):
    from legnext_core.gallery import chain_parts
    from legnext_core.models import Job

    def made(request: JobRequest, job_id: str, urls: list[str]) -> JobRecord:
        local_id = store.add_intent(
            request, api_mode="sandbox", api_base_url="http://x/api", estimated_points=1
        ).local_id
        output = {"video_urls": urls} if urls else {}
        store.record_accepted(
            local_id, Job.from_api({"job_id": job_id, "status": "completed", "output": output})
        )
        return store.get(local_id)

    media = tmp_path / "media"
    (media / "job-1").mkdir(parents=True)
    (media / "job-1" / "2.mp4").write_bytes(b"video")
    urls = [f"https://cdn.example/job-1/{n}.mp4" for n in range(4)]
    first = made(JobRequest(JobKind.TEXT_VIDEO, prompt="a kite"), "job-1", urls)
    store.update_tracking(first.local_id, media_paths=[None, None, "job-1/2.mp4", None])
    # An extension whose result never came back (no URL, nothing archived), then one with its URL only.
    gap = made(JobRequest(JobKind.EXTEND, prompt="", parent_job_id="job-1", index=2), "job-2", [])
    last_urls = [f"https://cdn.example/job-3/{n}.mp4" for n in range(4)]
    last = made(JobRequest(JobKind.EXTEND, prompt="", parent_job_id="job-2", index=0), "job-3", last_urls)

    parts = chain_parts(store, last, 1, media)
    assert [(part.title, part.label) for part in parts] == [
        ("Part 1 of 3", "Text to video, video 3"),
        ("Part 2 of 3", "Extension, video 1"),
        ("Part 3 of 3", "Extension, video 2"),
    ]
    assert (parts[0].local_file, parts[0].url) == (media / "job-1" / "2.mp4", urls[2])
    assert (parts[1].playable, parts[1].local_file, parts[1].url) == (False, None, None)
    assert (parts[2].local_file, parts[2].url, parts[2].playable) == (None, last_urls[1], True)
    # An archived file that has gone since falls back to the URL, as the Gallery's own player does.
    (media / "job-1" / "2.mp4").unlink()
    assert chain_parts(store, last, 1, media)[0].local_file is None
    assert [part.title for part in chain_parts(store, gap, 0, media)] == ["Part 1 of 2", "Part 2 of 2"]


def test_only_http_urls_are_played():
    from legnext_core.gallery import web_url

    assert web_url("https://cdn.example/a.mp4") == "https://cdn.example/a.mp4"
    assert web_url("HTTP://127.0.0.1:9/a.mp4") == "HTTP://127.0.0.1:9/a.mp4"
    assert [web_url(u) for u in ("", None, "javascript:alert(1)", "/etc/passwd", "data:video/mp4,x")] == [
        None
    ] * 5


def test_a_text_search_through_the_history_table_finds_what_the_walk_finds(store):
    from legnext_core.history import HistoryTable

    ids = [add(store, f"a {'fox' if n % 3 else 'heron'} number {n}") for n in range(12)]
    set_hidden(store, ids[10], True)
    toggle_favourite(store, ids[7], 1)
    set_tags(store, ids[4], "winter")
    table = HistoryTable(store)
    cases = [
        GalleryFilter(text="FOX"),
        GalleryFilter(text="fox", show_hidden=True),
        GalleryFilter(text="fox", favourites_only=True),
        GalleryFilter(text="fox", tags=("Winter",)),
        GalleryFilter(text="heron", kinds=("text_video",)),
        GalleryFilter(text="no such words"),
    ]
    for filters in cases:
        walked = prompts(load_page(store, filters, per_page=50))
        searched = prompts(load_page(store, filters, per_page=50, history=table))
        assert searched == walked, filters

    # Paged by place among the matches: every match once, newest first.
    seen, before = [], None
    while True:
        page = load_page(store, GalleryFilter(text="fox"), per_page=3, before=before, history=table)
        seen += prompts(page)
        if page.older is None:
            break
        before = page.older
    assert seen == prompts(load_page(store, GalleryFilter(text="fox"), per_page=50))
    # A job added later is found by the same search asked again (nothing kept from before is stale).
    add(store, "a fox arriving late")
    assert prompts(load_page(store, GalleryFilter(text="fox"), history=table))[0] == "a fox arriving late"


def test_a_person_s_jobs_through_the_history_table_are_what_the_walk_finds(store, monkeypatch):
    from legnext_core.history import HistoryTable

    people = ("ana@team.test", "bo@team.test", None)  # None: a job logged without sign-in ("local")
    for n in range(12):
        request = JobRequest(JobKind.TEXT_VIDEO, prompt=f"job {n} by {people[n % 3]}")
        extra = {"submitted_by": people[n % 3]} if people[n % 3] else {}
        store.add_intent(
            request, api_mode="sandbox", api_base_url="http://127.0.0.1/api", estimated_points=1, **extra
        )
    table = HistoryTable(store)
    cases = [
        GalleryFilter(person="ana@team.test"),
        GalleryFilter(person=" Bo@Team.test "),
        GalleryFilter(person="local"),
        GalleryFilter(person="ana@team.test", text="job 1"),
        GalleryFilter(person="nobody@team.test"),
    ]
    for filters in cases:
        walked = prompts(load_page(store, filters, per_page=50))
        asked = prompts(load_page(store, filters, per_page=50, history=table))
        assert asked == walked, filters
    assert prompts(load_page(store, GalleryFilter(person="ana@team.test"), per_page=2, history=table)) == [
        "job 9 by ana@team.test",
        "job 6 by ana@team.test",
    ]
    assert len(prompts(load_page(store, GalleryFilter(person="local"), per_page=50, history=table))) == 4
    # A person with no jobs (a newcomer on Create) costs no walk of the whole log.
    monkeypatch.setattr(store, "newest_page", lambda *a, **k: pytest.fail("walked the log"))
    assert prompts(load_page(store, GalleryFilter(person="nobody@team.test"), history=table)) == []

"""How fast the Gallery refreshes at 10,000 and 100,000 jobs, and how many bytes each refresh sends.

Prints JSON lines, for each log size:

- ``gallery.data_path``: one refresh's read of the log (``gallery.load_page``: newest-first walk that
  stops when the page is full; a text search asks the shared History table's columns instead) beside
  what History's path costs on the same log (``store.recent``: every match, sorted), with the ratio,
  for no filter, text searches and favourites only; for a search also the newest-first walk of the
  log it replaced (``log_walk_median_ms``) and that ratio, and a search asked for the first time
  (``table_first_ask_median_ms``: the table remembers its answers until the log changes);
- ``gallery.page_script_run``: with no filter and with a search matching nothing, the whole
  dashboard script with the Gallery open (Streamlit's AppTest
  against a local sandbox), and the bytes of the elements one refresh sends (protobuf, posters are sent
  as URLs: a browser fetches each poster once, ~13 KB, see ``benchmarks.thumbnails``). With no filter
  it is timed twice: just after the start, while the tracker's look for missing media after a restart
  still walks the log beside the page (``tracker``: ``looking_for_missing_media``; this log's media are
  not on disk, so it finds all of them missing), and once that is done (``settled``, with
  ``media_scan_seconds``: how long after the start it finished).

    python -m benchmarks.gallery [--jobs 10000 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.job_records import make_record
from legnext_core.gallery import GalleryFilter, load_page
from legnext_core.history import HistoryTable
from legnext_core.records import JobRecord
from legnext_core.store import JobStore


def build_log(path: Path, jobs: int) -> None:
    """A log like History's benchmark, with archived media, posters, some favourites and tags."""
    rng = random.Random(7)
    now = time.time()
    made = [JobRecord.from_dict(make_record(rng, now)) for _ in range(jobs)]
    made.sort(key=lambda record: record.sort_time)  # written oldest first, as a log grows
    records = {}
    for record in made:
        if record.video_urls:
            folder = f"{path.parent}/media/{record.job_id}"
            record = record.replace(
                media_paths=[f"{folder}/{n}.mp4" for n in range(4)],
                thumbnails=[f"{folder}/{n}.poster.jpg" for n in range(4)],
            )
            if rng.random() < 0.05:
                record = record.replace(favourite_variants=[rng.randrange(4)])
            if rng.random() < 0.1:
                record = record.replace(tags=rng.sample(["client", "winter", "draft", "keep"], 2))
        records[record.local_id] = record.to_dict()
    path.write_text(json.dumps({"jobs": records}))
    # One write through the store gives the file its generation token, so later reads hit the cache
    # as they do in a running dashboard.
    with JobStore(path) as store:
        store.update_library(made[0].local_id, tags=["first"])


def timed(action, repeat: int) -> list[float]:
    action()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return times


def data_path(store: JobStore, jobs: int, repeat: int) -> None:
    cases = {
        "no_filter": GalleryFilter(),
        # Prompts draw on ~50 words: one is in most prompts, a word pair in ~2%, and "lanterns" in none
        # (the walk reads the whole log: the worst case).
        "text_search_common": GalleryFilter(text="lighthouse"),
        "text_search_rare": GalleryFilter(text="fox running"),
        "text_search_no_match": GalleryFilter(text="lanterns"),
        "favourites_only": GalleryFilter(favourites_only=True),
    }
    # The process's shared History table, as the dashboard holds it (built once at start).
    table = HistoryTable(store)
    table.sync()
    for name, filters in cases.items():
        gallery = timed(lambda f=filters: load_page(store, f, history=table), repeat)
        history = timed(lambda f=filters: store.recent(None, text=f.text or None), repeat)
        figures = {
            "metric": "gallery.data_path",
            "case": name,
            "jobs": jobs,
            "gallery_median_ms": round(statistics.median(gallery), 2),
            "history_style_median_ms": round(statistics.median(history), 2),
            "ratio": round(statistics.median(history) / max(statistics.median(gallery), 1e-6), 1),
        }
        if filters.text:
            # What the search cost before it read the table: the newest-first walk of the log.
            walk = timed(lambda f=filters: load_page(store, f), repeat)
            figures["log_walk_median_ms"] = round(statistics.median(walk), 2)
            figures["walk_over_table_ratio"] = round(
                statistics.median(walk) / max(statistics.median(gallery), 1e-6), 1
            )
        if name == "text_search_no_match":
            # A refresh with the log unchanged reuses the table's answer; a new search (or a changed log)
            # reads the prompt column again: each repetition here asks a word it has not asked before.
            words = iter(range(repeat + 1))
            first = timed(
                lambda f=filters, n=words: load_page(
                    store, replace(f, text=f"{f.text}{next(n)}"), history=table
                ),
                repeat,
            )
            figures["table_first_ask_median_ms"] = round(statistics.median(first), 2)
        print(json.dumps(figures), flush=True)


def element_bytes(at) -> int:
    total = 0

    def walk(node) -> None:
        nonlocal total
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ByteSize"):
            total += proto.ByteSize()
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return total


def page_script(folder: Path, jobs: int, repeat: int) -> None:
    from streamlit.testing.v1 import AppTest

    from legnext_core.sandbox import SandboxConfig, SandboxServer
    from legnext_core.studio import current_studio, shutdown_studio

    def media_scan_done() -> bool:
        studio = current_studio()
        return studio is not None and studio.tracker.health().media_scan_done

    app = str(Path(__file__).resolve().parent.parent / "app.py")
    with SandboxServer(SandboxConfig()) as sandbox:
        os.environ.pop("LEGNEXT_API_KEY", None)
        os.environ["LEGNEXT_SANDBOX_URL"] = sandbox.base_url
        os.environ["LEGNEXT_DATA_DIR"] = str(folder)
        try:
            at = AppTest.from_file(app, default_timeout=300)
            at.secrets["LEGNEXT_BENCHMARK"] = "1"  # keeps AppTest off the real secrets file
            started = time.perf_counter()
            at.run()
            at.switch_page("pages/gallery.py")
            at.run()  # the first run reads and parses the whole log
            assert not at.exception, at.exception
            scan_seconds = None
            cases = (
                ("no_filter", "", False),
                ("no_filter", "", True),
                ("text_search_no_match", "lanterns", True),
            )
            for case, text, settled in cases:
                if settled and scan_seconds is None:
                    while not media_scan_done() and time.perf_counter() - started < 600:
                        time.sleep(0.2)
                    scan_seconds = round(time.perf_counter() - started, 1)
                if text:
                    at.text_input(key="gallery-text").input(text).run()
                times = timed(at.run, repeat)
                assert not at.exception, at.exception
                line = {
                    "metric": "gallery.page_script_run",
                    "case": case,
                    "jobs": jobs,
                    "tracker": "settled" if media_scan_done() else "looking_for_missing_media",
                    "tiles": len(at.get("image")),
                    "median_ms": round(statistics.median(times), 1),
                    "max_ms": round(max(times), 1),
                    "element_bytes_per_refresh": element_bytes(at),
                }
                if settled:
                    line["media_scan_seconds"] = scan_seconds
                print(json.dumps(line), flush=True)
        finally:
            shutdown_studio()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for jobs in args.jobs:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            build_log(folder / "jobs.json", jobs)
            with JobStore(folder / "jobs.json") as store:
                data_path(store, jobs, args.repeat)
            page_script(folder, jobs, args.repeat)


if __name__ == "__main__":
    main()

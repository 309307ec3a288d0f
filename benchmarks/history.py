"""The History page at 1,000 to 100,000 jobs: rerun time, server CPU per tab, bytes, memory. JSON lines.

    python -m benchmarks.history [--sizes 1000 30000 100000] [--rounds 6] [--old-format]

For each size, a job log of realistic records (``benchmarks.job_records``: ~2.3 KB each) is opened by
the dashboard itself, run by Streamlit's AppTest against a local sandbox, with the History page open:

* ``warm_rerun``: the whole page script's run time once the log is loaded (p50, max);
* ``cpu_per_refresh``: CPU (process time) per page run per open tab, with 1 and with 10 tabs open,
  while the log changes between rounds as it does while jobs run (one record per round); ``ms`` is
  the whole process, ``server_ms`` leaves out AppTest's own thread, which does the browser's part.
  Pages are compiled once, as a Streamlit server compiles them (AppTest alone would recompile them
  on every run);
* ``bytes_per_refresh``: the Arrow bytes of the table st.dataframe sends (one page of 100 rows);
* ``rss_mb``: the server process's resident memory with the log and the table loaded (the log is
  built in a child process, so nothing else is counted). The log is as the dashboard writes it: its
  records stay in the snapshot file, read when asked for (the kernel's page cache, which is not the
  process's memory, keeps the pages read often). ``--old-format`` opens one an older dashboard left
  instead (read as a whole on that first open and held in memory until its first compaction, due
  once the journal passes 1 MB, moves the records into the new snapshot).

Targets at 100,000 jobs: warm rerun <= 150 ms and <= 3x the 1,000-job figure; CPU per refresh per tab
<= 30 ms; RSS <= 500 MB. (A page run here is the whole page; the live table refreshes only its
fragment, which does less.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from streamlit.dataframe_util import convert_anything_to_arrow_bytes

from benchmarks.job_records import make_record
from legnext_core.joblog import JournalStorage

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build_log(folder: Path, jobs: int, *, old_format: bool = False) -> None:
    """The log, built in a child process: the memory building it takes is not the server's.

    As the dashboard keeps it (a snapshot of one record per line), or with ``old_format`` as an
    older dashboard left it (one line for the whole log), which the first open reads as a whole.
    """
    command = [sys.executable, "-m", "benchmarks.history", "--build-log", str(folder), str(jobs)]
    subprocess.run(command + (["--old-format"] if old_format else []), check=True)


def write_log(folder: Path, jobs: int, old_format: bool) -> None:
    rng = random.Random(jobs)
    now = time.time()
    records = (make_record(rng, now) for _ in range(jobs))
    body = json.dumps({"jobs": {r["local_id"]: r for r in records}})
    (folder / "jobs.json").write_text(body)
    if not old_format:
        storage = JournalStorage(folder / "jobs.json", background_compaction=False)
        assert storage.compact()  # rewrites the older snapshot one record per line
        storage.close()


def share_script_cache() -> None:
    """Compile each page once, as a Streamlit server does (its runtime keeps one script cache).

    AppTest makes a new cache for every run, so each run would parse and compile ``app.py`` and the
    page again (about a third of a page run's CPU here) where the server serving real tabs does not.
    """
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = lambda: shared  # type: ignore[attr-defined]
    local_script_runner.ScriptCache = lambda: shared  # type: ignore[attr-defined]


def settle(limit: float = 90.0) -> float:
    """Seconds until the server is quiet after its start (under a tenth of a core over a second).

    On start the tracker looks once through every finished job for media still to archive; the
    figures per refresh are taken after that, and this time is reported with the first open.
    """
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        cpu = time.process_time()
        time.sleep(1.0)
        if time.process_time() - cpu < 0.1:
            break
    return time.perf_counter() - started


def open_tab():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["LEGNEXT_BENCHMARK"] = "1"  # keeps AppTest off the real secrets file
    at.run()
    at.switch_page("pages/history.py")
    at.run()
    assert not at.exception, at.exception
    return at


def bench(jobs: int, rounds: int, old_format: bool = False) -> list[dict]:
    from legnext_core.sandbox import SandboxConfig, SandboxServer
    from legnext_core.studio import current_studio, shutdown_studio
    from ui.history_filters import HistoryFilters
    from ui.history_table import load_view

    lines: list[dict] = []
    with (
        tempfile.TemporaryDirectory(prefix="history-bench-") as folder,
        SandboxServer(SandboxConfig()) as sandbox,
    ):
        build_log(Path(folder), jobs, old_format=old_format)
        os.environ.pop("LEGNEXT_API_KEY", None)
        os.environ["LEGNEXT_SANDBOX_URL"] = sandbox.base_url
        os.environ["LEGNEXT_DATA_DIR"] = folder
        try:
            started = time.perf_counter()
            first = open_tab()
            first_open_s = time.perf_counter() - started
            current = current_studio()
            assert current is not None and current.store.count() == jobs
            settle_s = settle()
            rss = rss_mb()
            cpu0 = time.process_time()
            time.sleep(3.0)
            idle_ms_per_s = (time.process_time() - cpu0) * 1000 / 3.0
            changing = [r.local_id for r in current.store.recent(50)]

            runs = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                first.run()
                runs.append((time.perf_counter() - t0) * 1000)
            assert not first.exception, first.exception
            view = load_view(current, HistoryFilters())
            arrow = len(convert_anything_to_arrow_bytes(view.table))

            cpu: dict[int, float] = {}
            server_cpu: dict[int, float] = {}
            for tabs in (1, 10):
                opened = [first] + [open_tab() for _ in range(tabs - 1)]
                t0 = time.process_time()
                # AppTest's own thread plays the browser (it waits for the run and parses every
                # message into its element tree); its CPU is counted apart from the server's.
                client = 0.0
                for number in range(rounds):
                    # The log changes between refreshes, as it does while jobs run.
                    current.store.update_tracking(changing[number % len(changing)], poll_count=number + 100)
                    for tab in opened:
                        c0 = time.thread_time()
                        tab.run()
                        client += time.thread_time() - c0
                total = time.process_time() - t0
                cpu[tabs] = total * 1000 / (rounds * tabs)
                server_cpu[tabs] = (total - client) * 1000 / (rounds * tabs)
            common: dict[str, object] = {"jobs": jobs}
            if old_format:
                common["log"] = "old single-line snapshot, first open"
            lines.append({**common, "metric": "first_open_s", "value": round(first_open_s, 2)})
            lines.append({**common, "metric": "settled_after_open_s", "value": round(settle_s, 1)})
            lines.append({**common, "metric": "idle_cpu_ms_per_s", "value": round(idle_ms_per_s, 1)})
            lines.append(
                {
                    **common,
                    "metric": "warm_rerun",
                    "p50_ms": round(statistics.median(runs), 1),
                    "max_ms": round(max(runs), 1),
                    "target_ms": 150,
                }
            )
            for tabs, value in cpu.items():
                lines.append(
                    {
                        **common,
                        "metric": "cpu_per_refresh_per_tab",
                        "tabs": tabs,
                        "ms": round(value, 1),
                        "server_ms": round(server_cpu[tabs], 1),
                        "target_ms": 30,
                        "note": "ms: whole process; server_ms: without AppTest's thread (the browser's part)",
                    }
                )
            lines.append(
                {**common, "metric": "bytes_per_refresh", "arrow_bytes": arrow, "rows": len(view.local_ids)}
            )
            lines.append({**common, "metric": "rss_mb", "value": round(rss, 1), "target_mb": 500})
            lines.append(
                {
                    **common,
                    "metric": "table_work",
                    "rebuilds": current.history.rebuilds,
                    "computed": current.history.computed,
                }
            )
        finally:
            shutdown_studio()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 30000, 100000])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--old-format", action="store_true", help="an older one-line log, opened once")
    parser.add_argument("--build-log", nargs=2, metavar=("FOLDER", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_log:
        write_log(Path(args.build_log[0]), int(args.build_log[1]), args.old_format)
        return
    share_script_cache()
    results = []
    for jobs in args.sizes:
        for line in bench(jobs, args.rounds, args.old_format):
            results.append(line)
            print(json.dumps(line), flush=True)
    reruns = {line["jobs"]: line["p50_ms"] for line in results if line["metric"] == "warm_rerun"}
    smallest = min(reruns)
    for jobs, value in reruns.items():
        ratio = {
            "metric": "warm_rerun_ratio",
            "jobs": jobs,
            "over_smallest": round(value / reruns[smallest], 2),
        }
        print(json.dumps(ratio), flush=True)


if __name__ == "__main__":
    main()

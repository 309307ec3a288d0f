"""What a poster frame and a looping preview cost to make, and what they save a grid of results.

Makes realistic result videos with PyAV (Midjourney's 480p, 832x464, and 720p, 1280x720; 5 s at 24 fps;
moving, textured content, so the encoder cannot cheat), then times ``make_thumbnail`` on each and prints
JSON lines: milliseconds per video (poster only, and poster + preview), the KB of the poster, the preview
and the video itself, and the ratio of bytes a grid tile sends with a poster or a preview instead of the
video a user would otherwise put there.

    python -m benchmarks.thumbnails [--videos 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from legnext_core.thumbnails import make_thumbnail

SIZES = {"480p": (832, 464), "720p": (1280, 720)}
SECONDS = 5
FPS = 24


def make_video(path: Path, width: int, height: int, seed: int) -> Path:
    """A 5 s H.264 clip with a moving gradient and grain, like a generated shot (bitrate ~1-3 Mbit/s)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        for index in range(SECONDS * FPS):
            t = index / FPS
            red = 127 + 120 * np.sin(xs / 70 + t * 2 + seed)
            green = 127 + 120 * np.sin(ys / 50 - t * 1.5)
            blue = 127 + 120 * np.sin((xs + ys) / 90 + t)
            rgb = np.stack([red, green, blue], axis=-1) + rng.normal(0, 6, (height, width, 1))
            frame = av.VideoFrame.from_ndarray(np.clip(rgb, 0, 255).astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def measure(folder: Path, label: str, size: tuple[int, int], videos: int, repeat: int) -> dict:
    paths = [make_video(folder / f"{label}-{i}.mp4", *size, seed=i) for i in range(videos)]
    make_thumbnail(paths[0])  # first-use costs (codec set-up) are not per video
    poster_ms, both_ms = [], []
    for _ in range(repeat):
        for path in paths:
            start = time.perf_counter()
            make_thumbnail(path, preview=False)
            poster_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            made = make_thumbnail(path)
            both_ms.append((time.perf_counter() - start) * 1000)
    assert made is not None and made.preview is not None
    video_kb = statistics.mean(p.stat().st_size for p in paths) / 1024
    poster_kb = statistics.mean((p.with_name(p.stem + ".poster.jpg")).stat().st_size for p in paths) / 1024
    preview_kb = statistics.mean((p.with_name(p.stem + ".preview.webp")).stat().st_size for p in paths) / 1024
    return {
        "figure": "thumbnail_cost",
        "resolution": label,
        "size": f"{size[0]}x{size[1]}",
        "seconds": SECONDS,
        "videos": videos,
        "poster_ms_p50": round(statistics.median(poster_ms), 1),
        "poster_and_preview_ms_p50": round(statistics.median(both_ms), 1),
        "poster_and_preview_ms_max": round(max(both_ms), 1),
        "video_kb": round(video_kb, 1),
        "poster_kb": round(poster_kb, 1),
        "preview_kb": round(preview_kb, 1),
        "tile_bytes_video_over_poster": round(video_kb / poster_kb, 1),
        "tile_bytes_video_over_preview": round(video_kb / preview_kb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, size in SIZES.items():
            print(json.dumps(measure(Path(tmp), label, size, args.videos, args.repeat)), flush=True)


if __name__ == "__main__":
    main()

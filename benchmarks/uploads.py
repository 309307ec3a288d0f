"""What an uploaded start image costs the dashboard: check, strip and store; prints JSON lines.

Realistic pictures, made here with noise so they compress like photos do: a 12-megapixel phone photo
(JPEG with EXIF and GPS), a 4K screenshot (PNG), a 2K WebP, and a picture at the 20 MB limit. For each:
milliseconds to check, strip and store (median of ``--runs``), bytes in and out, and, side by side, what
the person would otherwise do: nothing (a URL typed by hand costs the dashboard one HEAD-like check,
not measured here) or decode only (Pillow's open and load, the floor any check by content pays), with
the ratio of the two.

    python -m benchmarks.uploads
    python -m benchmarks.uploads --runs 5
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from legnext_core.settings import load_settings
from legnext_core.uploads import UPLOAD_MAX_BYTES, store_upload


def _photo(size: tuple[int, int], kind: str, **options: object) -> bytes:
    # Noise over a gradient: close to a photo's entropy, so sizes and encode times are realistic.
    noise = Image.effect_noise(size, 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    picture = Image.blend(noise, gradient, 0.5)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buffer = io.BytesIO()
    picture.save(buffer, format=kind, exif=exif.tobytes(), **options)
    return buffer.getvalue()


def pictures() -> dict[str, bytes]:
    found = {
        "phone_photo_12mp_jpeg": _photo((4032, 3024), "JPEG", quality=90),
        "screenshot_4k_png": _photo((3840, 2160), "PNG", compress_level=6),
        "webp_2k": _photo((2048, 1536), "WEBP", quality=85),
    }
    # A 24-megapixel camera photo at high quality: the large end of what is under the limit.
    camera = _photo((6000, 4000), "JPEG", quality=95)
    if len(camera) <= UPLOAD_MAX_BYTES:
        found["camera_photo_24mp_jpeg"] = camera
    return found


def _median_ms(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings({"LEGNEXT_DATA_DIR": folder}, {}, server_port=8501)
        for name, data in pictures().items():

            def decode_only(data: bytes = data) -> None:
                with Image.open(io.BytesIO(data)) as picture:
                    picture.load()

            def upload(data: bytes = data, name: str = name) -> None:
                for stored in Path(settings.uploads_dir).glob("*"):
                    stored.unlink()  # a fresh store each run: the hash hit would skip the write
                store_upload(data, name, settings)

            stored = store_upload(data, name, settings)
            upload_ms = _median_ms(upload, args.runs)
            decode_ms = _median_ms(decode_only, args.runs)
            print(
                json.dumps(
                    {
                        "benchmark": "upload",
                        "picture": name,
                        "pixels": stored.width * stored.height,
                        "bytes_in": len(data),
                        "bytes_stored": stored.size,
                        "stored_ratio": round(stored.size / len(data), 2),
                        "check_strip_store_ms": upload_ms,
                        "decode_only_ms": decode_ms,
                        "ratio_to_decode_only": round(upload_ms / decode_ms, 2) if decode_ms else None,
                        "runs": args.runs,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()

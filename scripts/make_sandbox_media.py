"""Make the sample media the Legnext sandbox serves as job results.

The files are committed under ``legnext_core/sandbox/media/``; ffmpeg is needed only to remake them,
never at run time. Each clip is a few seconds at a small size, with its own colour and a large label
("VIDEO 1".."VIDEO 4", "UPSCALED"), a moving bar and a running clock, so a person can tell the variants
apart and see that playback advances.

Video codec: H.264 (main profile, yuv420p) in MP4 with the index at the front ("faststart"), like
Legnext's own results. Debian's Chromium, the browser the end-to-end tests drive, plays it (checked by
tests/test_sandbox_media.py, which watches ``video.currentTime`` advance in headless Chromium).

    python scripts/make_sandbox_media.py            # rewrite the media
    python scripts/make_sandbox_media.py --check    # fail if ffmpeg would be missing
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

MEDIA_DIR = Path(__file__).resolve().parent.parent / "legnext_core" / "sandbox" / "media"

VIDEO_VARIANTS = {
    "video_0": ("0x1565c0", "VIDEO 1"),
    "video_1": ("0xc62828", "VIDEO 2"),
    "video_2": ("0x2e7d32", "VIDEO 3"),
    "video_3": ("0x6a1b9a", "VIDEO 4"),
}
UPSCALE_VARIANT = ("upscaled", "0xef6c00", "UPSCALED")
IMAGE_VARIANTS = {
    "image_0": ("0x1565c0", "IMAGE 1"),
    "image_1": ("0xc62828", "IMAGE 2"),
    "image_2": ("0x2e7d32", "IMAGE 3"),
    "image_3": ("0x6a1b9a", "IMAGE 4"),
}
SECONDS = 4
FPS = 12


def _font_file() -> str:
    """A bold sans font file, found through fontconfig so no path is written into the repo."""
    found = subprocess.run(
        ["fc-match", "-f", "%{file}", "DejaVu Sans:bold"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not found:
        raise SystemExit("fontconfig found no font for drawtext")
    return found


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _text(font: str, text: str, size: int, y: str) -> str:
    # drawtext needs ':' and '%' escaped inside its option string.
    return (
        f"drawtext=fontfile='{font}':text='{text}':fontcolor=white:fontsize={size}"
        f":x=(w-text_w)/2:y={y}:borderw=2:bordercolor=black"
    )


def make_clip(name: str, colour: str, label: str, width: int, height: int, font: str) -> Path:
    out = MEDIA_DIR / f"{name}.mp4"
    bar = f"drawbox=x='mod(t*{width // 2}\\,{width})':y={height - 24}:w=40:h=16:color=white:t=fill"
    clock = _text(font, "%{pts\\:hms}", height // 10, f"{height - 50}")
    vf = ",".join([_text(font, label, height // 4, "(h-text_h)/2-10"), clock, bar])
    _ffmpeg(
        [
            "-f", "lavfi", "-i", f"color=c={colour}:s={width}x{height}:r={FPS}:d={SECONDS}",
            "-vf", vf,
            "-c:v", "libx264", "-profile:v", "main", "-preset", "veryslow", "-crf", "32",
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-an", str(out),
        ]
    )  # fmt: skip
    return out


def make_image(name: str, colour: str, label: str, size: int, font: str) -> Path:
    out = MEDIA_DIR / f"{name}.png"
    vf = _text(font, label, size // 7, "(h-text_h)/2")
    _ffmpeg(
        ["-f", "lavfi", "-i", f"color=c={colour}:s={size}x{size}:d=1", "-vf", vf, "-frames:v", "1", str(out)]
    )
    return out


def make_grid(tiles: list[Path]) -> Path:
    out = MEDIA_DIR / "image_grid.png"
    inputs: list[str] = []
    for tile in tiles:
        inputs += ["-i", str(tile)]
    _ffmpeg(
        [*inputs, "-filter_complex", "xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0", "-frames:v", "1", str(out)]
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only check that ffmpeg and fc-match exist")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("ffmpeg", "fc-match") if shutil.which(tool) is None]
    if missing:
        print(f"missing tools: {', '.join(missing)}", file=sys.stderr)
        return 1
    if args.check:
        return 0
    MEDIA_DIR.mkdir(parents=True, exist_ok=True)
    font = _font_file()
    made = [
        make_clip(name, colour, label, 320, 180, font) for name, (colour, label) in VIDEO_VARIANTS.items()
    ]
    up_name, up_colour, up_label = UPSCALE_VARIANT
    made.append(make_clip(up_name, up_colour, up_label, 640, 360, font))
    tiles = [make_image(name, colour, label, 256, font) for name, (colour, label) in IMAGE_VARIANTS.items()]
    made += tiles
    made.append(make_grid(tiles))
    total = 0
    for path in made:
        size = path.stat().st_size
        total += size
        print(f"{path.name}\t{size} bytes")
    print(f"total\t{total} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

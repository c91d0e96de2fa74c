"""Headless Chromium for rendering the HTML report in tests (screenshot and DOM dump)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from PIL import Image

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         "--hide-scrollbars")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError("chromium is not installed (make test installs the Debian package 'chromium')")


def run(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    command = [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, timeout=120, check=False, start_new_session=True)


def screenshot(page: Path, png: Path, profile: Path, size: str = "1280,2000") -> None:
    result = run(page, profile, f"--screenshot={png}", f"--window-size={size}")
    assert png.exists() and png.stat().st_size > 0, result.stderr.decode(errors="replace")[-2000:]


def dump_dom(page: Path, profile: Path) -> str:
    result = run(page, profile, "--dump-dom")
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode()


def png_colours(png: Path) -> dict[tuple[int, int, int], int]:
    """Pixel counts per RGB colour of a PNG (Pillow)."""
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        counts = rgb.getcolors(maxcolors=1 << 24) or []
    return {colour: count for count, colour in counts}

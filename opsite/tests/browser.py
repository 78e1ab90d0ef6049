"""What the browser tests share: Debian's Chromium under Playwright, the demo computed, and the
folder the screenshots are kept in (a CI artifact)."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def artifacts() -> Path:
    folder = Path(os.environ.get("OPSITE_ARTIFACTS_DIR", "artifacts")) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder

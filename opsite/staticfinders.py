"""Static files that come from installed packages rather than from this repository.

Plotly.js, which draws the leadership dashboard's charts, ships inside the ``plotly`` Python package
(a dependency). This finder serves that file as ``vendor/plotly.min.js``, so the page loads its
charting library from the site itself (no CDN, works offline) while nothing third-party is copied
into the tree; ``collectstatic`` copies it with the rest, and upgrading ``plotly`` upgrades it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

# Static path -> (package, file inside the package).
VENDOR_FILES: dict[str, tuple[str, str]] = {
    "vendor/plotly.min.js": ("plotly", "package_data/plotly.min.js"),
}


def _package_file(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


class VendorFinder(BaseFinder):
    """Finds the files of :data:`VENDOR_FILES` inside their installed packages."""

    def check(self, **kwargs):
        return [
            Error(
                f"Static file {name} not found: is the {package!r} package installed?",
                hint="Install the project's dependencies (make install).",
                id="opsite.E001",
            )
            for name, (package, relative) in VENDOR_FILES.items()
            if _package_file(package, relative) is None
        ]

    def find(self, path, find_all=False, **kwargs):
        found = None
        if path in VENDOR_FILES:
            file = _package_file(*VENDOR_FILES[path])
            found = str(file) if file else None
        if find_all:
            return [found] if found else []
        return found

    def list(self, ignore_patterns):
        for name, (package, relative) in VENDOR_FILES.items():
            file = _package_file(package, relative)
            if file is None:
                continue
            # collectstatic joins the storage's prefix and the listed name: vendor/plotly.min.js.
            storage = FileSystemStorage(location=str(file.parent))
            storage.prefix = str(Path(name).parent)
            yield file.name, storage

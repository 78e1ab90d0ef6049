"""Static files that are not the project's own code: third-party browser bundles from npm.

The leadership dashboard draws its charts with Plotly.js's *basic* partial bundle (the scatter,
bar and pie traces: everything the dashboard draws), about a quarter of the full bundle's size.
Plotly publishes its partial bundles as npm packages only, so the bundle is a declared npm
dependency (``package.json``, locked in ``package-lock.json``, installed into ``node_modules/``
by ``make install``), never a copy in the repository. This finder serves it as
``vendor/plotly-basic.min.js``: the page loads its charting library from the site itself (no CDN,
works offline), ``collectstatic`` copies it with the rest, and ``manage.py check`` fails if the
file is missing or is not the pinned version (its SHA-256 is checked as well as npm's lock).

To upgrade: change the version in ``package.json``, run ``npm install --package-lock-only`` and
``make install``, then update the version and checksum below.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage


@dataclass(frozen=True)
class VendorFile:
    """A file of an installed npm package (``node_modules/<package>/<relative>``)."""

    package: str
    relative: str
    version: str
    sha256: str


# Static path -> the file that serves it.
VENDOR_FILES: dict[str, VendorFile] = {
    "vendor/plotly-basic.min.js": VendorFile(
        package="plotly.js-basic-dist-min",
        relative="plotly-basic.min.js",
        version="4.1.1",
        sha256="99784e3abfb07b142a15e521a439e6d9addceadb3f79553fd24c72774f0649ba",
    ),
}


def vendor_path(vendor: VendorFile) -> Path | None:
    """The file on disk, or None when its package is not installed."""
    path = Path(settings.BASE_DIR) / "node_modules" / vendor.package / vendor.relative
    return path if path.is_file() else None


@cache
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class VendorFinder(BaseFinder):
    """Finds the files of :data:`VENDOR_FILES`, and checks each is there and is the pinned one."""

    def check(self, **kwargs):
        errors = []
        for name, vendor in VENDOR_FILES.items():
            path = vendor_path(vendor)
            if path is None:
                errors.append(
                    Error(
                        f"Static file {name} not found in {vendor.package}/{vendor.relative}.",
                        hint="Run `make install` (npm ci installs the packages of package-lock.json).",
                        id="opsite.E001",
                    )
                )
            elif _digest(path) != vendor.sha256:
                errors.append(
                    Error(
                        f"Static file {name} is not the pinned version {vendor.version} (its SHA-256 differs).",
                        hint="Run `make install`, or update its version and checksum in opsite/staticfinders.py.",
                        id="opsite.E002",
                    )
                )
        return errors

    def find(self, path, find_all=False, **kwargs):
        found = None
        if path in VENDOR_FILES:
            file = vendor_path(VENDOR_FILES[path])
            found = str(file) if file else None
        if find_all:
            return [found] if found else []
        return found

    def list(self, ignore_patterns):
        for name, vendor in VENDOR_FILES.items():
            file = vendor_path(vendor)
            if file is None:
                continue
            # collectstatic joins the storage's prefix and the listed name: vendor/plotly-basic.min.js.
            storage = FileSystemStorage(location=str(file.parent))
            storage.prefix = str(Path(name).parent)
            yield file.name, storage

"""Test settings: the embedded default made fast; DATABASE_URL may point at PostgreSQL."""

import atexit
import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, env

SECRET_KEY = env("DJANGO_SECRET_KEY", default="opsite-test-not-a-secret")
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://localhost/"
CELERY_RESULT_BACKEND = "cache+memory://"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The Celery integration tests (marked `redis`) run a real worker in another process, which cannot
# see an in-memory SQLite database: the SQLite test database is a file in the temporary directory,
# one per test process (pytest-xdist adds its own suffix), removed when the run ends. It costs the
# suite next to nothing; OPSITE_TEST_SQLITE_FILE=0 goes back to memory (the integration tests then
# skip, or fail under CI=true).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and env.bool(
    "OPSITE_TEST_SQLITE_FILE", default=True
):
    _test_db = Path(tempfile.gettempdir()) / f"opsite-test-{os.getpid()}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(_test_db)}

    @atexit.register
    def _remove_test_db_files() -> None:
        # Django removes the database file; SQLite's -wal/-shm files stay behind when a thread
        # still held a connection, and pytest-xdist renames the database (a _gw0 suffix).
        for leftover in _test_db.parent.glob(f"{_test_db.name}*"):
            leftover.unlink(missing_ok=True)

"""Production settings: nothing insecure by default, and no start without the required secrets.

Each case runs in a fresh interpreter, since settings are read once per process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A made-up secret long and varied enough for Django's deploy check (50+ characters).
DUMMY_SECRET = "not-a-real-secret-7Qx2vR9pL4mZ8wT1yB6nC3hF0jD5sG9aE2uK7iO4"
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "opsite.settings.production",
    "DJANGO_SECRET_KEY": DUMMY_SECRET,
    "DJANGO_ALLOWED_HOSTS": "opsite.example.org",
    "DATABASE_URL": "postgres://opsite:not-a-password@127.0.0.1:5432/opsite",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    # Only what the interpreter needs from the caller: the test must not pick up DATABASE_URL,
    # DJANGO_* or OPSITE_* from the machine it runs on.
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_production_settings_and_no_warning():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_production_settings_refuse_to_load_without_a_required_variable(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = run(["-c", "import django; django.setup()"], **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_settings_turn_debug_off_and_harden_cookies_whatever_the_environment():
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'].rsplit('.', 1)[-1])"
    )
    result = run(["-c", probe], **PRODUCTION_ENV, DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "True",
        "django.db.backends.postgresql",
        "RedisCache",
    ]


def test_the_embedded_default_runs_without_any_environment_variable():
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = run(["-c", probe], DJANGO_SETTINGS_MODULE="opsite.settings.local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3", "True"]


def test_the_readme_documents_every_environment_variable_the_settings_read():
    read = set()
    for module in (ROOT / "opsite" / "settings").glob("*.py"):
        read |= set(re.findall(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""", module.read_text()))
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= read
    readme = (ROOT / "README.md").read_text()
    assert sorted(name for name in read if f"`{name}`" not in readme) == []

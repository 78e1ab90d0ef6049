"""The embedded default: SQLite, Celery eager, DEBUG on, a fixed development secret."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="opsite-local-development-only-not-a-secret")

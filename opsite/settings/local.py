"""The embedded default: SQLite, Celery eager, DEBUG on, a fixed development secret.

The demo it serves (``make run``) is an organization with a fiscal sponsor, which takes the usual
15% of its revenue from 2025 (``opsite.demo.later.FISCAL_SPONSOR_FEE``: its bank balance pays it
whatever this setting says): the runway shows the fee unless the environment sets another.
"""

from .base import *  # noqa: F403
from .base import env, fiscal_sponsor_fee

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="opsite-local-development-only-not-a-secret")
OPSITE_FISCAL_SPONSOR_FEE = fiscal_sponsor_fee("0.15")

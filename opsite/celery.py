"""The Celery application, configured from Django settings (``CELERY_*`` in ``opsite/settings/base.py``).

Everything that can be said in settings is said there (JSON only, UTC, broker timeouts, the beat
schedule); this module only builds the app and holds the options our tasks share.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from kombu import pools

# Workers run in production: a deploy that forgets DJANGO_SETTINGS_MODULE must not run with
# the development secret (manage.py and `make run` choose the local settings themselves).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsite.settings.production")

app = Celery("opsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# For jobs that are safe to run again from the start (each one recomputes derived tables from the
# records, or claims its side effect with a unique row before acting): acknowledge the message only
# once the task has finished, and put it back on the queue when the process running it dies, so a
# killed worker never loses a recompute. Jobs with side effects that cannot be repeated must not
# use these options.
IDEMPOTENT_TASK_OPTIONS: dict[str, Any] = {"acks_late": True, "reject_on_worker_lost": True}


def visibility_timeout() -> int:
    """Seconds Redis waits before handing an unacknowledged message to another worker.

    Every task's hard ``time_limit`` stays below it; otherwise a long task still running would be
    delivered a second time while the first copy is alive.
    """
    return int(app.conf.broker_transport_options.get("visibility_timeout", 3600))


def reset_connections() -> None:
    """Forget the cached broker and result-backend connections.

    Celery builds them once from ``app.conf``; call this after pointing ``app.conf`` at another
    broker (an integration test starting its own Redis does) so the next publish uses the new one.
    """
    # kombu keeps the pools in a process-wide registry keyed by connection: closing only ours
    # would leave a closed pool there for the next publish to the same broker to find.
    pools.reset()
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)

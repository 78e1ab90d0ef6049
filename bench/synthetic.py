"""A synthetic organization, a multiple of the demo's size, for the benchmarks.

At ``scale=10``: about 1,000 hubs with DAILY 24h/7d/30d samples over four years (~4.2M rows),
daily cloud costs of every hub for the last two years (~1.5M rows), 200,000 pull requests in 6,000
repositories, 100 staff with yearly raises, 1,200 service contracts
with monthly payment schedules, 300 grants with disbursements (some prime, with subawards), monthly
and one-off expenses, EUR amounts with exchange rates, and a cash position at the end of 2024.

Deterministic (a seeded ``random.Random``, fixed dates; every scale draws the same numbers in the
same order) and fast: the big tables are written on a raw cursor (``executemany`` on SQLite,
``COPY`` on PostgreSQL), the rest with ``bulk_create``. Derived columns that the services
would fill (``Community.region``/``historically_marginalized``, ``PullRequest.author``/``is_bot``)
are set by the same rules (:mod:`bench.synthetic_rows`).

    from bench.synthetic import build
    build(scale=10)   # configures Django first if it is not set up yet (bench/run.py)

Any scale from 1 up, on SQLite or PostgreSQL (whichever the default database is). On PostgreSQL
the foreign keys are checked as each statement ends
(rather than all at once at the commit, which would also forbid building an index on a table with
checks still pending), and the tables analyzed and vacuumed at the end, as autovacuum would have
them in production: the planner then has statistics, and index-only scans a visibility map.

Under ``bench/run.py`` each benchmark has its own database: the first ``build()`` of a scale keeps
a copy of the finished database as the run's template, and later ones copy it (seconds, not
minutes; ``bench/databases.py``: a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on
PostgreSQL). Building again for every benchmark would cost minutes each at 10x.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

START = date(2021, 1, 1)
END = date(2024, 12, 31)
SEED = 20241231
SLUG_PREFIX = "syn-"
# Share of academic-year usage per month: summer and late-December dips.
SEASON = {1: 90, 2: 100, 3: 100, 4: 100, 5: 85, 6: 55, 7: 45, 8: 60, 9: 100, 10: 105, 11: 100, 12: 70}
UPSTREAM = [
    ("jupyter", "Jupyter", ["jupyter", "jupyterlab", "jupyter-server"], True),
    ("jupyterhub", "JupyterHub", ["jupyterhub", "binder-examples"], True),
    ("jupyter-book", "Jupyter Book", ["executablebooks", "jupyter-book"], True),
    ("dask", "Dask", ["dask"], True),
    ("pydata", "PyData", ["pydata"], True),
    ("pangeo", "Pangeo", ["pangeo-data"], True),
    ("rocker", "Rocker", ["rocker-org"], True),
    ("cryptnono", "cryptnono", ["cryptnono"], True),
    ("elsewhere", "Elsewhere", ["elsewhere-org"], False),
]
BOTS = ["dependabot[bot]", "pre-commit-ci[bot]"]


@dataclass(frozen=True)
class Size:
    hubs: int
    communities: int
    staff: int
    repositories: int
    pull_requests: int
    contracts: int
    grants: int
    funders: int


def size_for(scale: int) -> Size:
    """Row counts at ``scale`` times the demo organization."""
    return Size(
        hubs=100 * scale,
        communities=80 * scale,
        staff=10 * scale,
        repositories=600 * scale,
        pull_requests=20_000 * scale,
        contracts=120 * scale,
        grants=30 * scale,
        funders=6 * scale,
    )


def build(scale: int = 10, path: str | Path | None = None) -> None:
    """Make the default database hold the synthetic organization at ``scale``.

    Configures Django (test settings) on ``path`` (default: a new temporary file) when it is not
    set up yet; when it is, ``path`` (if given) names a new database for the default connection
    (a file, or on PostgreSQL a database named after it). Does nothing when the organization is
    already there.
    """
    _configure(path)
    from bench import databases
    from communities.models import Hub

    expected = size_for(scale).hubs
    if Hub.objects.filter(slug__startswith=SLUG_PREFIX).count() == expected:
        return
    template = f"synthetic_{scale}x"
    if databases.has_template(template) and _is_empty():
        databases.restore_template(template)
        return
    started = time.perf_counter()
    counts = generate(scale)
    _settle()
    print(
        f"# synthetic scale={scale} built in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{name}={count}" for name, count in counts.items()),
        flush=True,
    )
    if databases.in_run():
        databases.save_template(template)


def _configure(path: str | Path | None) -> None:
    from django.apps import apps

    from bench import databases

    if not apps.ready:
        from bench.run import setup_django

        target = Path(path) if path else Path(tempfile.mkdtemp(prefix="opsite-synthetic-")) / "db.sqlite3"
        setup_django(target)
        return
    if path is not None:
        databases.use(Path(path))


def _is_empty() -> bool:
    from communities.models import Community
    from contributions.models import PullRequest
    from staff.models import StaffMember

    return not (Community.objects.exists() or PullRequest.objects.exists() or StaffMember.objects.exists())


def _settle() -> None:
    """On PostgreSQL, what autovacuum would have done by the time anyone reads a table this size:
    statistics for the planner, a visibility map for index-only scans."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


# --- generation -----------------------------------------------------------------------------


def generate(scale: int) -> dict[str, int]:
    """Write the synthetic organization into the (migrated, empty) default database."""
    from django.db import connection, transaction

    from bench.synthetic_rows import (
        _cash,
        _cloud_costs,
        _communities,
        _compensations,
        _contracts,
        _exchange_rates,
        _expenses,
        _grants,
        _hubs,
        _pull_requests,
        _repositories,
        _staff,
        _usage,
    )

    size = size_for(scale)
    rng = random.Random(SEED + scale)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # A throwaway file: durability is not needed while it is being filled, and a large
            # page cache keeps the indexes being built in memory.
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
    counts: dict[str, int] = {}
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Django's foreign keys are deferred to the commit: millions of checks would queue
            # up, and PostgreSQL refuses to build an index on a table with checks pending. Each
            # statement's rows are checked as it ends instead (tables are filled parents first).
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        communities = _communities(rng, size)
        hubs = _hubs(rng, size, communities)
        counts["hubs"] = len(hubs)
        counts["active_user_counts"] = _usage(hubs)
        counts["cloud_costs"] = _cloud_costs(hubs)
        staff = _staff(rng, size)
        counts["staff"] = len(staff)
        counts["compensations"] = _compensations(rng, staff)
        repositories = _repositories(size)
        counts["pull_requests"] = _pull_requests(rng, size, repositories, staff)
        _exchange_rates()
        counts["contracts"], counts["contract_payments"] = _contracts(rng, size, communities)
        counts["grants"], counts["disbursements"] = _grants(rng, size)
        counts["expenses"] = _expenses(rng, scale)
        _cash(scale)
    return counts

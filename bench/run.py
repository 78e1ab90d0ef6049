"""Run every benchmark (``make bench``): each ``bench/*.py`` with a ``main()``, but ``synthetic``.

Each benchmark runs in its own process against its own database, with the test settings, so one
benchmark's writes never skew another's figures: a SQLite file in a temporary folder by default,
or, when ``DATABASE_URL`` names a PostgreSQL server, a throwaway database there
(``opsite_bench_<run>_<benchmark>``, dropped when the benchmark is done; see
``bench/databases.py``). The migrated schema and the synthetic organization are built once per run
and copied for the benchmarks that ask for them (see ``bench/synthetic.py``).

    python bench/run.py                 # every benchmark
    python bench/run.py rollups runway  # some of them
    python bench/run.py --smoke         # each at its smallest size, once: does it still work?
    python bench/run.py --scale 30 rollups  # the synthetic organization at 30x the demo
    DATABASE_URL=postgres://user:password@host:5432/db python bench/run.py   # on PostgreSQL

A smoke run (``--smoke``, or ``OPSITE_BENCH_SMOKE=1``; ``make bench-smoke``, CI) runs every
benchmark at its smallest size, one round: it fails when a benchmark does not complete or its
figures do not check out (the same figures as the baseline, every row written, every answer a
200), never on a budget, which only a full run on a quiet machine can judge.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if not __package__:
    # Run as a script: the repository's root, for ``bench`` and the project.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import databases
from bench.databases import WORKDIR_ENV

ROOT = Path(__file__).resolve().parent.parent
NOT_BENCHMARKS = {
    "__init__",
    "databases",
    "rollups_floor",
    "run",
    "servers",
    "synthetic",
    "synthetic_rows",
    "urls_bench",
}
SMOKE_ENV = "OPSITE_BENCH_SMOKE"
SCALE_ENV = "OPSITE_BENCH_SCALE"
__all__ = [
    "WORKDIR_ENV",
    "ensure_django",
    "over_budget",
    "recompute_stubbed",
    "scale",
    "setup_django",
    "smoke",
]


def setup_django(db_path: Path) -> None:
    """Configure Django as the tests do, on the benchmark's own database, schema up to date.

    A SQLite file at ``db_path`` by default: the budgets were first stated for SQLite, and a file
    lets the synthetic organization be built once and copied. When ``DATABASE_URL`` names a
    PostgreSQL server, a new database there named after the file (``bench/databases.py``).
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "opsite.settings.test"
    os.environ["DATABASE_URL"] = databases.prepare(db_path)
    import django

    django.setup()
    databases.migrate()


def ensure_django(db_path: Path) -> None:
    """:func:`setup_django`, unless Django is already set up (a benchmark run by ``run.py``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from django.apps import apps

    if not apps.ready:
        setup_django(db_path)


def smoke() -> bool:
    """Whether this is a smoke run: each benchmark at its smallest size, once, budgets not judged."""
    return os.environ.get(SMOKE_ENV, "") not in ("", "0")


def scale(default: int) -> int:
    """The synthetic organization's scale for a benchmark that takes one: 1 in a smoke run, else
    ``--scale`` (``OPSITE_BENCH_SCALE``) when given, else ``default``."""
    if smoke():
        return 1
    given = os.environ.get(SCALE_ENV, "")
    return int(given) if given else default


def over_budget(message: str) -> None:
    """A benchmark over its budget exits non-zero with ``message``; a smoke run only says so.

    Only for budgets (ratios, seconds, query counts): a figure that does not check out (another
    answer than the baseline's, a row not written, a failed request) exits non-zero in any run.
    """
    if smoke():
        print(f"# smoke run, budget not judged: {message}", flush=True)
        return
    raise SystemExit(message)


@contextmanager
def recompute_stubbed() -> Iterator[None]:
    """Requests for a recompute are recorded, not run: in production a worker runs them, outside
    the request or the import being measured."""
    import opsite.core.recompute

    original = opsite.core.recompute.enqueue_recompute
    opsite.core.recompute.enqueue_recompute = lambda kind: opsite.core.recompute.Enqueued(
        kind=kind, task_id="bench", status="queued"
    )
    try:
        yield
    finally:
        opsite.core.recompute.enqueue_recompute = original


def discover() -> list[str]:
    """The benchmark modules: ``bench/*.py`` defining ``main()``, in name order."""
    names = []
    for path in sorted((ROOT / "bench").glob("*.py")):
        if path.stem in NOT_BENCHMARKS:
            continue
        if "\ndef main(" in path.read_text(encoding="utf-8"):
            names.append(path.stem)
    return names


def run_one(name: str, workdir: Path) -> None:
    """In this process: set Django up on a fresh database and call ``bench.<name>.main()``."""
    os.environ[WORKDIR_ENV] = str(workdir)
    setup_django(workdir / f"{name}.sqlite3")
    module = importlib.import_module(f"bench.{name}")
    module.main()


def run_all(names: list[str]) -> int:
    """Run each benchmark in a child process; the exit status is non-zero if any failed."""
    failed = []
    if databases.on_postgres():
        # The server the run was given, before any benchmark replaces DATABASE_URL with its own.
        os.environ[databases.SERVER_ENV] = databases.server_url() or ""
    databases.run_token()  # drawn here, so that every child names its databases alike
    mode = " (smoke: smallest sizes, one round, budgets not judged)" if smoke() else ""
    database = "postgresql" if databases.on_postgres() else "sqlite"
    print(f"# benchmarks on {database}{mode}: {', '.join(names)}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="opsite-bench-") as tmp:
            workdir = Path(tmp)
            for name in names:
                print(f"# {name}", flush=True)
                started = time.perf_counter()
                status = subprocess.call(
                    [sys.executable, str(Path(__file__).resolve()), "--one", name, "--workdir", str(workdir)],
                    cwd=ROOT,
                )
                print(
                    f"# {name} finished in {time.perf_counter() - started:.1f} s (exit {status})", flush=True
                )
                if status != 0:
                    failed.append(name)
                # Each benchmark's database can be large: drop it, keep the run's templates.
                databases.drop_benchmark(name, workdir)
    finally:
        databases.drop_run()
    if failed:
        print(f"# failed: {', '.join(failed)}", flush=True)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument(
        "--smoke", action="store_true", help=f"each at its smallest size, once (as {SMOKE_ENV}=1)"
    )
    parser.add_argument(
        "--scale",
        type=int,
        help=f"the synthetic organization's size for the benchmarks built on it (as {SCALE_ENV}; default 10)",
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        os.environ[SMOKE_ENV] = "1"
    if args.scale is not None:
        if args.scale < 1:
            parser.error(f"--scale must be 1 or more, not {args.scale}")
        os.environ[SCALE_ENV] = str(args.scale)
    if args.one:
        run_one(args.one, Path(args.workdir))
        return 0
    available = discover()
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
    return run_all(args.names or available)


if __name__ == "__main__":
    sys.exit(main())

"""Run every benchmark (``make bench``): each ``bench/*.py`` with a ``main()``, but ``synthetic``.

Each benchmark runs in its own process against its own SQLite file in a temporary folder, with the
test settings, so one benchmark's writes never skew another's figures. The synthetic organization
is built once per run and copied for the benchmarks that ask for it (see ``bench/synthetic.py``).

    python bench/run.py                 # every benchmark
    python bench/run.py rollups runway  # some of them
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

ROOT = Path(__file__).resolve().parent.parent
NOT_BENCHMARKS = {"__init__", "run", "synthetic", "synthetic_rows", "urls_bench"}
# Where ``bench.synthetic`` keeps the organizations it built, for the next benchmark to copy.
WORKDIR_ENV = "OPSITE_BENCH_WORKDIR"


def setup_django(db_path: Path) -> None:
    """Configure Django as the tests do, on a SQLite file, and bring its schema up to date."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "opsite.settings.test"
    # A file, not PostgreSQL or memory: the budgets are stated for SQLite, and the file lets the
    # synthetic organization be built once and copied.
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def ensure_django(db_path: Path) -> None:
    """:func:`setup_django`, unless Django is already set up (a benchmark run by ``run.py``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from django.apps import apps

    if not apps.ready:
        setup_django(db_path)


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
    """In this process: set Django up on a fresh file and call ``bench.<name>.main()``."""
    os.environ[WORKDIR_ENV] = str(workdir)
    setup_django(workdir / f"{name}.sqlite3")
    module = importlib.import_module(f"bench.{name}")
    module.main()


def run_all(names: list[str]) -> int:
    """Run each benchmark in a child process; the exit status is non-zero if any failed."""
    failed = []
    with tempfile.TemporaryDirectory(prefix="opsite-bench-") as tmp:
        workdir = Path(tmp)
        for name in names:
            print(f"# {name}", flush=True)
            started = time.perf_counter()
            status = subprocess.call(
                [sys.executable, str(Path(__file__).resolve()), "--one", name, "--workdir", str(workdir)],
                cwd=ROOT,
            )
            print(f"# {name} finished in {time.perf_counter() - started:.1f} s (exit {status})", flush=True)
            if status != 0:
                failed.append(name)
            # Each benchmark's database can be large: drop it, keep the synthetic templates.
            for leftover in workdir.glob(f"{name}.sqlite3*"):
                leftover.unlink()
    if failed:
        print(f"# failed: {', '.join(failed)}", flush=True)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
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

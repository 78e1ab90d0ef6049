"""Each benchmark's own database: a SQLite file (the default), or a PostgreSQL database of its own
when ``DATABASE_URL`` names a PostgreSQL server.

On PostgreSQL the role of ``DATABASE_URL`` needs the CREATEDB right, as for ``make test-postgres``.
Every database a run creates is named ``opsite_bench_<run>_<what>``, ``<run>`` being six hex digits
drawn for the run, so two runs on one server never meet; each is created empty and dropped when
its benchmark is done, and whatever is left when the run ends (templates, a crashed benchmark's
database) is dropped then. The database ``DATABASE_URL`` names is only connected to, to create and
drop those: nothing is written to it.

Templates make the expensive setups once per run (``bench/run.py``): the migrated schema, which
every benchmark needs (seconds), and the synthetic organization of each scale (minutes at 10x,
``bench/synthetic.py``). On SQLite a template is a copy of the file. On PostgreSQL it is a database
cloned with ``CREATE DATABASE ... TEMPLATE``, which copies the files rather than replaying the
rows: seconds for the 10x organization, against minutes to build it again, and the clone keeps the
statistics ``ANALYZE`` gathered, so every benchmark's planner sees the same tables. Outside a run
(a benchmark started alone) there are no templates: each database is built where it is used.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# The run's folder (SQLite files, templates, data files): set by ``bench/run.py`` for its children.
WORKDIR_ENV = "OPSITE_BENCH_WORKDIR"
# The run's token, part of the name of every PostgreSQL database it creates.
RUN_ENV = "OPSITE_BENCH_RUN"
# The ``DATABASE_URL`` the run was given, kept: each benchmark's own replaces it.
SERVER_ENV = "OPSITE_BENCH_SERVER_URL"
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "psql")
PREFIX = "opsite_bench_"
MIGRATED = "migrated"


def server_url() -> str | None:
    """The PostgreSQL server the benchmarks run on, as a URL; None for SQLite."""
    url = os.environ.get(SERVER_ENV) or os.environ.get("DATABASE_URL", "")
    return url if urlsplit(url).scheme in POSTGRES_SCHEMES else None


def on_postgres() -> bool:
    return server_url() is not None


def in_run() -> bool:
    """Whether ``bench/run.py`` runs this benchmark (templates are kept only then)."""
    return bool(os.environ.get(WORKDIR_ENV))


def run_token() -> str:
    """The run's token: the parent's, or one drawn here, whose databases are dropped at exit."""
    token = os.environ.get(RUN_ENV)
    if not token:
        token = os.environ[RUN_ENV] = secrets.token_hex(3)
        if on_postgres():
            atexit.register(drop_run)
    return token


def label_of(path: Path) -> str:
    """What a benchmark's SQLite file is called, as a database name: ``dashboard.sqlite3-10x`` is
    ``dashboard_10x``."""
    return re.sub(r"[^a-z0-9]+", "_", path.name.replace(".sqlite3", "").lower()).strip("_")


def database_name(label: str) -> str:
    return f"{PREFIX}{run_token()}_{label}"[:63]


def url_of(name: str) -> str:
    """The server's URL with ``name`` for its database (the query, such as ``sslmode``, kept)."""
    parts = urlsplit(server_url() or "")
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@contextmanager
def _server() -> Iterator:
    """A connection to the database ``DATABASE_URL`` names, outside any transaction (``CREATE
    DATABASE`` refuses to run in one)."""
    import psycopg

    parts = urlsplit(server_url() or "")
    with psycopg.connect(
        urlunsplit(("postgresql", parts.netloc, parts.path, "", "")), autocommit=True
    ) as conn:
        yield conn


def _ours(name: str) -> None:
    # The one guard every drop and create passes: never a database this module did not name.
    if not name.startswith(f"{PREFIX}{run_token()}_"):
        raise ValueError(f"{name!r} is not a database of this benchmark run")


def create(name: str, *, template: str | None = None) -> None:
    """(Re)create database ``name``, empty or as a copy of ``template``."""
    from psycopg import sql

    _ours(name)
    with _server() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if template is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return
        _ours(template)
        # FILE_COPY (PostgreSQL 15 on) copies the files once; the default logs every block to the
        # WAL, several times slower for a database of a gigabyte.
        strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}" + strategy).format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )


def drop_matching(prefix: str) -> list[str]:
    """Drop this run's databases whose names start with ``prefix``; return their names."""
    from psycopg import sql

    with _server() as conn:
        names = [
            row[0]
            for row in conn.execute("SELECT datname FROM pg_database ORDER BY datname")
            if row[0].startswith(prefix)
        ]
        for name in names:
            _ours(name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return names


def drop_run() -> None:
    """Drop every database of this run."""
    if on_postgres():
        drop_matching(f"{PREFIX}{run_token()}_")


def drop_benchmark(name: str, workdir: Path) -> None:
    """Drop a finished benchmark's databases (its templates are the run's, and stay)."""
    if on_postgres():
        drop_matching(database_name(name))
        return
    for leftover in workdir.glob(f"{name}.sqlite3*"):
        leftover.unlink()


# --- the current database -------------------------------------------------------------------


def prepare(path: Path) -> str:
    """The ``DATABASE_URL`` of a new, empty database for the benchmark whose SQLite file would be
    ``path``: that file, or on PostgreSQL a database named after it, created here."""
    if not on_postgres():
        return f"sqlite:///{path}"
    os.environ.setdefault(SERVER_ENV, server_url() or "")
    name = database_name(label_of(path))
    create(name)
    return url_of(name)


def use(path: Path) -> None:
    """Point Django's default connection at a new database for ``path`` (as :func:`prepare`),
    with the schema migrated."""
    from django.db import connection

    connection.close()
    url = prepare(path)
    connection.settings_dict["NAME"] = database_name(label_of(path)) if on_postgres() else str(path)
    os.environ["DATABASE_URL"] = url
    migrate()


def migrate() -> None:
    """Bring the default database's schema up to date: from this run's migrated template when
    there is one, else by migrating (and keeping the result as the template, in a run)."""
    if has_template(MIGRATED):
        restore_template(MIGRATED)
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if in_run():
        save_template(MIGRATED)


def _template_file(label: str) -> Path:
    return Path(os.environ[WORKDIR_ENV]) / f"template-{label}.sqlite3"


def has_template(label: str) -> bool:
    """Whether this run keeps a template called ``label`` (never outside a run)."""
    if not in_run():
        return False
    if not on_postgres():
        return _template_file(label).exists()
    name = database_name(f"template_{label}")
    with _server() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def save_template(label: str) -> None:
    """Keep a copy of the default database as this run's template ``label``."""
    from django.db import connection

    if on_postgres():
        current = connection.settings_dict["NAME"]
        connection.close()  # a template cannot be copied while anyone is connected to it
        create(database_name(f"template_{label}"), template=current)
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    current = Path(connection.settings_dict["NAME"])
    connection.close()
    shutil.copyfile(current, _template_file(label))


def restore_template(label: str) -> None:
    """Replace the default database with a copy of this run's template ``label``."""
    from django.db import connection

    current = connection.settings_dict["NAME"]
    connection.close()
    if on_postgres():
        create(current, template=database_name(f"template_{label}"))
        return
    for suffix in ("-wal", "-shm"):
        Path(f"{current}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(_template_file(label), current)

"""The log: each event is one line, a refused request has no traceback, and the embedded default
says nothing about a broker it does not have.

Logging is configured here the way Django configures it when it starts (its own defaults, then
``settings.LOGGING``), writing to a buffer, and put back as it was after each test.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.http import HttpResponse
from django.utils.log import configure_logging, log_response

from funding.models import RunwaySnapshot
from opsite.celery import reset_connections

ROOT = Path(__file__).resolve().parents[2]


def _logging_state() -> dict:
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.root.manager.loggerDict)]
    return {
        logger: (list(logger.handlers), logger.level, logger.propagate, list(logger.filters), logger.disabled)
        for logger in loggers
    }


@pytest.fixture
def log(monkeypatch, settings):
    """What the project logs, with DEBUG on (as in `make run`), as text."""
    saved = _logging_state()
    buffer = io.StringIO()
    settings.DEBUG = True
    monkeypatch.setattr(sys, "stderr", buffer)  # where the console handlers write
    configure_logging(django_settings.LOGGING_CONFIG, django_settings.LOGGING)
    yield buffer
    for logger in _logging_state():
        handlers, level, propagate, filters, disabled = saved.get(
            logger, ([], logging.NOTSET, True, [], False)
        )
        logger.handlers, logger.filters = handlers, filters
        logger.level, logger.propagate, logger.disabled = level, propagate, disabled


def test_every_log_line_appears_once(log):
    logging.getLogger("django.request").warning("a django line")
    logging.getLogger("django.security.csrf").warning("a security line")
    logging.getLogger("opsite.kpis.rollups").info("an opsite line")
    logging.getLogger("celery.app.trace").info("a task line")
    lines = log.getvalue().splitlines()
    assert lines == ["a django line", "a security line", "an opsite line", "a task line"]


@pytest.mark.django_db
def test_a_403_is_one_warning_line_without_a_traceback(log, operations_client, caplog):
    with caplog.at_level(logging.INFO):
        response = operations_client.get("/leadership/")
    assert response.status_code == 403
    text = log.getvalue()
    assert text.count("Forbidden (Permission denied): /leadership/") == 1, text
    assert "Traceback" not in text and "PermissionDenied" not in text
    refused = [record for record in caplog.records if record.name == "django.request"]
    assert [(record.levelname, record.exc_info) for record in refused] == [("WARNING", None)]


def test_a_server_error_still_logs_its_traceback(log, rf):
    # Only refusals lose their traceback: a 500 is a bug, and its traceback is what fixes it.
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError as error:
        request = rf.get("/leadership/")
        log_response(
            "Internal Server Error: %s",
            request.path,
            response=HttpResponse(status=500),
            request=request,
            exception=error,
        )
    assert "Traceback" in log.getvalue() and "ZeroDivisionError: boom" in log.getvalue()


# What `celery worker` does with logging when it starts, in a process of its own.
WORKER_STARTS = """
import logging
import django
django.setup()
from django.conf import settings
settings.DEBUG = True
from celery.utils.log import get_task_logger
from opsite.celery import app
app.log.setup(loglevel="INFO")
logging.getLogger("opsite.probe").warning("an opsite line")
logging.getLogger("django.request").warning("a django line")
get_task_logger("opsite.probe.task").warning("a task line")
"""


def test_a_celery_worker_keeps_the_project_logging_and_says_each_line_once():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "opsite.settings.test", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", WORKER_STARTS],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    # The project's format (the message alone), not the worker's "[time: LEVEL/process]" one.
    assert lines.count("an opsite line") == 1, result.stderr
    assert lines.count("a django line") == 1, result.stderr
    assert sum("a task line" in line for line in lines) == 1, result.stderr


@pytest.mark.django_db
def test_load_demo_in_eager_mode_says_nothing_about_a_broker_hostname(
    caplog, django_capture_on_commit_callbacks
):
    reset_connections()  # a broker connection made afresh, as in a new process
    with (
        caplog.at_level(logging.DEBUG, logger="kombu"),
        warnings.catch_warnings(record=True) as caught,
        django_capture_on_commit_callbacks(execute=True),
    ):
        warnings.simplefilter("always")
        call_command("load_demo", "--today", "2025-01-15", verbosity=0)
    assert RunwaySnapshot.objects.exists(), "the recompute ran, through Celery in eager mode"
    assert [record.getMessage() for record in caplog.records if "hostname" in record.getMessage()] == []
    assert [str(warning.message) for warning in caught if "hostname" in str(warning.message)] == []

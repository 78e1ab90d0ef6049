"""Pull requests fed malformed instants, numbers and files (issue 10, items 1, 5 and 6).

Two doors: the batch endpoint (``POST /api/v1/contributions/pull-requests/batch/``) and
``sync_github --from-file`` (the same parser reads GitHub's live answers). Every input of the
corpora below is refused with a message naming the row (or the file's item) and the field, as a
400 or a failed ``SyncRun`` whose error the command prints on stderr with exit 1; nothing is
written, and nothing answers 500. Among them the two instants that once did: an impossible day
("2024-02-30") and one that overflows when converted to UTC ("9999-12-31T23:59:59-14:00").
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from contributions.models import PullRequest, Repository, SyncRun
from contributions.services import pull_requests_upsert

from .factories import UpstreamCommunityFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
RANGE = "2000-01-01 to 2100-12-31"


def row(**overrides: Any) -> dict[str, Any]:
    return {
        "repository": "jupyterhub/repo2docker",
        "number": 1200,
        "title": "Support Python 3.13",
        "url": "https://github.com/jupyterhub/repo2docker/pull/1200",
        "author_login": "ada-gh",
        "created_at": "2024-03-01T10:00:00Z",
        "merged_at": "2024-03-04T16:30:00Z",
        **overrides,
    }


# (id, the bad row's changes, the field the answer names, a part of its message)
BATCH_CORPUS: list[tuple[str, dict[str, Any], str, str]] = [
    ("feb-30", {"created_at": "2024-02-30T00:00:00Z"}, "created_at", "is not an ISO 8601 date and time"),
    ("month-13", {"created_at": "2024-13-01T00:00:00Z"}, "created_at", "is not an ISO 8601"),
    ("overflow-utc", {"created_at": "9999-12-31T23:59:59-14:00"}, "created_at", RANGE),
    ("underflow-utc", {"created_at": "0001-01-01T00:00:00+14:00"}, "created_at", RANGE),
    ("year-9999", {"merged_at": "9999-12-31T23:59:59Z"}, "merged_at", RANGE),
    ("year-1", {"created_at": "0001-01-31T00:00:00Z"}, "created_at", RANGE),
    ("year-300", {"created_at": "0300-01-31T00:00:00Z"}, "created_at", RANGE),
    ("just-after", {"merged_at": "2100-12-31T23:00:00-14:00"}, "merged_at", RANGE),
    ("naive", {"created_at": "2024-03-01T10:00:00"}, "created_at", "has no time zone"),
    ("not-text", {"created_at": 1709287200}, "created_at", "is not a date and time"),
    ("arabic-digits", {"created_at": "٢٠٢٤-٠٣-٠١T10:00:00Z"}, "created_at", "is not an ISO 8601"),
    ("number-arabic", {"number": "\u0663"}, "number", "'٣'"),
    ("number-superscript", {"number": "\u00b2"}, "number", "'²'"),
    ("number-fraction-text", {"number": "1.9"}, "number", "'1.9'"),
    ("number-fraction", {"number": 1.9}, "number", "1.9"),
    ("number-exponent", {"number": "1e999999999"}, "number", "'1e999999999'"),
    ("number-thousands", {"number": "1,200"}, "number", "'1,200'"),
    ("number-long", {"number": "9" * 5000}, "number", "characters)"),
    ("number-huge", {"number": 10**30}, "number", "is larger than a pull request number can be"),
    ("number-zero", {"number": 0}, "number", "not 0"),
    ("number-bool", {"number": True}, "number", "True"),
    ("unknown-field", {"merged": True}, "merged", "unknown field 'merged'"),
    ("nul", {"title": "Fix\x00"}, "title", "NUL character"),
]


@pytest.mark.parametrize(
    ("changes", "field", "message"), [c[1:] for c in BATCH_CORPUS], ids=[c[0] for c in BATCH_CORPUS]
)
def test_the_batch_answers_400_naming_the_row_and_field_and_writes_nothing(
    operations_client, changes, field, message
):
    rows = [row(number=1), {**row(number=2), **changes}]

    response = operations_client.post(
        reverse("contributions-api:pull-request-batch"), rows, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body, body
    [text] = body[field]
    assert "row 1" in text and message in text, text
    assert len(text) < 300  # a 5,000-digit number is named, never echoed
    assert not PullRequest.objects.exists()
    assert not Repository.objects.exists()


@pytest.mark.parametrize("number", ["\u0663", "\u00b2", "1.9", "1e999999999", "1,200", "9" * 5000, " 12\n3"])
def test_the_upsert_reads_a_number_only_from_ascii_digits(number):
    # The importers call the upsert directly, without the batch endpoint's row serializer.
    with pytest.raises(
        Exception, match=r"row 0: The pull request number must be a whole number of at least 1, not"
    ):
        pull_requests_upsert(rows=[row(number=number)])
    assert not PullRequest.objects.exists()


def test_the_upsert_refuses_an_aware_datetime_that_overflows_in_utc():
    # What an importer hands over after parsing: the datetime object, not text.
    from datetime import datetime, timedelta, timezone

    instant = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))

    with pytest.raises(Exception, match=f"row 0: 9999-12-31T23:59:59-14:00 is outside .*{RANGE}"):
        pull_requests_upsert(rows=[row(created_at=instant)])
    assert not PullRequest.objects.exists()


# --- sync_github --from-file --------------------------------------------------------------------


@pytest.fixture
def saved() -> dict[str, Any]:
    return json.loads((FIXTURES / "search_merged_single.json").read_text())


def with_item(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    payload["items"][0].update(changes)
    return payload


def merged_at(payload: dict[str, Any], value: Any) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    payload["items"][0]["pull_request"]["merged_at"] = value
    return payload


def as_json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# (id, a function of the saved answer giving the file's bytes, a part of the error)
FILE_CORPUS: list[tuple[str, Any, str]] = [
    ("feb-30", lambda p: as_json(with_item(p, created_at="2024-02-30T00:00:00Z")), "'created_at' should be"),
    ("overflow-utc", lambda p: as_json(with_item(p, created_at="9999-12-31T23:59:59-14:00")), RANGE),
    ("merged-year-9999", lambda p: as_json(merged_at(p, "9999-12-31T00:00:00Z")), RANGE),
    ("merged-year-1", lambda p: as_json(merged_at(p, "0001-01-01T00:00:00Z")), RANGE),
    ("merged-naive", lambda p: as_json(merged_at(p, "2024-02-03T16:40:12")), "with a zone"),
    ("number-float", lambda p: as_json(with_item(p, number=1.9)), "'number' should be an integer, not 1.9"),
    (
        "number-text",
        lambda p: as_json(with_item(p, number="\u0663")),
        "'number' should be an integer, not '٣'",
    ),
    ("number-huge", lambda p: as_json(with_item(p, number=10**30)), "is larger than a pull request number"),
    ("nan", lambda p: as_json(p).replace(b'"score": 1.0', b'"score": NaN'), "NaN is not a JSON value"),
    ("nested", lambda p: b"[" * 50_000 + b"]" * 50_000, "is nested too deeply"),
    ("latin-1", lambda p: as_json(p).replace(b"Document", "Docum\xe9nt".encode("latin-1")), "not UTF-8"),
    ("utf-16", lambda p: json.dumps(p).encode("utf-16"), "is not UTF-8 text (byte 0xff at offset 0)"),
    ("truncated", lambda p: as_json(p)[:-5], "is not valid JSON"),
    ("not-a-page", lambda p: as_json([1, 2, 3]), "should be a JSON object with 'items', not int"),
]


@pytest.mark.parametrize(("build", "message"), [c[1:] for c in FILE_CORPUS], ids=[c[0] for c in FILE_CORPUS])
def test_sync_github_from_a_malformed_file_fails_the_run_and_writes_nothing(
    db, tmp_path, saved, build, message
):
    UpstreamCommunityFactory(slug="jupyterhub", github_orgs=["jupyterhub"])
    path = tmp_path / "search.json"
    path.write_bytes(build(saved))

    with pytest.raises(CommandError) as failed:
        call_command("sync_github", "--from-file", str(path))

    assert "failed, nothing written: " in str(failed.value)
    assert message in str(failed.value)
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED and message in run.error
    assert len(run.error) < 2000
    assert not PullRequest.objects.exists()


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_sync_github_refuses_a_window_outside_the_range(db, option):
    with pytest.raises(CommandError, match=f"9999-12-31 is outside the dates opsite accepts, {RANGE}"):
        call_command("sync_github", option, "9999-12-31", "--from-file", str(FIXTURES / "search_empty.json"))
    assert not SyncRun.objects.exists()


def test_the_unchanged_saved_answer_still_imports(db, tmp_path, saved):
    path = tmp_path / "search.json"
    path.write_bytes(as_json(saved))

    call_command("sync_github", "--from-file", str(path))

    assert PullRequest.objects.get().number == 4701

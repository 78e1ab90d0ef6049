"""The admin's import, hardened (issue 10: items 2, 4 and 5, "Admin import" of Build).

* The malformed corpus on every resource: ``test_admin_import_fuzz``.
* The bounds: bytes before reading, rows before importing, an XLSX bomb refused at once.
* The confirm step: it imports only a file it issued to this user for this model, once, and
  says "nothing was written" when the file fails its second check.
* Unknown parameters on the import and export pages: a redirect or a form, never a 500.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from unittest import mock

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.core import signing
from django.test import Client

from opsite.core.admin_import import CONFIRM_SALT, issue_ticket
from opsite.core.imports import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, limits
from opsite.core.resources import OpsiteResource

from .admin_imports import (
    EXPORTABLE,
    IMPORTABLE,
    REGISTRY,
    admin_url,
    client_for,
    csv_bytes,
    outcome,
    post_import,
)
from .malformed_imports import CSV, XLSX, zip_bomb

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(superuser) -> Client:
    return client_for(superuser)


# --- the bounds -----------------------------------------------------------------------------------


def test_the_default_bounds():
    bound = limits()
    assert (
        (bound.max_bytes, bound.max_rows)
        == (DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS)
        == (10 * 1024 * 1024, 20_000)
    )
    assert bound.max_xlsx_uncompressed == 50 * 1024 * 1024


def test_a_file_past_the_byte_cap_is_refused_before_it_is_read(root, settings):
    settings.OPSITE_IMPORT_MAX_BYTES = 1000
    with mock.patch("opsite.core.admin_import.GuardedImportExportMixin.write_to_tmp_storage") as stored:
        response = post_import(root, "staff.StaffMember", "big.csv", CSV, b"slug,name\n" + b"a,b\n" * 300)
    assert not stored.called
    assert outcome(response) == (
        "file",
        ["The file is 1 KB; at most 1,000 bytes can be imported at once. Split it into smaller files."],
    )


def test_the_default_row_cap_refuses_a_20001_row_file_before_any_row_is_imported(root):
    data = csv_bytes(["slug", "name"], [[f"p-{i}", f"P {i}"] for i in range(20_001)])
    with mock.patch.object(OpsiteResource, "import_data") as imported:
        response = post_import(root, "staff.StaffMember", "long.csv", CSV, data)
    assert not imported.called
    assert outcome(response)[1] == [
        "The file has more than 20,000 rows; at most 20,000 can be imported at once. Split it into smaller files."
    ]


def test_a_10_mb_json_list_past_the_row_cap_is_refused_before_it_is_built(root):
    # Parsed row by row: the rows past the cap are never built (the whole list would take a second
    # and half a gigabyte).
    data = b"[" + b",".join([b'{"slug":"x"}'] * 800_000) + b"]"
    assert 9 * 1024 * 1024 < len(data) < DEFAULT_MAX_BYTES
    decoded: list[int] = []

    class CountingDecoder(json.JSONDecoder):
        def raw_decode(self, s, idx=0):
            decoded.append(idx)
            return super().raw_decode(s, idx)

    with mock.patch("opsite.core.imports.json.JSONDecoder", CountingDecoder):
        response = post_import(root, "staff.StaffMember", "long.json", "2", data)
    assert outcome(response)[1] == [
        "The file has more than 20,000 rows; at most 20,000 can be imported at once. Split it into smaller files."
    ]
    # Read up to the first row past the cap, not the 800,000 of the file.
    assert len(decoded) == 20_001


def test_the_row_cap_lets_the_last_row_through(root, settings):
    settings.OPSITE_IMPORT_MAX_ROWS = 3
    rows = [[f"cap-{i}", f"Cap {i}", "product", "full_time", "1.00", "2024-01-02"] for i in range(4)]
    header = ["slug", "name", "team", "employment", "fte", "start_on"]
    ok = outcome(post_import(root, "staff.StaffMember", "ok.csv", CSV, csv_bytes(header, rows[:3])))
    assert ok == ("preview", [])
    assert (
        outcome(post_import(root, "staff.StaffMember", "no.csv", CSV, csv_bytes(header, rows)))[0] == "file"
    )


def test_the_147_kb_zip_bomb_is_refused_before_any_part_of_it_is_unpacked(root):
    bomb = zip_bomb()
    assert len(bomb) < 160 * 1024
    with mock.patch("openpyxl.load_workbook") as opened:
        response = post_import(root, "staff.StaffMember", "bomb.xlsx", XLSX, bomb)
    assert not opened.called
    assert outcome(response) == (
        "file",
        ["The XLSX file unpacks to 150 MB; at most 50 MB are read. Split it, or import it as CSV."],
    )


def test_a_base_error_shows_its_message_and_no_traceback(root):
    response = post_import(root, "staff.StaffMember", "no-slug.csv", CSV, b"name\nAda\n")
    kind, messages = outcome(response)
    assert kind == "rows"
    assert any("slug" in m for m in messages)
    html = response.content.decode()
    assert "File: " in html and "Traceback" not in html and 'class="traceback"' not in html


def test_a_preview_that_cannot_be_confirmed_leaves_no_temporary_file(root):
    response = post_import(root, "staff.StaffMember", "bad.csv", CSV, b"slug,name,fte\nx,X,2\n")
    assert outcome(response)[0] == "rows"
    name = response.context["form"].cleaned_data["import_file"].tmp_storage_name
    assert not os.path.exists(os.path.join(tempfile.gettempdir(), name))


def test_every_import_resource_is_all_or_nothing():
    # The confirm step's "nothing was written" rests on the resource base's one transaction.
    for label in IMPORTABLE:
        for resource_class in REGISTRY[apps.get_model(label)].get_import_resource_classes(None):
            assert issubclass(resource_class, OpsiteResource), label


# --- the confirm step -----------------------------------------------------------------------------

STAFF_HEADER = ["slug", "name", "github", "team", "employment", "fte", "start_on"]


def staff_file(*rows: list[str]) -> bytes:
    return csv_bytes(STAFF_HEADER, [list(r) for r in rows])


def preview(client: Client, data: bytes) -> dict:
    response = post_import(client, "staff.StaffMember", "staff.csv", CSV, data)
    assert response.status_code == 200
    return dict(response.context["confirm_form"].initial)


def confirm(client: Client, posted: dict):
    return client.post(admin_url("staff.StaffMember", "process_import"), posted)


def messages_of(response) -> list[str]:
    # The newest last: a message of an earlier redirect that was not followed may come first.
    return [str(m) for m in response.context["messages"]] if response.context else []


NEW = ["new-1", "New One", "octo-new", "product", "full_time", "1.00", "2024-01-02"]


def test_a_confirmed_preview_is_written_and_reported(root):
    response = confirm(root, preview(root, staff_file(NEW)))
    assert response.status_code == 302
    from staff.models import StaffMember

    assert StaffMember.objects.filter(slug="new-1").exists()
    follow = root.get(response["Location"])
    assert "Import finished: 1 new, 0 updated, 0 deleted and 0 skipped staff members." in messages_of(follow)


def test_a_confirm_that_fails_its_second_check_says_nothing_was_written(root, superuser):
    """The issue's case: dry-run a staff file, create a conflicting GitHub login, confirm."""
    from staff.models import StaffMember
    from staff.tests.factories import StaffMemberFactory

    posted = preview(root, staff_file(["ok-1", "OK", "", "product", "full_time", "1.00", "2024-01-02"], NEW))
    StaffMemberFactory(slug="someone-else", github="Octo-New")
    logged = LogEntry.objects.count()

    response = confirm(root, posted)
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith("Nothing was written.")
    html = response.content.decode()
    assert "Import finished" not in html
    assert "GitHub login &#x27;octo-new&#x27; is already used by" in html
    [invalid] = response.context["result"].invalid_rows
    assert (invalid.number, list(invalid.field_specific_errors)) == (2, ["github"])
    # Row 1 was valid and rolled back with row 2: neither is there, and nothing was logged.
    assert not StaffMember.objects.filter(slug__in=["ok-1", "new-1"]).exists()
    assert LogEntry.objects.count() == logged


def test_a_second_confirmation_of_the_same_preview_imports_nothing(root):
    from staff.models import StaffMember

    posted = preview(root, staff_file(NEW))
    assert confirm(root, posted).status_code == 302
    again = confirm(root, posted)
    assert again.status_code == 400
    assert messages_of(again)[-1].startswith("The file of this preview is no longer here")
    assert StaffMember.objects.filter(slug="new-1").count() == 1


@pytest.fixture
def planted_file():
    """A file of the temporary folder that no preview issued: a forged confirm names it."""
    fd, path = tempfile.mkstemp()
    with os.fdopen(fd, "wb") as f:
        f.write(staff_file(NEW))
    yield os.path.basename(path)
    if os.path.exists(path):
        os.remove(path)


def _forgeries(root_user, other_user, planted: str, genuine: str) -> dict[str, str]:
    ticket = {"user": root_user, "model_label": "staff.StaffMember", "name": planted, "original": "x.csv"}
    ticket |= {"fmt": "0", "resource": "0"}
    return {
        "a bare file name": planted,
        "a path": "/tmp/" + planted,
        "a ticket with its signature cut": genuine.rsplit(":", 1)[0],
        "a ticket with a name swapped in": genuine.replace(
            genuine.split(":")[0], signing.b64_encode(b'{"name":"x"}').decode()
        ),
        "a ticket signed with another salt": signing.dumps(
            {"name": planted, "user": root_user.pk}, salt="other"
        ),
        "another user's ticket": issue_ticket(**{**ticket, "user": other_user}),
        "another model's ticket": issue_ticket(**{**ticket, "model_label": "staff.Compensation"}),
        "empty": "",
        "garbage": "\x00" * 5000,
    }


def test_a_confirm_refuses_a_file_name_it_did_not_issue_and_touches_no_file(
    root, superuser, finance_user, planted_file
):
    from staff.models import StaffMember

    genuine = preview(root, staff_file(["g-1", "G", "", "product", "full_time", "1.00", "2024-01-02"]))
    forgeries = _forgeries(superuser, finance_user, planted_file, genuine["import_file_name"])
    path = os.path.join(tempfile.gettempdir(), planted_file)
    with mock.patch("import_export.tmp_storages.TempFolderStorage.read") as read:
        for what, token in forgeries.items():
            response = confirm(root, {**genuine, "import_file_name": token})
            assert response.status_code == 400, what
            assert messages_of(response)[0].startswith("This confirmation was not prepared for you"), what
        assert not read.called
    assert os.path.exists(path)
    assert not StaffMember.objects.filter(slug__in=["new-1", "g-1"]).exists()
    # The genuine ticket still works afterwards, once.
    assert confirm(root, genuine).status_code == 302
    assert StaffMember.objects.filter(slug="g-1").exists()


def test_a_ticket_is_bound_to_its_user(root, finance_client):
    from staff.models import StaffMember

    posted = preview(root, staff_file(NEW))
    response = finance_client.post(admin_url("staff.StaffMember", "process_import"), posted)
    assert response.status_code == 400
    assert not StaffMember.objects.filter(slug="new-1").exists()


def test_an_expired_ticket_is_refused(root):
    posted = preview(root, staff_file(NEW))
    with mock.patch("django.core.signing.time.time", return_value=time.time() + 2 * 3600):
        response = confirm(root, posted)
    assert response.status_code == 400
    assert messages_of(response)[0] == (
        "This preview is more than 60 minutes old, so nothing was imported. Upload the file again."
    )


def test_the_posted_format_and_resource_give_way_to_the_ticket(root):
    from staff.models import StaffMember

    posted = preview(root, staff_file(NEW))
    response = confirm(root, {**posted, "format": "99", "resource": "abc", "original_file_name": "<script>"})
    assert response.status_code == 302
    assert StaffMember.objects.filter(slug="new-1").exists()


def test_the_ticket_names_the_user_model_and_file_and_nothing_else(root, superuser):
    posted = preview(root, staff_file(NEW))
    ticket = signing.loads(posted["import_file_name"], salt=CONFIRM_SALT)
    assert set(ticket) == {"user", "model", "name", "original", "format", "resource"}
    assert (ticket["user"], ticket["model"], ticket["format"]) == (superuser.pk, "staff.StaffMember", "0")
    assert "/" not in ticket["name"]


# --- unknown parameters ---------------------------------------------------------------------------

ODD_QUERIES = (
    "format=0",
    "format=xlsx&resource=9",
    "e=1",
    "o=abc",
    "p=-1",
    "_to_field=zzz",
    "q=%00",
    "resource=0",
)


@pytest.mark.parametrize("label", EXPORTABLE)
def test_unknown_parameters_on_import_and_export_pages_never_answer_500(root, label):
    pages = [admin_url(label, "export")]
    if label in IMPORTABLE:
        pages.append(admin_url(label, "import"))
    for page in pages:
        for query in ODD_QUERIES:
            response = root.get(f"{page}?{query}")
            # 400: a field the list may not be addressed by (_to_field), as Django answers it.
            assert response.status_code in (200, 302, 400), f"{page}?{query}"
    response = root.get(admin_url(label, "export") + "?format=0")
    assert (response.status_code, response["Location"]) == (302, admin_url(label, "export"))
    for data in ({"format": "abc"}, {"format": "0", "resource": "7"}):
        assert root.post(admin_url(label, "export"), data).status_code == 200, data
    if label in IMPORTABLE:
        assert root.get(admin_url(label, "process_import")).status_code == 405
        for data in ({"import_file": "x"}, {"format": "9", "resource": "9"}):
            assert root.post(admin_url(label, "import"), data).status_code == 200, data
            assert root.post(admin_url(label, "process_import"), data).status_code == 400, data


def test_every_admin_model_has_its_writes_registered_when_django_starts():
    """In a fresh process (a new gunicorn worker), the admin of every model saves through its
    services: their ``ModelWrites`` must be registered by Django's start, not by the first test
    module or request that happens to import them."""
    import subprocess
    import sys

    script = (
        "import django; django.setup();"
        "from django.contrib import admin;"
        "from opsite.core.admin import ServiceWritesMixin;"
        "from opsite.core.services import has_writes;"
        "print(sorted(m._meta.label for m, a in admin.site._registry.items()"
        " if isinstance(a, ServiceWritesMixin) and not has_writes(m)))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "opsite.settings.test"}
    answer = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert answer.stdout.strip() == "[]"

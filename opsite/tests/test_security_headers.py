"""The Content-Security-Policy and framing headers on every kind of answer, and pages that need no
exception to them: no inline script, no event-handler attribute but the one the policy names.

The browser-side proof (no violation in Chromium's console) is test_csp_e2e.py; this file checks
the headers and the HTML the server sends, quickly, on more pages.
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.template.loader import get_template
from django.test import Client

from communities.tests.factories import CommunityFactory, HubFactory

EXPECTED_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "script-src-attr": [
        "'unsafe-hashes'",
        # sha256 of onSelectToggleChange(event), the export page's "select all" box.
        "'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='",
    ],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice in {header}"
        directives[name] = sources
    return directives


class Scripts(HTMLParser):
    """Every <script> without src that a browser would run, and every on* attribute."""

    def __init__(self):
        super().__init__()
        self.inline_scripts: list[str] = []
        self.sources: list[str] = []
        self.handlers: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.handlers += [f"{name}={value}" for name, value in attrs if name.lower().startswith("on")]
        data_block = (attributes.get("type") or "").lower() == "application/json"
        if tag == "script" and "src" in attributes:
            self.sources.append(attributes["src"])
        self._in_inline_script = tag == "script" and "src" not in attributes and not data_block

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.inline_scripts.append(data.strip()[:80])

    def handle_endtag(self, tag):
        self._in_inline_script = False


def scripts_of(response) -> Scripts:
    parser = Scripts()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def records(db):
    hub = HubFactory()
    return {"community": hub.community, "hub": hub, "other": CommunityFactory()}


def pages(records) -> dict[str, str]:
    community = records["community"].pk
    return {
        "admin index": "/admin/",
        "changelist": "/admin/communities/community/",
        "changelist searched": "/admin/communities/community/?q=x",
        "add form": "/admin/communities/community/add/",
        "change form": f"/admin/communities/community/{community}/change/",
        "history": f"/admin/communities/community/{community}/history/",
        "delete page": f"/admin/communities/community/{community}/delete/",
        "hub change form": f"/admin/communities/hub/{records['hub'].pk}/change/",
        "import": "/admin/communities/community/import/",
        "export": "/admin/communities/community/export/",
        "user change form": "/admin/auth/user/add/",
        "dashboard": "/leadership/",
        "api docs": "/api/docs/",
    }


def test_every_page_of_the_admin_the_dashboard_and_the_docs_has_the_policy_and_no_inline_script(
    records, super_client
):
    export_handler = "onchange=onSelectToggleChange(event)"
    for name, url in pages(records).items():
        response = super_client.get(url)
        assert response.status_code == 200, name
        assert policy_of(response) == EXPECTED_POLICY, name
        assert response["X-Frame-Options"] == "DENY", name
        found = scripts_of(response)
        assert found.inline_scripts == [], name
        assert found.handlers == ([export_handler] if name == "export" else []), name


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        ("anonymous", "/admin/login/", 200),
        ("anonymous", "/leadership/", 302),
        ("anonymous", "/api/v1/communities/communities/", 401),
        ("anonymous", "/api/v1/public/kpis/", 200),
        ("anonymous", "/api/schema/", 200),
        ("anonymous", "/api/docs/?script=", 200),
        ("anonymous", "/no-such-page/", 404),
        ("operations", "/leadership/", 403),
        ("operations", "/api/v1/communities/communities/", 200),
    ],
)
def test_every_kind_of_answer_carries_the_policy(db, operations_client, who, url, status):
    client = operations_client if who == "operations" else Client()
    response = client.get(url)
    assert response.status_code == status
    assert policy_of(response) == EXPECTED_POLICY
    assert response["X-Frame-Options"] == "DENY"


def test_the_docs_load_their_start_up_script_from_the_site(db):
    page = scripts_of(Client().get("/api/docs/"))
    assert page.inline_scripts == []
    assert page.sources[-1] == "/api/docs/?script="
    script = Client().get(page.sources[-1])
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
    assert '"/api/schema/"' in script.content.decode()


def test_the_one_allowed_event_handler_is_still_import_exports_own(settings):
    # If django-import-export changes its export page, the hash in the policy must follow (or go).
    source = get_template("admin/import_export/export.html").template.source
    assert 'onchange="onSelectToggleChange(event)"' in source
    assert settings.OPSITE_CSP_EVENT_HANDLERS == ["onSelectToggleChange(event)"]
    digest = base64.b64encode(hashlib.sha256(b"onSelectToggleChange(event)").digest()).decode()
    assert f"'sha256-{digest}'" in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["script-src-attr"]


def test_the_policy_has_no_unsafe_script_source():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    for name in ("default-src", "script-src"):
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "blob:"} & set(directives[name])
    assert directives["script-src-attr"][0] == "'unsafe-hashes'"
    assert all(source.startswith("'sha256-") for source in directives["script-src-attr"][1:])

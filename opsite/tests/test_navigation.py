"""The way around the site (opsite/views.py, templates/base.html, templates/admin/): ``/`` sends each
role to its page, signing in lands there, the admin and the dashboard link to each other for
whoever may open both, and every error page is the site's own with a way back and nothing more.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import path

from opsite import urls as site_urls
from opsite.core.roles import LEADERSHIP
from staff.tests.factories import CompensationFactory

HOME = "/"
DASHBOARD = "/leadership/"
RECORDS = "/admin/"
LOGIN = "/admin/login/"
DASHBOARD_LINK = 'id="dashboard-link"'


def boom(request):
    raise RuntimeError("a secret detail: salary 123456")


# The site's routes, plus one that fails, to see the server error page through the router.
urlpatterns = [path("boom/", boom), *site_urls.urlpatterns]


def persona_client(request, name: str) -> Client:
    return request.getfixturevalue(f"{name}_client")


# --- / sends each role to its page ------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "page"),
    [("operations", RECORDS), ("finance", DASHBOARD), ("leadership", DASHBOARD), ("super", DASHBOARD)],
)
def test_home_sends_each_role_to_its_page(request, persona, page):
    response = persona_client(request, persona).get(HOME)
    assert (response.status_code, response["Location"]) == (302, page)
    # Who asks decides the answer: no shared cache may keep it.
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_home_sends_an_anonymous_visitor_to_the_public_figures_which_link_to_sign_in_and_back(client, db):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == "/kpis/"
    assert f'href="{LOGIN}?next=/"' in client.get("/kpis/").content.decode()


def test_the_page_of_each_role_opens_for_it(request, db):
    for persona in ("operations", "finance", "leadership", "super"):
        browser = persona_client(request, persona)
        assert browser.get(HOME, follow=True).status_code == 200, persona


def test_an_account_with_no_page_gets_the_styled_refusal(db, django_user_model):
    # An API-only account: neither staff nor allowed the dashboard.
    user = django_user_model.objects.create_user(username="api-only", password="pw")
    browser = Client()
    browser.force_login(user)
    response = browser.get(HOME)
    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]
    assert "no pages on the site" in response.content.decode()


def test_home_answers_only_reads(operations_client):
    assert operations_client.post(HOME).status_code == 405


# --- signing in lands on the page of the role -------------------------------------------------


def sign_in(username: str, query: str = "") -> tuple[Client, str]:
    browser = Client()
    page = browser.get(f"{LOGIN}{query}")
    assert page.status_code == 200
    response = browser.post(
        f"{LOGIN}{query}", {"username": username, "password": f"pw-{username}", **_next(page)}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return browser, response["Location"]


def _next(page) -> dict[str, str]:
    """The hidden "next" field of the sign-in form, as a browser would send it back."""
    html = page.content.decode()
    marker = 'name="next" value="'
    start = html.index(marker) + len(marker)
    return {"next": html[start : html.index('"', start)]}


@pytest.mark.parametrize(
    ("user_fixture", "username", "page"),
    [
        ("operations_user", "ops", RECORDS),
        ("finance_user", "fin", DASHBOARD),
        ("leadership_user", "lead", DASHBOARD),
    ],
)
def test_signing_in_without_a_page_asked_for_lands_on_the_page_of_the_role(
    request, user_fixture, username, page
):
    request.getfixturevalue(user_fixture)
    browser, location = sign_in(username)
    assert location == HOME
    assert browser.get(location)["Location"] == page


def test_signing_in_for_a_page_asked_for_lands_on_that_page(finance_user):
    _browser, location = sign_in("fin", "?next=/admin/funding/grant/")
    assert location == "/admin/funding/grant/"
    # The records' own index, asked for by name, is kept too.
    _browser, location = sign_in("fin", "?next=/admin/")
    assert location == RECORDS


# --- the admin and the dashboard link to each other ------------------------------------------


@pytest.mark.parametrize(
    ("persona", "linked"), [("operations", False), ("finance", True), ("leadership", True), ("super", True)]
)
def test_the_admin_header_links_to_the_dashboard_for_who_may_open_it(request, persona, linked):
    browser = persona_client(request, persona)
    html = browser.get(RECORDS).content.decode()
    assert (DASHBOARD_LINK in html) is linked
    # The link is there exactly when the dashboard opens for that person.
    assert (browser.get(DASHBOARD).status_code == 200) is linked
    assert f'href="{HOME}">View site' in html


@pytest.mark.parametrize("persona", ["finance", "leadership"])
def test_the_dashboard_links_back_to_the_records_for_staff(request, persona):
    html = persona_client(request, persona).get(DASHBOARD).content.decode()
    assert f'<a href="{RECORDS}" id="nav-records">Records</a>' in html


def test_the_dashboard_leaves_out_the_records_link_for_who_may_not_use_them(db, django_user_model):
    lead = django_user_model.objects.create_user(username="not-staff", password="pw", is_staff=False)
    lead.groups.add(Group.objects.get(name=LEADERSHIP))
    browser = Client()
    browser.force_login(lead)
    html = browser.get(DASHBOARD).content.decode()
    assert browser.get(DASHBOARD).status_code == 200
    assert 'id="nav-records"' not in html and 'id="nav-dashboard"' in html


# --- error pages --------------------------------------------------------------------------------


def assert_site_page(response, template: str) -> str:
    assert template in [t.name for t in response.templates]
    html = response.content.decode()
    assert 'class="site-header"' in html and 'class="notice-page"' in html
    assert "Traceback" not in html
    return html


def test_a_refused_dashboard_is_the_styled_403_with_a_way_back(operations_client):
    response = operations_client.get(DASHBOARD)
    assert response.status_code == 403
    html = assert_site_page(response, "403.html")
    assert f'href="{RECORDS}">The records' in html
    # Neither the dashboard's link nor its reason, nor the path asked for.
    assert f'href="{DASHBOARD}"' not in html and "Only Finance and Leadership" not in html


def test_the_403_page_is_the_same_whatever_was_refused(operations_client):
    pay = CompensationFactory(annual_salary="123456.00")
    pages = [
        f"/admin/staff/compensation/{pay.pk}/change/",
        "/admin/staff/compensation/999999/change/",
        DASHBOARD,
    ]
    bodies = {operations_client.get(page).content for page in pages}
    assert len(bodies) == 1
    html = bodies.pop().decode()
    assert "123456" not in html and "compensation" not in html.lower()
    # No form: a refusal carries no token that would tell one answer from another.
    assert "csrfmiddlewaretoken" not in html


@pytest.mark.parametrize("persona", ["operations", "finance"])
def test_the_404_page_is_styled_with_the_pages_of_the_role(request, persona):
    response = persona_client(request, persona).get("/no-such-page/<script>")
    assert response.status_code == 404
    html = assert_site_page(response, "404.html")
    assert "no-such-page" not in html and "<script>" not in html
    assert f'href="{RECORDS}">The records' in html
    assert (f'href="{DASHBOARD}">The leadership dashboard' in html) is (persona == "finance")


def test_the_404_page_of_an_anonymous_visitor_leads_to_the_start(client, db):
    html = assert_site_page(client.get("/no-such-page/"), "404.html")
    assert f'href="{HOME}">Go to the start page' in html
    assert f'href="{DASHBOARD}"' not in html and f'href="{RECORDS}"' not in html


@pytest.mark.urls(__name__)
def test_the_500_page_is_styled_and_needs_no_database(client):
    # No database in this test (pytest-django refuses access): the page must not need it.
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    html = assert_site_page(response, "500.html")
    assert f'href="{HOME}">Go to your start page' in html
    assert "secret" not in html and "123456" not in html and "RuntimeError" not in html


def test_a_form_without_its_token_gets_the_styled_csrf_page(operations_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operations_user)
    response = browser.post("/admin/logout/")
    assert response.status_code == 403
    html = assert_site_page(response, "403_csrf.html")
    assert "reload the page" in html and f'href="{HOME}"' in html

"""Who may do what through the API: every ``/api/`` route x persona x method, from the URL resolver.

The routes are read from ``get_resolver()``, so a route added anywhere is tested here without
anyone listing it. What each persona should get comes from the contract, never from the code
under test: the role matrix of ``opsite/roles.py`` (docs/roles.md) for the model behind a
CRUD route, and a short table below for the routes that are not plain CRUD. A route this file
cannot classify fails the meta-test, so a new kind of route has to be thought about, once, here.

The personas: anonymous; Operations and Finance by token; Leadership and a superuser by session;
an inactive Finance user by token; a revoked (deleted) token. Methods: GET and OPTIONS on list and
detail routes, POST with an empty body on list routes (a permission check: 400 when the persona
may create, 403 when not), and the methods of the other routes.

The machinery (routes, personas, the demo organization) is shared by the other API-wide tests:
``test_api_no_leaks``, ``test_api_query_counts`` and ``test_schemathesis`` import it from here,
and all four take the fixtures built on it (``api_world``, ``personas``) from ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache, cached_property
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache as django_cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.models import Token
from rest_framework.routers import APIRootView

from opsite.core.api.permissions import RolePermission
from opsite.core.roles import FINANCE, LEADERSHIP, OPERATIONS, OPSITE_APPS, role_matrix
from opsite.kpis import rollups
from opsite.kpis.api.public import PublicBadgeView, PublicKpisView, PublicSeriesView
from opsite.kpis.api.public_kit import PublicStoriesView
from opsite.tests.shared_rows import shared_rows
from opsite.tests.test_roles import ensure_role_groups

pytestmark = pytest.mark.django_db

# --- the routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern under ``/api/``, with what the resolver knows of its view."""

    name: str
    pattern: str
    callback: Any = field(compare=False, repr=False)

    @property
    def view_class(self) -> type:
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def actions(self) -> dict[str, str]:
        """``{"get": "list", "post": "create"}`` for a viewset route; empty for a plain view."""
        return getattr(self.callback, "actions", None) or {}

    @property
    def initkwargs(self) -> dict[str, Any]:
        return getattr(self.callback, "initkwargs", None) or {}

    @property
    def has_format_suffix(self) -> bool:
        return "(?P<format>" in self.pattern or "<drf_format_suffix:format>" in self.pattern

    @property
    def is_list(self) -> bool:
        return self.actions.get("get") == "list"

    @property
    def is_detail(self) -> bool:
        return self.actions.get("get") == "retrieve"

    @cached_property
    def model(self) -> type | None:
        """The model behind a viewset: its ``queryset``, or what ``get_queryset()`` returns."""
        queryset = getattr(self.view_class, "queryset", None)
        if queryset is None and self.actions:
            # As DRF's model permissions find it: a view instance, no request needed.
            view = self.view_class(**self.initkwargs)
            view.request, view.args, view.kwargs, view.format_kwarg = None, (), {}, None
            view.action = next(iter(self.actions.values()))
            queryset = view.get_queryset()
        return queryset.model if queryset is not None else None

    def __str__(self) -> str:
        return f"{self.name} {self.pattern}"


def _walk(patterns, prefix: str = "", namespace: str | None = None) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield Route(name=name, pattern=prefix + str(entry.pattern), callback=entry.callback)


@cache
def api_routes() -> tuple[Route, ...]:
    """Every route under ``/api/``, in the resolver's order."""
    return tuple(route for route in _walk(get_resolver().url_patterns) if route.pattern.startswith("api/"))


# --- what each route should answer --------------------------------------------------------------

ANYONE = None  # no authentication needed
AUTHENTICATED: frozenset[str] = frozenset()  # any active, signed-in user


@dataclass(frozen=True)
class Expect:
    """Who may call a route with a method (the permissions needed) and what they then get."""

    perms: frozenset[str] | None
    ok: int


PUBLIC_VIEWS = (
    PublicKpisView,
    PublicSeriesView,
    PublicBadgeView,
    PublicStoriesView,
    SpectacularAPIView,
    SpectacularSwaggerView,
)
# The public data files are off by default (OPSITE_PUBLIC_HUB_DATA): not found, for anyone.
DATA_FILE_OFF = {"GET": Expect(ANYONE, 404), "OPTIONS": Expect(ANYONE, 200), "POST": Expect(ANYONE, 405)}
RUNWAY = frozenset({"funding.view_runwaysnapshot"})
# The collection flags read contracts, their payments, grants, their disbursements and the date of
# the cash position: viewing every one of them (Finance, Leadership).
FLAGS = frozenset(
    {
        "contracts.view_servicecontract",
        "contracts.view_contractpayment",
        "funding.view_grant",
        "funding.view_disbursement",
        "funding.view_cashposition",
    }
)

# Routes whose permission is not the role matrix of one model: what docs/roles.md says of them. The
# status is the permitted persona's answer to the request this file sends (an empty body).
EXPLICIT: dict[str, dict[str, Expect]] = {
    "public-api:data-maus-by-hub": DATA_FILE_OFF,
    "public-api:data-maus-unique-by-cluster": DATA_FILE_OFF,
    "funding-api:runway": {"GET": Expect(RUNWAY, 200), "OPTIONS": Expect(RUNWAY, 200)},
    "funding-api:runway-recompute": {
        "POST": Expect(RUNWAY, 202),
        "OPTIONS": Expect(RUNWAY, 200),
        "GET": Expect(RUNWAY, 405),
    },
    "funding-api:flags": {
        "GET": Expect(FLAGS, 200),
        "OPTIONS": Expect(FLAGS, 200),
        "POST": Expect(FLAGS, 405),
    },
    # Creating a schedule adds payments to a contract; an empty body names no plan.
    "contracts-api:contract-schedule": {
        "POST": Expect(frozenset({"contracts.view_servicecontract", "contracts.add_contractpayment"}), 400),
        "OPTIONS": Expect(
            frozenset({"contracts.view_servicecontract", "contracts.add_contractpayment"}), 200
        ),
    },
    # Choosing the default scenario is an edit of scenarios (Finance, Leadership); it needs no body.
    "funding-api:scenario-make-default": {
        "POST": Expect(frozenset({"funding.view_scenario", "funding.change_scenario"}), 200),
        "OPTIONS": Expect(frozenset({"funding.view_scenario", "funding.change_scenario"}), 200),
    },
}
# Extra actions guarded by the role matrix (a RolePermission): the permitted answer to an empty body.
EXTRA_ACTION_OK = {
    "communities-api:active-user-count-batch": {"POST": 400},
    "contributions-api:pull-request-batch": {"POST": 400},
}
STANDARD_OK = {"list": 200, "retrieve": 200, "create": 400}


def _role_perms(route: Route, method: str) -> frozenset[str] | None:
    """The permissions the route's RolePermission classes ask of ``method``; None if it has none."""
    classes = route.initkwargs.get("permission_classes", getattr(route.view_class, "permission_classes", []))
    role_classes = [cls for cls in classes if isinstance(cls, type) and issubclass(cls, RolePermission)]
    if not role_classes or len(role_classes) != len(classes) or route.model is None:
        return None
    opts = route.model._meta
    names = {"app_label": opts.app_label, "model_name": opts.model_name}
    return frozenset(perm % names for cls in role_classes for perm in cls.perms_map[method])


def expectations(route: Route) -> dict[str, Expect] | None:
    """``{method: Expect}`` for the methods this file sends to ``route``; None if unclassified."""
    view = route.view_class
    if view is not None and issubclass(view, PUBLIC_VIEWS):
        return {"GET": Expect(ANYONE, 200), "OPTIONS": Expect(ANYONE, 200), "POST": Expect(ANYONE, 405)}
    if view is not None and issubclass(view, APIRootView):
        # The index of an app's routes: links only, for any signed-in user.
        return {"GET": Expect(AUTHENTICATED, 200), "OPTIONS": Expect(AUTHENTICATED, 200)}
    if route.name in EXPLICIT:
        return EXPLICIT[route.name]
    if not route.actions:
        return None
    found: dict[str, Expect] = {}
    for method, action in route.actions.items():
        method = method.upper()
        if route.is_detail and method != "GET":
            continue  # writes to one record are the apps' own tests; here reads only
        ok = STANDARD_OK.get(action) or EXTRA_ACTION_OK.get(route.name, {}).get(method)
        perms = _role_perms(route, method)
        if ok is None or perms is None:
            return None
        found[method] = Expect(perms, ok)
    options = _role_perms(route, "OPTIONS")
    if options is None:
        return None
    found["OPTIONS"] = Expect(options, 200)
    return found


def all_model_labels() -> list[str]:
    return [
        model._meta.label_lower
        for label in OPSITE_APPS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.model_name.startswith("historical")
    ]


@cache
def role_permissions() -> dict[str, frozenset[str]]:
    """Each role's permissions, as ``opsite/roles.py`` defines them for today's models."""
    return {group: frozenset(perms) for group, perms in role_matrix(all_model_labels()).items()}


# --- personas -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    name: str
    role: str | None  # a role group, "superuser", or None for who is not signed in
    make_client: Callable[[], Client] = field(compare=False, repr=False)

    @property
    def authenticated(self) -> bool:
        return self.role is not None

    def permitted(self, expect: Expect) -> bool:
        if expect.perms is ANYONE:
            return True
        if not self.authenticated:
            return False
        if self.role == "superuser":
            return True
        return expect.perms <= role_permissions()[self.role]

    def expected_status(self, expect: Expect) -> int:
        if expect.perms is not ANYONE and not self.authenticated:
            return 401
        return expect.ok if self.permitted(expect) else 403


PERSONA_NAMES = ("anonymous", "operations", "finance", "leadership", "superuser", "inactive", "revoked_token")


def _user(username: str, group: str | None = None, **extra):
    user = get_user_model().objects.create_user(
        username=username, password=f"pw-{username}", email=f"{username}@example.org", is_staff=True, **extra
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def _token_client(key: str) -> Callable[[], Client]:
    return lambda: Client(HTTP_AUTHORIZATION=f"Token {key}")


def _session_client(user) -> Callable[[], Client]:
    def make() -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


def make_personas() -> dict[str, Persona]:
    """The seven personas; their users and tokens are created in the current transaction."""
    operations = _user("matrix-ops", OPERATIONS)
    finance = _user("matrix-fin", FINANCE)
    leadership = _user("matrix-lead", LEADERSHIP)
    root = get_user_model().objects.create_superuser("matrix-root", "root@example.org", "pw-root")
    inactive = _user("matrix-gone", FINANCE, is_active=False)
    revoked = Token.objects.create(user=_user("matrix-revoked", FINANCE))
    revoked_key = revoked.key
    revoked.delete()
    personas = [
        Persona("anonymous", None, Client),
        Persona("operations", OPERATIONS, _token_client(Token.objects.create(user=operations).key)),
        Persona("finance", FINANCE, _token_client(Token.objects.create(user=finance).key)),
        Persona("leadership", LEADERSHIP, _session_client(leadership)),
        Persona("superuser", "superuser", _session_client(root)),
        # Its token still exists, but the account is switched off: 401, like no token at all.
        Persona("inactive", None, _token_client(Token.objects.create(user=inactive).key)),
        Persona("revoked_token", None, _token_client(revoked_key)),
    ]
    return {persona.name: persona for persona in personas}


# --- the organization the requests read ---------------------------------------------------------


def _extra_rows() -> None:
    """Two rows for each model the demo leaves empty or nearly: every detail route has a record to show, and
    every list more than one row (the query-count tests compare pages of one and of several)."""
    from communities.models import CloudCost, ClusterUsage, CostSource, Hub, Network, PrometheusSource
    from contracts.models import UsageFeeSchedule, UsageFeeTier
    from contributions.models import SyncRun
    from funding.models import RunwayAlert, RunwaySnapshot

    # The demo has one network, and one usage fee schedule (the default).
    Network.objects.create(slug="demo-second-network", name="A second network")
    flat = UsageFeeSchedule.objects.create(slug="demo-flat", name="A flat price per user")
    UsageFeeTier.objects.create(schedule=flat, up_to=None, unit_price=Decimal("1.00"))
    for index in (1, 2):
        PrometheusSource.objects.create(
            cluster=f"demo-cluster-{index}", url=f"https://prometheus-{index}.example.org"
        )
        ClusterUsage.objects.create(
            cluster="demo-cluster-1", date=date(2024, 12, index), unique_users=40 + index
        )
        # The cloud costs (until the demo has some): one of a hub, one of no hub.
        CostSource.objects.get_or_create(
            cluster=f"demo-cluster-{index}", defaults={"url": f"https://costs-{index}.example.org"}
        )
        CloudCost.objects.get_or_create(
            date=date(2024, 12, index),
            cluster="demo-cluster-1",
            hub=None if index == 1 else Hub.objects.order_by("slug").first(),
            component="compute",
            defaults={"amount": Decimal("10.00") + index, "currency": "USD"},
        )
        SyncRun.objects.create(
            started_at=timezone.now(), since=date(2024, 12, 1), until=date(2024, 12, 29 + index)
        )
    for snapshot in RunwaySnapshot.objects.select_related("scenario").order_by("pk")[:2]:
        RunwayAlert.objects.create(
            scenario=snapshot.scenario,
            snapshot=snapshot,
            months=Decimal("11.40"),
            reason=RunwayAlert.Reason.MOVED,
        )


def build_api_world() -> dict[str, Persona]:
    """The demo organization with its rollups and runways, one row in every table, the personas."""
    from funding.runway.snapshots import runway_recompute_all

    ensure_role_groups()
    call_command("load_demo", "--today=2026-12-03", verbosity=0)
    # Tasks wait for a commit that never comes inside the test's transaction: run them here.
    rollups.recompute_rollups()
    runway_recompute_all()
    _extra_rows()
    return make_personas()


@contextmanager
def api_world_for_module(django_db_blocker) -> Iterator[dict[str, Persona]]:
    """The world, built in a transaction rolled back at the end (a module fixture's body: each
    test's changes then roll back to it). The other API-wide test modules use it too."""
    with shared_rows(django_db_blocker, build_api_world) as built:
        yield built


def unthrottled(settings) -> None:
    # The public routes are called many times from one address: no throttle here (its own tests
    # are in test_public_api).
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
    django_cache.clear()


def lookup_kwargs(route: Route) -> dict[str, Any] | None:
    """The URL keyword arguments of ``route``: a record's key for a detail route; None if no row."""
    kwargs: dict[str, Any] = {"format": "json"} if route.has_format_suffix else {}
    if "<str:metric>" in route.pattern:
        kwargs["metric"] = "headcount"
    if not route.actions or not route.callback.initkwargs.get("detail"):
        return kwargs
    view = route.view_class
    lookup_field = view.lookup_field
    url_kwarg = view.lookup_url_kwarg or lookup_field
    record = route.model._default_manager.order_by("pk").first()
    if record is None:
        return None
    value = record
    # "full_name__iexact" looks a record up by its full_name: follow the fields, not the lookup.
    for part in lookup_field.split("__"):
        if part in ("exact", "iexact"):
            break
        value = getattr(value, part)
    kwargs[url_kwarg] = value.isoformat() if isinstance(value, date) else value
    return kwargs


def route_url(route: Route) -> str:
    kwargs = lookup_kwargs(route)
    assert kwargs is not None, f"no record to show at {route}"
    url = reverse(route.name, kwargs=kwargs)
    # One row is enough to see who may read a list: a page of demo rows would only slow this down.
    if route.is_list:
        return f"{url}?limit=1"
    # The schema as JSON: rendering its YAML (the default) takes longer than anything else here.
    return (
        f"{url}?format=json" if route.view_class and issubclass(route.view_class, SpectacularAPIView) else url
    )


# A format suffix (members.json) reaches the same view with the same permissions as the plain
# route: what it can break is the routing, so one persona of each kind is enough there.
SUFFIX_PERSONAS = ("anonymous", "operations", "superuser")


def personas_for(route: Route, personas: dict[str, Persona]) -> list[Persona]:
    if route.has_format_suffix:
        return [personas[name] for name in SUFFIX_PERSONAS]
    return list(personas.values())


def send(client: Client, method: str, url: str):
    if method == "POST":
        return client.post(url, data={}, content_type="application/json")
    return client.generic(method, url)


# --- the tests ----------------------------------------------------------------------------------


def test_every_api_route_has_an_expected_outcome_for_every_method():
    unclassified = [str(route) for route in api_routes() if expectations(route) is None]

    assert not unclassified, (
        "Routes with no expected outcome: classify them in test_api_matrix.py "
        f"(a RolePermission on a model, or an EXPLICIT entry): {unclassified}"
    )


def test_the_walk_finds_the_routes_of_every_api():
    names = {route.name.split(":")[0] for route in api_routes()}

    assert {"public-api", "api-schema", "api-docs", "contracts-api", "funding-api"} <= names
    assert len(api_routes()) > 20


def test_every_detail_route_has_a_record_to_show(personas):
    missing = [str(route) for route in api_routes() if route.is_detail and lookup_kwargs(route) is None]

    assert not missing


# Defects found by this matrix in code other modules own, until fixed there. Strict: once fixed,
# the xfail itself fails, and the entry is to be removed.
KNOWN_DEFECTS: dict[tuple[str, bool], str] = {}


def matrix_params() -> list:
    params = []
    for route in api_routes():
        if expectations(route) is None:
            continue
        reason = KNOWN_DEFECTS.get((route.name, route.has_format_suffix))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(route, id=str(route), marks=marks))
    return params


@pytest.mark.parametrize("route", matrix_params())
def test_the_route_answers_each_persona_as_the_roles_allow(personas, route):
    url = route_url(route)
    mismatches = []
    for persona in personas_for(route, personas):
        for method, expect in expectations(route).items():
            client = persona.make_client()
            response = send(client, method, url)
            wanted = persona.expected_status(expect)
            if response.status_code != wanted:
                mismatches.append(f"{persona.name} {method} {url}: {response.status_code}, expected {wanted}")
            elif wanted == 401:
                # DRF names the scheme to use; a 401 without it is a 403 in disguise.
                assert response.has_header("WWW-Authenticate"), f"{persona.name} {method} {url}"

    assert not mismatches, "\n".join(mismatches)


def test_operations_is_refused_compensation_cash_and_the_runway(personas):
    client = personas["operations"].make_client()

    for url in (
        "/api/v1/funding/runway/",
        "/api/v1/funding/cash-positions/",
        "/api/v1/funding/runway-snapshots/",
    ):
        assert client.get(url).status_code == 403, url
    compensation = [
        r for r in api_routes() if r.is_list and r.model and r.model._meta.model_name == "compensation"
    ]
    assert compensation, "the compensation API is routed"
    assert client.get(route_url(compensation[0])).status_code == 403


# --- session writes need CSRF; tokens do not ----------------------------------------------------


def test_a_session_write_without_a_csrf_token_is_refused(personas):
    user = get_user_model().objects.get(username="matrix-root")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post("/api/v1/funding/funders/", data={}, content_type="application/json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_token_write_needs_no_csrf_token(personas):
    key = Token.objects.get(user__username="matrix-fin").key
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {key}")

    response = client.post("/api/v1/funding/funders/", data={}, content_type="application/json")

    assert response.status_code == 400


# --- tokens: manage.py issue_token ----------------------------------------------------------------


def _issue(*args: str) -> str:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("issue_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip()


def test_issue_token_prints_a_key_that_authenticates(personas):
    key = _issue("matrix-lead")

    response = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/funding/runway/")

    assert Token.objects.get(user__username="matrix-lead").key == key
    assert response.status_code == 200


def test_issuing_again_rotates_the_token_and_the_old_one_stops_working(personas):
    old = _issue("matrix-lead")

    new = _issue("matrix-lead")

    assert new != old
    assert Client(HTTP_AUTHORIZATION=f"Token {old}").get("/api/v1/funding/scenarios/").status_code == 401
    assert Client(HTTP_AUTHORIZATION=f"Token {new}").get("/api/v1/funding/scenarios/").status_code == 200


def test_a_revoked_token_gets_401(personas):
    key = _issue("matrix-lead")

    message = _issue("matrix-lead", "--revoke")

    assert "revoked" in message.lower()
    assert not Token.objects.filter(user__username="matrix-lead").exists()
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/funding/scenarios/").status_code == 401


@pytest.mark.parametrize(("username", "message"), [("nobody", "No user named"), ("matrix-gone", "inactive")])
def test_no_token_is_issued_to_an_unknown_or_inactive_user(personas, username, message):
    with pytest.raises(CommandError, match=message):
        _issue(username)

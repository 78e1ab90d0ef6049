"""The role groups, and what Operations may never see: compensation, cash, the runway.

docs/roles.md: compensation, cash positions and the runway are for Finance, Leadership and
superusers only, not in Operations' admin lists, forms, history, exports or any page.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from funding.models import CashPosition, RunwayAlert, RunwaySnapshot, Scenario
from opsite.core.roles import (
    FINANCE,
    LEADERSHIP,
    OPERATIONS,
    OPSITE_APPS,
    ROLE_NAMES,
    SENSITIVE_MODELS,
    role_matrix,
    sync_role_groups,
)
from opsite.demo.loader import DEMO_TODAY, demo_load
from opsite.tests.shared_rows import shared_rows
from staff.models import Compensation, StaffMember

SENSITIVE_ADMIN_NAMES = ("Compensation", "Cash position", "Runway snapshot")


def ensure_role_groups() -> None:
    """Put the role groups back if a transactional test that ran earlier in this process
    flushed every table, the groups made by the roles migration included.

    It runs the migration's function on the live app registry. That function is written for a
    migration's frozen registry and clears each app's ``models_module`` when done; on the live
    registry that would stop later ``post_migrate`` handlers, so the values are put back.
    """
    if Group.objects.filter(name__in=ROLE_NAMES).count() == len(ROLE_NAMES):
        return
    saved = {config: config.models_module for config in apps.get_app_configs()}
    try:
        sync_role_groups(apps)
    finally:
        for config, module in saved.items():
            config.models_module = module


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The role groups and the demo, set up once for this module and rolled back after it."""

    def build():
        ensure_role_groups()
        demo_load(today=DEMO_TODAY)

    with shared_rows(django_db_blocker, build):
        yield


def admin_url(label: str, view: str, *args) -> str:
    opts = apps.get_model(label)._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def money_spellings(amount: Decimal) -> set[str]:
    """The ways a page could print an amount: 165000, 165000.00, 165,000, 165,000.00, 165.000."""
    whole = int(amount)
    return {
        str(whole),
        f"{amount:.2f}",
        f"{whole:,}",
        f"{amount:,.2f}",
        f"{whole:,}".replace(",", "."),
        f"{whole:,}".replace(",", "\u00a0"),
    }


def salary_spellings() -> set[str]:
    return {
        text
        for amount in Compensation.objects.values_list("annual_salary", flat=True)
        for text in money_spellings(amount)
    }


def leaked(text: str, spellings: set[str]) -> list[str]:
    # Whole numbers only: "125000" inside a longer number or token is not a salary.
    return sorted(s for s in spellings if re.search(rf"(?<![\d.,]){re.escape(s)}(?![\d])", text))


def sensitive_row(label: str):
    """A row of a sensitive model; the demo keeps no runway snapshot (the engine makes them)."""
    model = apps.get_model(label)
    obj = model._default_manager.order_by("pk").first()
    if obj is None and model is RunwaySnapshot:
        obj = RunwaySnapshot.objects.create(
            scenario=Scenario.objects.get(slug="base"),
            as_of=date(2024, 12, 31),
            computed_at=timezone.now(),
            months=Decimal("19.60"),
            result={"opening_balance": "1850000.00"},
        )
    if obj is None and label == "funding.runwayalert":
        snapshot = sensitive_row("funding.runwaysnapshot")
        obj = RunwayAlert.objects.create(
            scenario=snapshot.scenario, snapshot=snapshot, months=snapshot.months, reason="below_floor"
        )
    assert obj is not None, label
    return obj


# --- the groups -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_role_groups_hold_exactly_the_permissions_of_the_roles_matrix(demo):
    models = [
        model._meta.label_lower
        for label in OPSITE_APPS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.model_name.startswith("historical")
    ]
    expected = role_matrix(models)
    for name in (OPERATIONS, FINANCE, LEADERSHIP):
        group = Group.objects.get(name=name)
        held = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        assert held == expected[name], name


@pytest.mark.django_db
def test_operations_holds_no_permission_on_a_sensitive_model(demo):
    held = Group.objects.get(name=OPERATIONS).permissions.values_list(
        "content_type__app_label", "content_type__model"
    )
    assert not {f"{app}.{model}" for app, model in held} & set(SENSITIVE_MODELS)


# --- Operations in the admin ------------------------------------------------------------------

SENSITIVE_REGISTERED = [label for label in SENSITIVE_MODELS if apps.get_model(label) in admin.site._registry]


@pytest.mark.parametrize("label", SENSITIVE_REGISTERED)
@pytest.mark.parametrize("view", ["changelist", "add", "export", "import"])
def test_operations_gets_403_on_every_sensitive_list_form_and_export(demo, operations_client, label, view):
    try:
        url = admin_url(label, view)
    except NoReverseMatch:
        pytest.skip(f"{label} has no {view} view")
    assert operations_client.get(url).status_code == 403


@pytest.mark.parametrize("label", SENSITIVE_REGISTERED)
@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_operations_gets_403_on_a_sensitive_row_and_its_history(demo, operations_client, label, view):
    obj = sensitive_row(label)
    assert operations_client.get(admin_url(label, view, obj.pk)).status_code == 403


@pytest.mark.parametrize("label", SENSITIVE_REGISTERED)
def test_finance_and_leadership_may_open_the_sensitive_lists(demo, finance_client, leadership_client, label):
    url = admin_url(label, "changelist")
    assert finance_client.get(url).status_code == 200
    assert leadership_client.get(url).status_code == 200


@pytest.mark.django_db
def test_the_admin_index_shown_to_operations_lists_no_sensitive_model(demo, operations_client):
    response = operations_client.get(reverse("admin:index"))
    assert response.status_code == 200
    shown = {model["object_name"] for app in response.context["app_list"] for model in app["models"]}
    assert {"StaffMember", "Community"} <= shown
    assert not shown & {"Compensation", "CashPosition", "RunwaySnapshot"}
    text = response.content.decode()
    for name in SENSITIVE_ADMIN_NAMES:
        assert name not in text
    for label in SENSITIVE_MODELS:
        opts = apps.get_model(label)._meta
        assert f"/{opts.app_label}/{opts.model_name}/" not in text


@pytest.mark.django_db
def test_the_admin_index_shown_to_finance_lists_compensation_and_cash(demo, finance_client):
    response = finance_client.get(reverse("admin:index"))
    shown = {model["object_name"] for app in response.context["app_list"] for model in app["models"]}
    assert {"Compensation", "CashPosition"} <= shown


@pytest.mark.django_db
def test_no_salary_figure_reaches_operations_through_the_admin_pages(demo, operations_client):
    spellings = salary_spellings()
    assert len(spellings) > 20
    pages = [
        reverse("admin:index"),
        reverse("admin:app_list", args=["staff"]),
        admin_url("staff.StaffMember", "changelist"),
        admin_url("staff.StaffMember", "changelist") + "?q=engineer",
        admin_url("staff.StaffMember", "add"),
    ]
    pages += [
        admin_url("staff.StaffMember", "change", pk)
        for pk in StaffMember.objects.values_list("pk", flat=True)
    ]
    pages += [admin_url("staff.StaffMember", "history", StaffMember.objects.order_by("pk").first().pk)]
    for url in pages:
        response = operations_client.get(url)
        assert response.status_code == 200, url
        assert leaked(response.content.decode(), spellings) == [], url


@pytest.mark.django_db
def test_no_salary_figure_or_cash_balance_reaches_operations_in_the_staff_export(demo, operations_client):
    from opsite.tests.test_admin_all import export_csv

    response = export_csv(operations_client, "staff.StaffMember")
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "Noah Kim" in text
    balances = {
        s
        for amount in CashPosition.objects.values_list("balance", flat=True)
        for s in money_spellings(amount)
    }
    assert leaked(text, salary_spellings() | balances) == []


@pytest.mark.django_db
def test_the_salary_search_itself_finds_a_salary_on_the_page_finance_sees(demo, finance_client):
    # The detector above must be able to fail: on a page Finance may see, the figures are there.
    response = finance_client.get(admin_url("staff.Compensation", "changelist"))
    assert leaked(response.content.decode(), salary_spellings())

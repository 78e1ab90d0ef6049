"""Every registered ModelAdmin works for a superuser on the demo data.

Parametrized over ``admin.site._registry`` at collection time, so a new admin is covered the day
it is registered: changelist, search, add form, change form, history, export (form and a CSV).
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse
from import_export.admin import ExportMixin, ImportMixin

from opsite.core.roles import FINANCE_EDITS, OPERATIONS_EDITS, OPERATIONS_VIEWS
from opsite.tests.shared_rows import loaded_demo

REGISTRY = dict(sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label))
LABELS = [model._meta.label for model in REGISTRY]
SEARCHABLE = [model._meta.label for model, model_admin in REGISTRY.items() if model_admin.search_fields]
EXPORTABLE = [
    model._meta.label for model, model_admin in REGISTRY.items() if isinstance(model_admin, ExportMixin)
]
# The models of the apps (docs/architecture.md "The apps"): each is imported and exported through the admin.
DESIGN_MODELS = sorted({*OPERATIONS_EDITS, *OPERATIONS_VIEWS, *FINANCE_EDITS})
# A full page of the changelist must not cost a query per row (pages hold 50 or more rows).
CHANGELIST_MAX_QUERIES = 25


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once for this module and rolled back after it."""
    with loaded_demo(django_db_blocker):
        yield


@pytest.fixture
def root(demo, db, superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def admin_url(label: str, view: str, *args) -> str:
    opts = apps.get_model(label)._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def model_admin_for(label: str, user):
    model = apps.get_model(label)
    request = RequestFactory().get("/")
    request.user = user
    return REGISTRY[model], request, model


@pytest.mark.parametrize("label", LABELS)
def test_changelist_answers_200_within_a_constant_number_of_queries(
    root, label, django_assert_max_num_queries
):
    with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
        response = root.get(admin_url(label, "changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("label", SEARCHABLE)
def test_changelist_search_answers_200(root, label):
    response = root.get(admin_url(label, "changelist"), {"q": "x"})
    assert response.status_code == 200
    assert "cl" in response.context


@pytest.mark.parametrize("label", LABELS)
def test_add_form_answers_200_unless_the_admin_forbids_adding(root, superuser, label):
    model_admin, request, _model = model_admin_for(label, superuser)
    # Computed records (runway snapshots, sync runs) may be read-only even for a superuser.
    expected = 200 if model_admin.has_add_permission(request) else 403
    assert root.get(admin_url(label, "add")).status_code == expected


def job_written_row(label: str):
    """A row of a table the demo leaves empty because jobs write it (runs, snapshots, tokens)."""
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from rest_framework.authtoken.models import Token, TokenProxy

    from communities.models import CloudCost, ClusterUsage, CostSource, PrometheusSource
    from contributions.models import SyncRun
    from funding.models import RunwayAlert, RunwaySnapshot, Scenario
    from opsite.core.models import RecomputeState

    now = timezone.now()
    label = label.lower()
    if label == "authtoken.tokenproxy":
        token = Token.objects.create(user=get_user_model().objects.get(username="root"))
        return TokenProxy.objects.get(pk=token.pk)  # the admin addresses a token by its user
    if label == "communities.clusterusage":
        return ClusterUsage.objects.create(
            cluster="demo-cluster", date=dt.date(2024, 12, 31), unique_users=12
        )
    if label == "communities.prometheussource":
        return PrometheusSource.objects.create(cluster="demo-cluster", url="http://127.0.0.1:9090/")
    if label == "communities.costsource":
        return CostSource.objects.create(cluster="demo-cluster", url="http://127.0.0.1:8080/")
    if label == "communities.cloudcost":
        return CloudCost.objects.create(
            date=dt.date(2024, 12, 31),
            cluster="demo-cluster",
            component="core",
            amount="1.00",
            currency="USD",
        )
    if label == "contributions.syncrun":
        return SyncRun.objects.create(started_at=now)
    if label == "opsite.recomputestate":
        return RecomputeState.objects.get_or_create(kind="rollups", defaults={"requested_at": now})[0]
    snapshot = RunwaySnapshot.objects.create(
        scenario=Scenario.objects.get(slug="base"), as_of=dt.date(2024, 12, 31), computed_at=now
    )
    if label == "funding.runwaysnapshot":
        return snapshot
    if label == "funding.runwayalert":
        return RunwayAlert.objects.create(scenario=snapshot.scenario, snapshot=snapshot, reason="moved")
    raise AssertionError(f"no row of {label} to open: add it to the demo or here")


@pytest.mark.parametrize("label", LABELS)
def test_change_form_and_history_of_an_existing_row_answer_200(root, label):
    obj = apps.get_model(label)._default_manager.order_by("pk").first() or job_written_row(label)
    assert root.get(admin_url(label, "change", obj.pk)).status_code == 200
    assert root.get(admin_url(label, "history", obj.pk)).status_code == 200


# A table bigger than this is exported a month at a time, as a person would (the whole of the
# demo's quarter of a million cloud costs takes a minute to write out).
WHOLE_EXPORT_ROWS = 10_000


def export_query(label: str) -> str:
    """The list filter an export of ``label`` is made under: none, or for a big table the latest
    month of its date hierarchy (the admin's export keeps the list's filters)."""
    model = apps.get_model(label)
    field = REGISTRY[model].date_hierarchy
    if not field or model._default_manager.count() <= WHOLE_EXPORT_ROWS:
        return ""
    latest = model._default_manager.order_by(f"-{field}").values_list(field, flat=True).first()
    return f"?{field}__year={latest.year}&{field}__month={latest.month}"


def export_csv(client: Client, label: str):
    """Fill the export form the way a person would (CSV, every field ticked) and submit it."""
    url = admin_url(label, "export") + export_query(label)
    form = client.get(url).context["form"]
    data = {"resource": "0"}
    data["format"] = next(
        value for value, title in form.fields["format"].choices if str(title).lower() == "csv"
    )
    for name, field in form.fields.items():
        if getattr(field, "is_selectable_field", False) and field.resource_index == 0:
            data[name] = "on"
    return client.post(url, data)


@pytest.mark.parametrize("label", EXPORTABLE)
def test_export_form_answers_200_and_exports_csv(root, label):
    assert root.get(admin_url(label, "export")).status_code == 200
    response = export_csv(root, label)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines and lines[0]  # the header row
    if apps.get_model(label)._default_manager.exists():
        assert len(lines) > 1


@pytest.mark.parametrize("label", DESIGN_MODELS)
def test_every_design_model_imports_and_exports_through_its_admin(label):
    model_admin = REGISTRY.get(apps.get_model(label))
    assert model_admin is not None, f"{label} is not registered in admin"
    assert isinstance(model_admin, ImportMixin) and isinstance(model_admin, ExportMixin)

"""Every business date and instant of the five apps carries the plausible-range validator.

``PlausibleDateValidator`` on the model field is what every door runs: DRF's model serializers
copy it, the admin's model forms and the services' ``full_clean()`` call it. The first test keeps
that true for fields added later; the others send a date far outside the range through the API
and the admin of each app and expect the message naming the range, and nothing written.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse

from communities.models import Community
from communities.tests.factories import CommunityFactory
from contracts.models import ServiceContract
from contributions.models import PullRequest
from contributions.tests.factories import RepositoryFactory
from funding.models import CashPosition, ExchangeRate
from opsite.core.dates import PlausibleDateValidator
from staff.models import StaffMember

RANGE = "2000-01-01 to 2100-12-31"
APPS = ("staff", "communities", "contributions", "contracts", "funding")
# Instants the system stamps itself (never typed, imported or sent), and figures it computes.
NOT_CHECKED = {
    "contributions.SyncRun.started_at",
    "contributions.SyncRun.finished_at",
    "contributions.SyncRun.retry_at",
    "funding.RunwaySnapshot.computed_at",
    "funding.RunwaySnapshot.cash_out_on",  # up to 120 months after a cash position near the end
    "funding.RunwayAlert.sent_at",
    # The reminders' claims, written by the job with the clock's time.
    "funding.FunderReport.reminded_35_at",
    "funding.FunderReport.reminded_7_at",
}


def dated_fields():
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            if model.__name__.startswith("Historical"):
                continue  # simple_history copies the fields, validators included
            for field in model._meta.get_fields():
                if isinstance(field, models.DateField) and not (field.auto_now or field.auto_now_add):
                    yield f"{model._meta.label}.{field.name}", field


def test_every_business_date_and_instant_checks_the_plausible_range():
    checked = {name for name, field in dated_fields() if PlausibleDateValidator() in field.validators}
    unchecked = {name for name, _ in dated_fields()} - checked

    assert unchecked == NOT_CHECKED
    assert {"funding.CashPosition.as_of", "contributions.PullRequest.created_at"} <= checked
    assert len(checked) >= 30


@pytest.mark.django_db
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-31"])
@pytest.mark.parametrize("app", ["staff", "communities", "contributions", "contracts", "funding"])
def test_the_api_of_every_app_refuses_a_date_outside_the_range(super_client, app, day):
    community = CommunityFactory(slug="uni-a")
    repository = RepositoryFactory(full_name="jupyterhub/repo2docker")
    name, payload, field, model = {
        "staff": (
            "staff-api:member-list",
            {"slug": "ada", "name": "Ada", "team": "engineering"},
            "start_on",
            StaffMember,
        ),
        "communities": (
            "communities-api:community-list",
            {"slug": "u", "name": "U", "kind": "school", "country": "KE"},
            "joined_on",
            Community,
        ),
        "contributions": (
            "contributions-api:pull-request-list",
            {"repository": repository.full_name, "number": 1, "author_login": "ada-gh"},
            "created_at",
            PullRequest,
        ),
        "contracts": (
            "contracts-api:contract-list",
            {
                "reference": "c-1",
                "community": community.slug,
                "category": "hub_service",
                "status": "signed",
                "start_on": "2024-01-01",
                "end_on": "2024-12-31",
                "total_value": "100.00",
                "currency": "USD",
            },
            "signed_on",
            ServiceContract,
        ),
        "funding": (
            "funding-api:cash-position-list",
            {"balance": "1.00", "currency": "USD"},
            "as_of",
            CashPosition,
        ),
    }[app]
    value = f"{day}T00:00:00Z" if field == "created_at" else day
    before = model.objects.count()

    response = super_client.post(reverse(name), {**payload, field: value}, content_type="application/json")

    assert response.status_code == 400, response.content
    assert RANGE in response.json()[field][0]
    assert model.objects.count() == before


@pytest.mark.django_db
def test_the_api_answers_400_not_500_for_an_instant_that_overflows_in_utc(super_client):
    repository = RepositoryFactory(full_name="jupyterhub/repo2docker")
    payload = {"repository": repository.full_name, "number": 1, "author_login": "a"}

    response = super_client.post(
        reverse("contributions-api:pull-request-list"),
        {**payload, "created_at": "9999-12-31T23:59:59-14:00"},
        content_type="application/json",
    )

    assert response.status_code == 400, response.content
    assert "created_at" in response.json()
    assert not PullRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-31"])
@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (CashPosition, {"balance": "1.00", "currency": "USD"}, "as_of"),
        (ExchangeRate, {"currency": "EUR", "rate": "1.1"}, "effective_on"),
    ],
    ids=["cash-position", "exchange-rate"],
)
def test_the_admin_form_shows_the_range_on_the_field(super_client, model, data, field, day):
    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")

    response = super_client.post(path, {**data, field: day})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert RANGE in errors[field][0]
    assert not model.objects.exists()

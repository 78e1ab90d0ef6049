"""Admin forms read numbers as strictly as the imports and the API: "٣" is not 3."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin

from contracts.models import ServiceContract
from contracts.tests.factories import ServiceContractFactory
from opsite.core.forms import StrictDecimalField, StrictIntegerField

pytestmark = pytest.mark.django_db


def change_form_post(contract: ServiceContract, **changes) -> dict[str, str]:
    data = {
        "reference": contract.reference,
        "community": str(contract.community_id),
        "category": contract.category,
        "status": contract.status,
        "probability": str(contract.probability),
        "signed_on": contract.signed_on.isoformat() if contract.signed_on else "",
        "start_on": contract.start_on.isoformat(),
        "end_on": contract.end_on.isoformat(),
        "total_value": str(contract.total_value),
        "currency": contract.currency,
        "payments-TOTAL_FORMS": "0",
        "payments-INITIAL_FORMS": "0",
        "payments-MIN_NUM_FORMS": "0",
        "payments-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("probability", "٣", "digits 0-9"),
        ("probability", "1e1", "not a whole number"),
        ("total_value", "1,500.00", "no thousands separators"),
        ("total_value", "1e3", "without an exponent"),
        ("total_value", "١٠٠", "digits 0-9"),
    ],
)
def test_a_number_other_doors_refuse_is_refused_by_the_admin_form_too(super_client, field, value, hint):
    contract = ServiceContractFactory(total_value=Decimal("1000.00"), probability=100)
    response = super_client.post(
        f"/admin/contracts/servicecontract/{contract.pk}/change/",
        change_form_post(contract, **{field: value}),
    )
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert hint in " ".join(errors[field]), errors
    contract.refresh_from_db()
    assert (contract.total_value, contract.probability) == (Decimal("1000.00"), 100)


def test_a_plain_number_is_still_read(super_client):
    contract = ServiceContractFactory(total_value=Decimal("1000.00"))
    response = super_client.post(
        f"/admin/contracts/servicecontract/{contract.pk}/change/",
        change_form_post(contract, total_value="1500.50", probability="90"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    contract.refresh_from_db()
    assert (contract.total_value, contract.probability) == (Decimal("1500.50"), 90)


def test_every_number_column_of_every_admin_form_and_inline_uses_a_strict_field(rf, superuser):
    request = rf.get("/")
    request.user = superuser
    checked = 0
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_change_permission(request):
            continue
        admins = [model_admin, *model_admin.get_inline_instances(request)]
        for each in admins:
            form = (
                each.get_form(request)
                if isinstance(each, admin.ModelAdmin)
                else each.get_formset(request).form
            )
            for name, field in form.base_fields.items():
                if type(field).__name__ in ("IntegerField", "DecimalField"):
                    pytest.fail(
                        f"{model.__name__} ({type(each).__name__}).{name} is a lax {type(field).__name__}"
                    )
                checked += isinstance(field, StrictIntegerField | StrictDecimalField)
    assert checked > 20

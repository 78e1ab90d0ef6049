"""Import and export of contracts and their payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from communities.tests.factories import CommunityFactory
from contracts.models import ContractPayment, ServiceContract
from contracts.resources import ContractPaymentResource, ServiceContractResource
from opsite.core.resources import FORMATS, ImportFailed, RowError, import_file
from opsite.core.testing import exported_file

from .factories import ContractPaymentFactory, ServiceContractFactory

pytestmark = pytest.mark.django_db
D = Decimal


def snapshot(model, *fields) -> list[tuple]:
    return list(model.objects.order_by("pk").values_list("pk", *fields))


def seed() -> None:
    signed = ServiceContractFactory(reference="uni-a-2024", total_value=D("12000.00"))
    ServiceContractFactory(
        reference="uni-b-2025",
        status="proposed",
        probability=40,
        signed_on=None,
        start_on=dt.date(2025, 1, 1),
        end_on=dt.date(2026, 6, 30),
        total_value=D("9876543.21"),
        currency="EUR",
    )
    ContractPaymentFactory(
        contract=signed, due_on=dt.date(2024, 1, 1), amount=D("6000.00"), paid_on=dt.date(2024, 1, 20)
    )
    ContractPaymentFactory(contract=signed, due_on=dt.date(2024, 7, 1), amount=D("5999.99"))


CONTRACT_FIELDS = (
    "reference",
    "community_id",
    "category",
    "status",
    "probability",
    "signed_on",
    "start_on",
    "end_on",
    "total_value",
    "currency",
)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
@pytest.mark.parametrize(
    ("resource_class", "model", "fields"),
    [
        (ServiceContractResource, ServiceContract, CONTRACT_FIELDS),
        (ContractPaymentResource, ContractPayment, ("contract_id", "due_on", "amount", "paid_on")),
    ],
)
def test_an_export_re_imports_as_an_update_that_changes_nothing(resource_class, model, fields, fmt):
    seed()
    before = snapshot(model, *fields)
    result = import_file(resource_class(), exported_file(resource_class(), fmt), fmt)
    # Unchanged rows are skipped, not written.
    assert [row.import_type for row in result.rows] == ["skip"] * len(before)
    assert snapshot(model, *fields) == before


def test_the_contract_export_shows_payment_totals_for_reading():
    seed()
    content = exported_file(ServiceContractResource(), "csv")
    header = content.splitlines()[0]
    assert header == (
        "reference,community,category,status,probability,signed_on,start_on,end_on,total_value,currency,"
        "usage_fee_schedule,payments_total,schedule_incomplete"
    )
    assert "uni-a-2024," in content
    # An empty usage_fee_schedule: not priced by usage.
    assert ",12000.00,USD,,11999.99,1" in content
    assert ",9876543.21,EUR,,0.00,1" in content


def test_totals_in_an_imported_file_are_ignored():
    contract = ServiceContractFactory(reference="uni-2024")
    content = exported_file(ServiceContractResource(), "csv").replace(",0.00,1", ",999.00,0")
    assert ",12000.00,USD,,999.00,0" in content
    result = import_file(ServiceContractResource(), content, "csv")
    # The totals are not imported: the row is unchanged.
    assert [row.import_type for row in result.rows] == ["skip"]
    contract.refresh_from_db()
    assert contract.total_value == D("12000.00")
    assert not contract.payments.exists()


def test_a_new_payment_is_a_row_with_an_empty_id():
    contract = ServiceContractFactory(reference="uni-2024")
    result = import_file(
        ContractPaymentResource(), "id,contract,due_on,amount,paid_on\n,uni-2024,2024-03-01,100.00,\n", "csv"
    )
    assert [row.import_type for row in result.rows] == ["new"]
    assert contract.payments.get().amount == D("100.00")


# --- all or nothing --------------------------------------------------------------------------

CONTRACT_HEADER = (
    "reference,community,category,status,probability,signed_on,start_on,end_on,total_value,currency\n"
)
GOOD_CONTRACT = "c-{n},uni,hub_service,signed,100,2023-12-01,2024-01-01,2024-12-31,1000.00,USD"
BAD_CONTRACTS = [
    (
        "c-{n},nowhere,hub_service,signed,100,2023-12-01,2024-01-01,2024-12-31,1000.00,USD",
        "community",
        "no community with slug 'nowhere'.",
    ),
    (
        "c-{n},uni,hub_service,signed,100,,2024-01-01,2024-12-31,1000.00,USD",
        "signed_on",
        "A signed contract needs the date it was signed.",
    ),
    (
        "c-{n},uni,hub_service,signed,100,2023-12-01,2024-01-01,2023-12-31,1000.00,USD",
        "end_on",
        "The contract ends on 2023-12-31 before it starts on 2024-01-01.",
    ),
    (
        "c-{n},uni,hub_service,proposed,150,,2024-01-01,2024-12-31,1000.00,USD",
        "probability",
        "The probability is a percentage from 0 to 100, not 150.",
    ),
    (
        "c-{n},uni,hub_service,signed,100,2023-12-01,2024-01-01,2024-12-31,lots,USD",
        "total_value",
        "'lots' is not a number.",
    ),
]


@pytest.mark.parametrize("position", [1, 2, 3])
@pytest.mark.parametrize(("bad", "field", "reason"), BAD_CONTRACTS)
def test_one_bad_contract_row_anywhere_writes_nothing_and_is_named(position, bad, field, reason):
    CommunityFactory(slug="uni")
    lines = [GOOD_CONTRACT.format(n=n) for n in (1, 2, 3)]
    lines[position - 1] = bad.format(n=position)
    with pytest.raises(ImportFailed) as failed:
        import_file(ServiceContractResource(), CONTRACT_HEADER + "\n".join(lines) + "\n", "csv")
    assert failed.value.errors == [RowError(position, field, reason)]
    assert not ServiceContract.objects.exists()


@pytest.mark.parametrize("position", [1, 2, 3])
def test_money_with_three_decimal_places_is_refused_not_rounded(position):
    CommunityFactory(slug="uni")
    lines = [GOOD_CONTRACT.format(n=n) for n in (1, 2, 3)]
    lines[position - 1] = lines[position - 1].replace("1000.00", "1000.005")
    with pytest.raises(ImportFailed) as failed:
        import_file(ServiceContractResource(), CONTRACT_HEADER + "\n".join(lines) + "\n", "csv")
    assert failed.value.errors == [
        RowError(position, "total_value", "Ensure that there are no more than 2 decimal places.")
    ]
    assert not ServiceContract.objects.exists()


PAYMENT_HEADER = "id,contract,due_on,amount,paid_on\n"


@pytest.mark.parametrize("position", [1, 2, 3])
def test_a_payment_row_past_the_contract_value_writes_nothing_and_is_named(position):
    ServiceContractFactory(reference="uni-2024", total_value=D("1000.00"))
    ServiceContractFactory(reference="other", total_value=D("100.00"))
    lines = [",uni-2024,2024-01-01,400.00,", ",other,2024-02-01,100.00,", ",uni-2024,2024-03-01,600.00,"]
    lines[position - 1] = (
        lines[position - 1]
        .replace("100.00", "100.01")
        .replace("400.00", "400.01")
        .replace("600.00", "600.01")
    )
    contract = "other" if position == 2 else "uni-2024"
    total, over, value = ("100.01", "0.01", "100.00") if position == 2 else ("1,000.01", "0.01", "1,000.00")
    with pytest.raises(ImportFailed) as failed:
        import_file(ContractPaymentResource(), PAYMENT_HEADER + "\n".join(lines) + "\n", "csv")
    # The error sits on the contract's last row in the file.
    last_row = 2 if position == 2 else 3
    assert failed.value.errors == [
        RowError(
            last_row,
            "amount",
            f"The payments of contract {contract} would sum to {total} USD, {over} USD over its total value of {value} USD.",
        )
    ]
    assert not ContractPayment.objects.exists()


@pytest.mark.parametrize("position", [1, 2, 3])
def test_a_payment_row_naming_an_unknown_contract_writes_nothing(position):
    ServiceContractFactory(reference="uni-2024")
    lines = [",uni-2024,2024-01-01,10.00,", ",uni-2024,2024-02-01,10.00,", ",uni-2024,2024-03-01,10.00,"]
    lines[position - 1] = ",nope,2024-01-01,10.00,"
    with pytest.raises(ImportFailed) as failed:
        import_file(ContractPaymentResource(), PAYMENT_HEADER + "\n".join(lines) + "\n", "csv")
    assert failed.value.errors == [
        RowError(position, "contract", "no service contract with reference 'nope'.")
    ]
    assert not ContractPayment.objects.exists()


def test_a_file_may_move_money_between_payments():
    contract = ServiceContractFactory(reference="uni-2024", total_value=D("1000.00"))
    first = ContractPaymentFactory(contract=contract, amount=D("500.00"))
    second = ContractPaymentFactory(contract=contract, amount=D("500.00"))
    # Read one by one, the first row alone would take the contract to 1,200.00.
    csv = (
        PAYMENT_HEADER + f"{second.pk},uni-2024,2024-01-01,700.00,\n{first.pk},uni-2024,2024-01-01,300.00,\n"
    )
    import_file(ContractPaymentResource(), csv, "csv")
    assert sorted(contract.payments.values_list("amount", flat=True)) == [D("300.00"), D("700.00")]


# --- formulas --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_a_reference_starting_with_a_minus_is_exported_quoted_and_re_imported_as_written(fmt):
    # A reference is a slug: of the formula triggers only "-" can start one.
    contract = ServiceContractFactory(reference="-2024-hub")
    ContractPaymentFactory(contract=contract)
    dataset = ServiceContractResource().export(force_native_type=FORMATS[fmt]().is_binary())
    assert dataset["reference"] == ["'-2024-hub"]
    payments = ContractPaymentResource().export(force_native_type=FORMATS[fmt]().is_binary())
    assert payments["contract"] == ["'-2024-hub"]
    result = import_file(ServiceContractResource(), FORMATS[fmt]().export_data(dataset), fmt)
    assert [row.import_type for row in result.rows] == ["skip"]
    result = import_file(ContractPaymentResource(), FORMATS[fmt]().export_data(payments), fmt)
    assert [row.import_type for row in result.rows] == ["skip"]
    assert list(ServiceContract.objects.values_list("reference", flat=True)) == ["-2024-hub"]


# --- the admin's two steps -------------------------------------------------------------------

CSV_FORMAT = str(list(FORMATS).index("csv"))


def upload(client, content: str):
    return client.post(
        reverse("admin:contracts_contractpayment_import"),
        {
            "format": CSV_FORMAT,
            "resource": "0",
            "import_file": SimpleUploadedFile("payments.csv", content.encode()),
        },
    )


def test_the_admin_preview_shows_the_row_errors_and_writes_nothing(operations_client):
    ServiceContractFactory(reference="uni-2024", total_value=D("1000.00"))
    response = upload(
        operations_client, PAYMENT_HEADER + ",uni-2024,2024-01-01,600.00,\n,uni-2024,2024-02-01,600.00,\n"
    )
    assert response.status_code == 200
    assert "confirm_form" not in response.context
    page = response.content.decode()
    assert "Some rows failed to validate" in page
    assert (
        "The payments of contract uni-2024 would sum to 1,200.00 USD, 200.00 USD over its total value" in page
    )
    assert not ContractPayment.objects.exists()


def test_a_clean_file_is_previewed_then_written_on_confirmation(operations_client):
    contract = ServiceContractFactory(reference="uni-2024", total_value=D("1000.00"))
    preview = upload(
        operations_client, PAYMENT_HEADER + ",uni-2024,2024-01-01,600.00,\n,uni-2024,2024-02-01,400.00,\n"
    )
    assert preview.status_code == 200
    assert not ContractPayment.objects.exists()
    response = operations_client.post(
        reverse("admin:contracts_contractpayment_process_import"), preview.context["confirm_form"].initial
    )
    assert response.status_code == 302
    assert sorted(contract.payments.values_list("amount", flat=True)) == [D("400.00"), D("600.00")]
    assert all(payment.history.count() == 1 for payment in contract.payments.all())


def test_leadership_may_export_but_not_import(leadership_client):
    ServiceContractFactory()
    assert leadership_client.get(reverse("admin:contracts_servicecontract_export")).status_code == 200
    assert upload(leadership_client, PAYMENT_HEADER).status_code == 403

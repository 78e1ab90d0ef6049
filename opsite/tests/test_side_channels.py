"""No side channel to records a role may not view, in the admin (issue 10, "Side channels").

Operations may not view pay, cash or the runway (docs/roles.md "What is sensitive"), nor the
funding models outside its matrix. These tests try the ways around a 403 that the issue found:

* filtering a changelist (or its export) through a relation to such a model, which counted and
  placed pay records (``?compensations__isnull=False``): every one-hop relation of every admin,
  for every role, generated from the admin registry and the role matrix;
* the status of a record's pages (change, history, a past version, delete), which told an
  existing id from a missing one: every model Operations may not view, both kinds of id;
* a refused delete naming the records that protect it ("referenced by compensations");
* a search or a sort through such a model.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse
from import_export.admin import ExportMixin

from opsite.core.roles import FINANCE, LEADERSHIP, OPERATIONS, SENSITIVE_MODELS, role_matrix
from opsite.core.visibility import (
    UNSEEN,
    UNSEEN_KIND,
    _without_unseen,
    may_view,
    models_on_path,
    still_referenced_message,
)

pytestmark = pytest.mark.django_db

REGISTRY = dict(sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label))
ROLES = (OPERATIONS, FINANCE, LEADERSHIP)
_APP_MODELS = [
    f"{m._meta.app_label}.{m._meta.model_name}"
    for label in ("staff", "communities", "contributions", "contracts", "funding")
    for m in apps.get_app_config(label).get_models()
    if not m._meta.model_name.startswith("historical")
]
MATRIX = role_matrix(_APP_MODELS)


def role_may_view(role: str, model) -> bool:
    """What :func:`may_view` answers for a member of ``role``, from the matrix (no database)."""
    opts = model._meta
    if opts.auto_created:
        return all(
            role_may_view(role, f.related_model)
            for f in opts.fields
            if f.is_relation and f.related_model is not None
        )
    return bool(
        {f"{opts.app_label}.view_{opts.model_name}", f"{opts.app_label}.change_{opts.model_name}"}
        & MATRIX[role]
    )


def hidden_relations(role: str, model, prefix: str = "", depth: int = 2) -> list[tuple[str, str]]:
    """``(lookup path, hidden model label)`` of each path from ``model``, at most ``depth`` relations
    long, whose last relation reaches a model ``role`` may not view (through models it may view)."""
    found = []
    for field in model._meta.get_fields():
        if not field.is_relation or field.related_model is None:
            continue
        path = f"{prefix}{field.name}"
        if not role_may_view(role, field.related_model):
            found.append((path, field.related_model._meta.label))
        elif depth > 1 and field.related_model is not model:
            found.extend(hidden_relations(role, field.related_model, f"{path}__", depth - 1))
    return found


# (role, admin label, [(path, hidden model)]) for every admin the role may open: one relation
# away (Django allows those), and two (Django refuses those unless they are a list filter).
LOOKUP_CASES = [
    (role, model._meta.label, relations)
    for role in ROLES
    for model in REGISTRY
    if role_may_view(role, model) and (relations := hidden_relations(role, model))
]
# Each path is tried five ways, on the changelist and on its export: 10 probes each.
LOOKUP_FORMS = ("{}__isnull=False", "{}__isnull=True", "{}=1", "{}__id__gt=0", "{}__pk__in=1,2")
# The control: a lookup Django itself refuses (two relations deep, not a list filter), on models
# every role may view. A refused side channel must answer exactly this.
DJANGO_REFUSED = "/admin/staff/staffmember/?pull_requests__repository__name=x"


def admin_url(label: str, view: str, *args) -> str:
    opts = apps.get_model(label)._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.fixture
def role_clients(django_user_model) -> dict[str, Client]:
    clients = {}
    for role in ROLES:
        user = django_user_model.objects.create_user(username=f"sc-{role}", password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients[role] = client
    return clients


def test_the_cases_cover_the_pay_relation_the_issue_found():
    operations = {label: dict(relations) for role, label, relations in LOOKUP_CASES if role == OPERATIONS}
    assert operations["staff.StaffMember"]["compensations"] == "staff.Compensation"
    # Grants are open to Operations; their subawards and disbursements are not.
    assert {"subawards", "disbursements"} <= set(operations["funding.Grant"])
    assert operations["funding.Funder"]["grants__subawards"] == "funding.Subaward"
    assert sum(len(relations) for _, _, relations in LOOKUP_CASES) >= 8


@pytest.mark.parametrize(
    ("role", "label", "relations"), LOOKUP_CASES, ids=[f"{r}-{label}" for r, label, _ in LOOKUP_CASES]
)
def test_a_filter_through_a_hidden_model_answers_like_any_disallowed_lookup(
    role_clients, role, label, relations
):
    client = role_clients[role]
    control = client.get(DJANGO_REFUSED)
    assert control.status_code == 400
    exportable = isinstance(REGISTRY[apps.get_model(label)], ExportMixin)
    for (relation, hidden), form in itertools.product(relations, LOOKUP_FORMS):
        query = form.format(relation)
        pages = [admin_url(label, "changelist")]
        if exportable:
            pages.append(admin_url(label, "export"))
        for page in pages:
            response = client.get(f"{page}?{query}")
            assert (response.status_code, response.content) == (control.status_code, control.content), (
                f"{role} {page}?{query} (through {hidden})"
            )


def test_a_role_that_may_view_pay_may_filter_by_it(role_clients):
    from staff.tests.factories import CompensationFactory

    CompensationFactory()
    for query in ("compensations__isnull=False", "compensations=1", "compensations__id__gt=0"):
        response = role_clients[FINANCE].get(f"/admin/staff/staffmember/?{query}")
        assert response.status_code == 200, query
    # The control of the test above: the same filter is refused to Operations only for the pay.
    assert role_clients[OPERATIONS].get("/admin/staff/staffmember/?team=engineering").status_code == 200


def test_a_nul_in_a_filter_value_is_refused_not_sent_to_the_database(role_clients):
    # PostgreSQL refuses a NUL in text with an error: it would be a 500 there.
    response = role_clients[OPERATIONS].get("/admin/staff/staffmember/?name=a%00b")
    assert response.status_code == 400
    # Django's search form refuses a NUL itself (ProhibitNullCharactersValidator).
    response = role_clients[OPERATIONS].get("/admin/staff/staffmember/?q=a%00b")
    assert response.status_code == 200
    assert response.context["cl"].query == ""


def test_the_walk_reaches_every_model_on_the_path():
    from staff.models import Compensation, StaffMember

    assert models_on_path(StaffMember, "compensations__id__gt") == [Compensation]
    assert models_on_path(Compensation, "staff__compensations__isnull") == [StaffMember, Compensation]
    assert models_on_path(StaffMember, "name__icontains") == []
    assert models_on_path(StaffMember, "pk") == []


# --- the pages of one record ----------------------------------------------------------------------


def _row(label: str):
    """One row of a model Operations may not view, built by the app's test factories."""
    from funding.models import RunwayAlert
    from funding.tests import factories as funding
    from staff.tests.factories import CompensationFactory

    builders = {
        "staff.Compensation": CompensationFactory,
        "funding.CashPosition": funding.CashPositionFactory,
        "funding.RunwaySnapshot": funding.RunwaySnapshotFactory,
        "funding.RunwayAlert": lambda: RunwayAlert.objects.create(
            scenario=(snapshot := funding.RunwaySnapshotFactory()).scenario, snapshot=snapshot, reason="moved"
        ),
        "funding.Subaward": funding.SubawardFactory,
        "funding.Disbursement": funding.DisbursementFactory,
        "funding.SubawardPayment": funding.SubawardPaymentFactory,
        "funding.Expense": funding.ExpenseFactory,
        "funding.ExchangeRate": funding.ExchangeRateFactory,
        "funding.Scenario": funding.ScenarioFactory,
        "funding.ScenarioAdjustment": funding.ScenarioAdjustmentFactory,
        "funding.GrantBudgetLine": funding.GrantBudgetLineFactory,
        "funding.StaffAllocation": funding.StaffAllocationFactory,
        "funding.FunderReport": funding.FunderReportFactory,
    }
    return builders[label]()


HIDDEN_FROM_OPERATIONS = sorted(
    model._meta.label
    for model in REGISTRY
    if model._meta.app_label in {"staff", "funding"}
    if not role_may_view(OPERATIONS, model)
)


def test_every_sensitive_model_is_hidden_from_operations():
    assert {apps.get_model(label)._meta.label for label in SENSITIVE_MODELS} <= set(HIDDEN_FROM_OPERATIONS)


def record_pages(label: str, pk, history_id) -> list[str]:
    """The pages of one record: change, history, delete, the bare URL, and a past version."""
    pages = [admin_url(label, view, pk) for view in ("change", "history", "delete")]
    pages.append(admin_url(label, "changelist") + f"{pk}/")
    opts = apps.get_model(label)._meta
    with contextlib.suppress(NoReverseMatch):  # an admin without an audit history has no versions
        pages.append(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_simple_history", args=[pk, history_id])
        )
    return pages


@pytest.mark.parametrize("label", HIDDEN_FROM_OPERATIONS)
def test_record_pages_answer_operations_the_same_whether_the_id_exists_or_not(role_clients, label):
    client = role_clients[OPERATIONS]
    row = _row(label)
    history = getattr(type(row), "history", None)
    history_id = history.filter(id=row.pk).values_list("history_id", flat=True).first() if history else 1
    deleted = _row(label)
    deleted_pk = deleted.pk
    deleted_history = (
        history.filter(id=deleted_pk).values_list("history_id", flat=True).first() if history else 1
    )
    deleted.delete()  # only its history remains: the history page used to find it there
    missing = 10**9

    answers = {}
    for name, pk, version in (
        ("existing", row.pk, history_id),
        ("deleted", deleted_pk, deleted_history),
        ("missing", missing, 10**9),
    ):
        for method in ("get", "post"):
            # Named by place, not parsed from the URL: a version id may equal the record's id.
            pages = record_pages(label, pk, version)
            for view, page in zip(("change", "history", "delete", "bare", "version"), pages, strict=False):
                response = getattr(client, method)(page)
                answers.setdefault((method, view), {})[name] = (response.status_code, response.content)
    assert len(answers) >= 8
    for (method, view), by_id in answers.items():
        assert by_id["existing"] == by_id["missing"] == by_id["deleted"], (label, method, view)
        if view != "bare":
            assert by_id["existing"][0] == 403, (label, method, view)


def test_a_role_that_may_view_pay_still_finds_its_pages(role_clients):
    from staff.models import Compensation

    pay = _row("staff.Compensation")
    client = role_clients[FINANCE]
    assert client.get(admin_url("staff.Compensation", "change", pay.pk)).status_code == 200
    assert client.get(admin_url("staff.Compensation", "history", pay.pk)).status_code == 200
    version = Compensation.history.filter(id=pay.pk).first().history_id
    assert client.get(record_pages("staff.Compensation", pay.pk, version)[-1]).status_code == 200
    # A missing id is Django's answer to who may see the model: a redirect to the index.
    assert client.get(admin_url("staff.Compensation", "change", 10**9)).status_code == 302


# --- a refused delete -----------------------------------------------------------------------------


@pytest.fixture
def paid_person():
    from staff.tests.factories import CompensationFactory, StaffMemberFactory

    person = StaffMemberFactory(slug="paid", name="Paid Person")
    CompensationFactory(staff=person, effective_on=dt.date(2022, 1, 3), annual_salary=Decimal("123456.00"))
    return person


def test_a_refused_delete_names_no_pay_record_to_operations(role_clients, paid_person):
    client = role_clients[OPERATIONS]
    response = client.get(admin_url("staff.StaffMember", "delete", paid_person.pk))
    assert response.status_code == 200
    assert response.context["perms_lacking"] == {UNSEEN_KIND}
    assert response.context["protected"] == [UNSEEN]
    assert dict(response.context["model_count"]) == {"staff members": 1}
    html = response.content.decode().lower()
    assert (
        "compensation" not in html and "2022-01-03" not in html and "123" not in html.split("paid person")[-1]
    )

    # The bulk action's confirmation page, built from the same answers.
    response = client.post(
        admin_url("staff.StaffMember", "changelist"),
        {"action": "delete_selected", "_selected_action": [paid_person.pk]},
    )
    assert response.status_code == 200
    assert response.context["perms_lacking"] == {UNSEEN_KIND}
    assert "compensation" not in response.content.decode().lower()
    assert paid_person.__class__.objects.filter(pk=paid_person.pk).exists()


def test_a_refused_delete_shows_the_pay_records_to_finance(role_clients, paid_person):
    response = role_clients[FINANCE].get(admin_url("staff.StaffMember", "delete", paid_person.pk))
    assert response.context["perms_lacking"] == set()
    assert [str(line) for line in response.context["protected"]] == [
        f'Compensation: <a href="{admin_url("staff.Compensation", "change", paid_person.compensations.get().pk)}">'
        "Paid Person from 2022-01-03</a>"
    ]


def test_the_unseen_lines_and_their_children_give_way_to_one_line():
    marker = object()
    nested = ["A", ["a1", marker, ["child of hidden"], "a2"], marker, ["x"], marker, "B"]
    assert _without_unseen(nested, marker) == ["A", ["a1", "a2", UNSEEN], "B", UNSEEN]
    assert _without_unseen(["A", ["a1"]], marker) == ["A", ["a1"]]


def test_the_api_message_of_a_protected_delete_names_no_hidden_model(
    operations_user, finance_user, paid_person
):
    from contracts.tests.factories import ServiceContractFactory

    pay = list(paid_person.compensations.all())
    contract = ServiceContractFactory()
    assert (
        still_referenced_message(operations_user, pay)
        == "This record is still referenced by records you may not see."
    )
    assert still_referenced_message(finance_user, pay) == "This record is still referenced by compensations."
    assert still_referenced_message(operations_user, [contract, *pay]) == (
        "This record is still referenced by service contracts, records you may not see."
    )
    assert still_referenced_message(operations_user, []) == "This record is still referenced."


# --- search and sort ------------------------------------------------------------------------------


def test_operations_cannot_find_a_grant_by_its_hidden_subaward(role_clients):
    from funding.tests.factories import SubawardFactory

    subaward = SubawardFactory(reference="SECRET-SUB-77", recipient="Hidden Partner")
    url = admin_url("funding.Grant", "changelist")
    for term in ("SECRET-SUB-77", "Hidden Partner"):
        assert list(role_clients[OPERATIONS].get(url, {"q": term}).context["cl"].result_list) == [], term
        assert list(role_clients[FINANCE].get(url, {"q": term}).context["cl"].result_list) == [subaward.grant]


def _ordering_paths(model_admin, names) -> list[str]:
    paths = []
    for name in names:
        attr = getattr(model_admin, name, None) or getattr(model_admin.model, name, None)
        ordering = getattr(attr, "admin_order_field", None)
        if isinstance(ordering, str):
            paths.append(ordering.lstrip("-"))
        elif isinstance(name, str) and not callable(attr):
            paths.append(name)
    return paths


@pytest.mark.parametrize("role", ROLES)
def test_no_column_filter_search_or_date_hierarchy_reaches_a_model_the_role_may_not_view(
    role, django_user_model
):
    user = django_user_model.objects.create_user(username=f"static-{role}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    request = RequestFactory().get("/")
    request.user = django_user_model.objects.get(pk=user.pk)  # a fresh permission cache
    found = []
    for model, model_admin in REGISTRY.items():
        if not model_admin.has_view_or_change_permission(request):
            continue
        paths = [
            *_ordering_paths(model_admin, model_admin.get_list_display(request)),
            *(name.lstrip("^=@") for name in model_admin.get_search_fields(request)),
            *(
                p if isinstance(p, str) else p[0]
                for p in model_admin.get_list_filter(request)
                if not isinstance(p, type)
            ),
            *([model_admin.date_hierarchy] if model_admin.date_hierarchy else []),
        ]
        for path in paths:
            hidden = [m._meta.label for m in models_on_path(model, path) if not may_view(request.user, m)]
            if hidden:
                found.append(f"{model._meta.label}: {path} reaches {hidden}")
    assert found == []

"""The what-if planner's endpoints: previews write nothing, saves keep the scenario and say so,
and an adjustment is refused by the same rule whichever door it comes in by."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import Permission
from django.test import Client

from funding.models import RunwaySnapshot, Scenario, ScenarioAdjustment
from opsite.dashboard.selectors import delayable_grants
from opsite.tests.dashboard_support import (  # noqa: F401 (demo: a fixture)
    SAVE,
    URL,
    WHAT_IF,
    cash_day,
    checksum,
    demo,
    hire,
    months_after_cash,
    post_json,
)


def _flow(answer: dict, name: str) -> list[str]:
    """The per-period figures of one trace of the money-in-and-out chart, by its name."""
    return next(trace["y"] for trace in answer["flows"] if trace["name"] == name)


def _second_period_day(day: int) -> str:
    """A day in the second runway period (the month after next of the cash position's month)."""
    return (cash_day().replace(day=1) + relativedelta(months=2, day=day)).isoformat()


def _growth_scenario() -> Scenario:
    """The demo's scenario with a saved hire (named after the year after the demo's last)."""
    return Scenario.objects.filter(adjustments__kind="hire").distinct().get()


def _chosen_option(content: str) -> str:
    select = content.split('id="what-if-scenario"')[1].split("</select>")[0]
    return re.search(r'<option value="([^"]+)" selected>', select).group(1)


@pytest.mark.usefixtures("demo", "db")
class TestWhatIfPreview:
    def test_a_hire_shortens_the_previewed_runway_and_writes_nothing(self, leadership_client):
        before = checksum()
        stored = RunwaySnapshot.objects.filter(scenario__slug="base").latest().result
        body = {"scenario": "base", "adjustments": [hire(start_on=months_after_cash(2))]}
        response = post_json(leadership_client, WHAT_IF, body)
        assert response.status_code == 200, response.content
        answer = response.json()
        assert Decimal(answer["card"]["months"]) < Decimal(stored["months"])
        assert answer["card"]["months_display"] == f"{Decimal(answer['card']['months']):.2f} months"
        assert answer["trace"]["meta"] == {"scenario": "base", "what_if": True}
        payroll = [Decimal(value) for value in _flow(answer, "Out: adjustments")]
        assert payroll[0] == 0 and payroll[1] < 0, "the hire's pay is an outflow from its second period"
        # Leaving out a saved adjustment, and a delay: previews too, still no write.
        grow = _growth_scenario()
        saved = grow.adjustments.get(kind="hire")
        grants = delayable_grants()
        assert grants, "the demo has an awarded grant with money still to come"
        response = post_json(
            leadership_client,
            WHAT_IF,
            {
                "scenario": grow.slug,
                "adjustments": [
                    {"remove": saved.pk},
                    {"kind": "delay", "grant": grants[0][0], "months": 6, "start_on": months_after_cash(1)},
                ],
            },
        )
        assert response.status_code == 200, response.content
        assert checksum() == before

    def test_bad_what_ifs_get_a_400_naming_each_field_and_what_if(self, leadership_client):
        before = checksum()
        response = post_json(
            leadership_client,
            WHAT_IF,
            {
                "scenario": "base",
                "adjustments": [hire(), {"kind": "hire", "amount": "12.345", "start_on": "soon"}],
            },
        )
        assert response.status_code == 400
        errors = response.json()["errors"]
        assert errors["amount"] == ["What-if 2: Ensure that there are no more than 2 decimal places."]
        assert errors["start_on"] == ["What-if 2: Enter a valid date."]

        response = post_json(
            leadership_client,
            WHAT_IF,
            {"scenario": "base", "adjustments": [{"kind": "delay", "start_on": "2025-01-01"}]},
        )
        assert response.status_code == 400
        assert response.json()["errors"]["grant"] == [
            "What-if 1: A delay needs the grant whose disbursements it moves."
        ]

        response = post_json(leadership_client, WHAT_IF, {"scenario": "nope", "adjustments": []})
        assert response.json() == {"errors": {"scenario": ["No scenario has the slug 'nope'."]}}
        response = leadership_client.post(WHAT_IF, "{not json", content_type="application/json")
        assert response.status_code == 400 and "not valid JSON" in response.json()["errors"]["body"][0]
        response = post_json(
            leadership_client, WHAT_IF, {"scenario": "base", "adjustments": [{"kind": "hire", "salary": 1}]}
        )
        assert response.json()["errors"]["adjustments"] == ["What-if 1: unknown field(s) salary."]
        assert checksum() == before

    @pytest.mark.parametrize("kind", ["inflow", "outflow"])
    @pytest.mark.parametrize(("amount", "got"), [(None, "nothing"), ("0", "0.00"), ("0.00", "0.00")])
    def test_an_inflow_or_outflow_without_its_amount_is_refused_on_the_amount(
        self, leadership_client, kind, amount, got
    ):
        before = checksum()
        what_if = {"kind": kind, "label": "Gift", "start_on": months_after_cash(1)}
        if amount is not None:
            what_if["amount"] = amount
        for url in (WHAT_IF, SAVE):
            response = post_json(
                leadership_client, url, {"scenario": "base", "adjustments": [hire(), what_if]}
            )
            assert response.status_code == 400, url
            # The funding services' own message: the admin, imports and the API give the same.
            assert response.json()["errors"] == {
                "amount": [
                    f"What-if 2: An {kind} needs its amount as a positive figure (each month when "
                    f"monthly); got {got}."
                ]
            }
        assert checksum() == before

    def test_a_float_amount_is_read_as_the_decimal_it_was_written_as(self, leadership_client):
        body = (
            '{"scenario": "base", "adjustments": [{"kind": "inflow", "amount": 1000.10, '
            f'"start_on": "{_second_period_day(15)}"}}]}}'
        )
        response = leadership_client.post(WHAT_IF, body, content_type="application/json")
        assert response.status_code == 200, response.content
        second = _flow(response.json(), "In: adjustments")[1]
        assert second == "1000.10"


@pytest.mark.usefixtures("demo", "db")
class TestWhatIfSave:
    def test_saving_a_what_if_creates_the_adjustment_and_recomputes_the_runway(self, leadership_client):
        stored = RunwaySnapshot.objects.filter(scenario__slug="base").latest()
        response = post_json(leadership_client, SAVE, {"scenario": "base", "adjustments": [hire()]})
        assert response.status_code == 200, response.content
        created = ScenarioAdjustment.objects.get(pk=response.json()["created"][0])
        assert (created.scenario.slug, created.kind, created.label) == ("base", "hire", "Data engineer")
        assert created.amount == Decimal("150000.00") and created.recurrence == "annual_salary"
        latest = RunwaySnapshot.objects.filter(scenario__slug="base").latest()
        assert latest.pk != stored.pk and latest.months < stored.months
        assert response.json()["card"]["months"] == str(latest.months)

        response = post_json(
            leadership_client, SAVE, {"scenario": "base", "adjustments": [{"remove": created.pk}]}
        )
        assert response.status_code == 200 and response.json()["removed"] == 1
        assert not ScenarioAdjustment.objects.filter(pk=created.pk).exists()

    def test_saving_comes_back_on_the_same_scenario_and_says_what_was_saved_where(self, leadership_client):
        grow = _growth_scenario()
        assert not grow.is_default, "a scenario other than the default, which the page opens on"
        response = post_json(leadership_client, SAVE, {"scenario": grow.slug, "adjustments": [hire()]})
        assert response.status_code == 200, response.content
        answer = response.json()
        expected = f"Saved the hire “Data engineer” to scenario {grow.name}."
        assert answer["message"] == expected
        assert answer["redirect"] == f"{URL}?scenario={grow.slug}#what-if"

        page = leadership_client.get(answer["redirect"].split("#")[0]).content.decode()
        assert _chosen_option(page) == grow.slug
        confirmation = page.split('id="what-if-confirmation"')[1].split("</div>")[0]
        assert expected in confirmation
        # Said once: the next page has no confirmation left.
        assert 'id="what-if-confirmation"' not in leadership_client.get(URL).content.decode()

    def test_removing_a_saved_adjustment_says_so(self, leadership_client):
        grow = _growth_scenario()
        saved = grow.adjustments.get(kind="hire")
        response = post_json(
            leadership_client, SAVE, {"scenario": grow.slug, "adjustments": [{"remove": saved.pk}]}
        )
        assert response.status_code == 200, response.content
        assert response.json()["message"] == f"Removed “{saved.label}” from scenario {grow.name}."

    def test_the_planner_opens_on_the_scenario_the_address_names_else_the_default(self, leadership_client):
        default = Scenario.objects.get(is_default=True)
        other = Scenario.objects.exclude(pk=default.pk).order_by("slug").first()
        assert _chosen_option(leadership_client.get(URL).content.decode()) == default.slug
        content = leadership_client.get(URL, {"scenario": other.slug}).content.decode()
        assert _chosen_option(content) == other.slug
        content = leadership_client.get(URL, {"scenario": "<script>"}).content.decode()
        assert _chosen_option(content) == default.slug

    def test_a_bad_what_if_saves_nothing_at_all(self, leadership_client):
        count = ScenarioAdjustment.objects.count()
        bad = {"kind": "delay", "start_on": "2025-01-01", "months": 2}
        response = post_json(leadership_client, SAVE, {"scenario": "base", "adjustments": [hire(), bad]})
        assert response.status_code == 400
        assert ScenarioAdjustment.objects.count() == count

    def test_who_may_only_view_the_runway_may_preview_but_not_save(self, django_user_model):
        viewer = django_user_model.objects.create_user(username="viewer", password="pw-viewer", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_runwaysnapshot"))
        client = Client()
        client.force_login(viewer)
        assert "Save to scenario" not in client.get(URL).content.decode()
        assert post_json(client, WHAT_IF, {"scenario": "base", "adjustments": [hire()]}).status_code == 200
        response = post_json(client, SAVE, {"scenario": "base", "adjustments": [hire()]})
        assert response.status_code == 403
        assert not ScenarioAdjustment.objects.filter(label="Data engineer").exists()

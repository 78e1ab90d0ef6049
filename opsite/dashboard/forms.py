"""The what-if inputs: one adjustment (a hire, an inflow, an outflow, a delay) and the request body.

The page renders :class:`WhatIfAdjustmentForm` for leadership to fill in; the script posts what was
added (and which saved adjustments to leave out) as JSON, and the endpoint reads each entry back
through the same form, so a typed-in amount or date is parsed and refused the same way whether it
came from the page or from another client. The rules of a scenario adjustment itself (a hire needs
a salary, a delay a grant) are the funding app's, applied by ``runway_preview``; the form runs the
funding services' own check (``scenario_adjustment_amount_problem``: an inflow or an outflow needs
a positive amount) as the admin and the API do, so the planner refuses the same what-ifs with the
same message on the same field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from funding.choices import AdjustmentKind, AdjustmentRecurrence
from funding.services import scenario_adjustment_amount_problem

WHAT_IF_LIMIT = 50  # what-ifs in one request: enough for any plan, bounded for the server
FIELDS = ("kind", "label", "amount", "benefits_rate", "recurrence", "start_on", "end_on", "grant", "months")


class WhatIfAdjustmentForm(forms.Form):
    """One what-if, with a scenario adjustment's fields (the grant by its reference)."""

    kind = forms.ChoiceField(choices=AdjustmentKind.choices, initial=AdjustmentKind.HIRE)
    label = forms.CharField(max_length=200, required=False, help_text="Optional: how it is listed.")
    amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal(0),
        required=False,
        help_text="A hire's annual salary; an inflow's or outflow's amount (each month when monthly).",
    )
    benefits_rate = forms.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(1),
        required=False,
        label="Benefits rate",
        help_text="For a hire: 0.25 adds a quarter of the salary.",
    )
    recurrence = forms.ChoiceField(
        choices=[("", "Usual for the kind"), *AdjustmentRecurrence.choices], required=False
    )
    start_on = forms.DateField(label="Starts on", widget=forms.DateInput(attrs={"type": "date"}))
    end_on = forms.DateField(label="Ends on", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    grant = forms.CharField(
        max_length=80, required=False, widget=forms.Select, help_text="For a delay: the grant it moves."
    )
    months = forms.IntegerField(
        min_value=1, max_value=120, required=False, help_text="For a delay: how many months later."
    )

    def __init__(self, *args: Any, grants: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grant"].widget.choices = [
            ("", "(none)"),
            *((ref, f"{ref}: {title}") for ref, title in grants),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "amount" not in self.errors:
            # The same rule as every other door: the funding services' check of an adjustment's
            # amount, asked of the amount as given (none at all included).
            problem = scenario_adjustment_amount_problem(
                kind=cleaned.get("kind"), amount=cleaned.get("amount")
            )
            if problem:
                self.add_error("amount", problem)
        return cleaned

    def what_if(self) -> dict[str, Any]:
        """The cleaned what-if, as ``runway_preview`` and ``scenario_adjustment_create`` take it."""
        data = {key: value for key, value in self.cleaned_data.items() if value not in (None, "")}
        if not data.get("label"):
            kind = AdjustmentKind(data["kind"]).label
            data["label"] = f"{kind} from {data['start_on'].isoformat()}"
        return data


def _prefixed(errors: dict[str, list[str]], field: str, number: int, messages: Sequence[str]) -> None:
    for message in messages:
        errors.setdefault(field, []).append(f"What-if {number}: {message}")


def parse_what_if_request(body: bytes) -> tuple[str, list[dict[str, Any]]]:
    """Read a what-if request: ``{"scenario": slug, "adjustments": [what-if or {"remove": id}, ...]}``.

    Returns the scenario slug and the what-ifs cleaned through :class:`WhatIfAdjustmentForm`
    (removals passed on as they are, for ``runway_preview`` to check against the scenario). Numbers
    are read as decimals, never floats. Raises ``ValidationError`` with ``{field: [message]}``.
    """
    try:
        payload = json.loads(body or b"{}", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValidationError({"body": f"The request body is not valid JSON: {error}."}) from error
    if not isinstance(payload, dict):
        raise ValidationError({"body": "Send a JSON object with 'scenario' and 'adjustments'."})
    scenario = payload.get("scenario")
    items = payload.get("adjustments", [])
    errors: dict[str, list[str]] = {}
    if not isinstance(scenario, str) or not scenario:
        errors["scenario"] = ["Name the scenario (its slug) the what-ifs apply to."]
    if not isinstance(items, list):
        errors["adjustments"] = ["'adjustments' must be a list."]
        items = []
    elif len(items) > WHAT_IF_LIMIT:
        errors["adjustments"] = [f"At most {WHAT_IF_LIMIT} what-ifs at once; got {len(items)}."]
        items = []
    what_ifs: list[dict[str, Any]] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict) and "remove" in item:
            what_ifs.append(item)
            continue
        if not isinstance(item, dict):
            _prefixed(errors, "adjustments", number, ["expected an object with an adjustment's fields."])
            continue
        unknown = sorted(set(item) - set(FIELDS))
        if unknown:
            _prefixed(errors, "adjustments", number, [f"unknown field(s) {', '.join(unknown)}."])
            continue
        form = WhatIfAdjustmentForm(data={key: "" if value is None else value for key, value in item.items()})
        if not form.is_valid():
            for field, messages in form.errors.items():
                _prefixed(errors, field, number, messages)
            continue
        what_ifs.append(form.what_if())
    if errors:
        raise ValidationError(errors)
    return scenario, what_ifs

"""The leadership dashboard's views: the page, the what-if endpoints and the CSV downloads.

Finance, Leadership and superusers only (the permission to view runway snapshots, which only they
hold): anyone else logged in gets 403, an anonymous visitor the login page (and back). Responses
carry the runway and the cash position, so none of them may be cached by a shared cache.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from funding.models import Scenario
from funding.runway.loader import NoCashPosition
from funding.runway.snapshots import runway_preview, runway_recompute
from opsite.core.money import reporting_currency

from .attention import attention_items
from .cells import TEXT, csv_cell, display_cell
from .charts import (
    CHART_SLUGS,
    COST_CHARTS,
    RUNWAY_CHARTS,
    Chart,
    build_charts,
    fan_traces,
    flow_traces,
    scenario_trace,
)
from .forms import WhatIfAdjustmentForm, parse_what_if_request
from .grants import pace_items, report_items
from .odds import odds_sentences
from .selectors import dashboard_data
from .services import saved_message, scenario_what_ifs_save
from .summary import cash_position_warning, comfort_months, format_day, runway_card

VIEW_PERMISSION = "funding.view_runwaysnapshot"
SAVE_PERMISSIONS = ("funding.add_scenarioadjustment", "funding.change_scenarioadjustment")
REMOVE_PERMISSION = "funding.delete_scenarioadjustment"
# The messages the what-if planner leaves for the page it sends the browser back to.
WHAT_IF_MESSAGE_TAG = "what-if"

private = cache_control(private=True, no_store=True)


def _json_error(status: int, errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


def _messages(error: ValidationError) -> dict[str, list[str]]:
    """``{field: [message]}`` of any ValidationError; one without fields goes under ``__all__``."""
    return error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}


def leadership_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let in Finance, Leadership and superusers; send anonymous visitors to log in.

    A JSON endpoint (POST) answers 403 with a message instead of redirecting: the page's script
    cannot follow a login form.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.method == "POST":
                return _json_error(403, {"__all__": ["Log in to use the what-if planner."]})
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not request.user.has_perm(VIEW_PERMISSION):
            if request.method == "POST":
                return _json_error(403, {"__all__": ["Only Finance and Leadership may plan the runway."]})
            raise PermissionDenied("Only Finance and Leadership may see the leadership dashboard.")
        return view(request, *args, **kwargs)

    return wrapper


def _card(scenario: Scenario, result: dict[str, Any] | None, today: date) -> dict[str, Any]:
    card = runway_card(
        slug=scenario.slug,
        name=scenario.name,
        reserve=scenario.reserve,
        result=result,
        today=today,
        pipeline=scenario.get_pipeline_display(),
    )
    if result is None:
        return card
    return {**card, **odds_sentences(result, reserve=scenario.reserve, currency=reporting_currency())}


def _chosen_scenario(request: HttpRequest, scenarios: list[Scenario], default: str) -> str:
    """The scenario the what-if planner opens on: ``?scenario=<slug>`` when it names one, else the
    default (after a save, the page comes back on the scenario that was saved to)."""
    slug = request.GET.get("scenario", "")
    return slug if any(scenario.slug == slug for scenario in scenarios) else default


@require_GET
@private
@leadership_only
def dashboard(request: HttpRequest) -> HttpResponse:
    data = dashboard_data()
    charts = build_charts(data)
    default = data.default_runway
    scenarios = [runway.scenario for runway in data.runways]
    chosen = _chosen_scenario(request, scenarios, default.scenario.slug if default else "")
    adjustments = [
        {
            "id": adjustment.pk,
            "scenario": adjustment.scenario_slug,
            "kind": adjustment.kind,
            "label": adjustment.label,
            "amount": adjustment.amount,
            "start_on": adjustment.start_on,
            "months": adjustment.months,
            "grant": adjustment.grant_reference,
        }
        for adjustment in data.adjustments
    ]
    user = request.user
    chart_contexts = [_chart_context(chart) for chart in charts.values()]
    context = {
        "data": data,
        "cards": [_card(runway.scenario, runway.result, data.today) for runway in data.runways],
        "runway_charts": chart_contexts[:RUNWAY_CHARTS],
        "impact_charts": chart_contexts[RUNWAY_CHARTS:-COST_CHARTS],
        "cost_charts": chart_contexts[-COST_CHARTS:],
        "figures": {slug: chart.figure for slug, chart in charts.items()},
        "cash_as_of_display": format_day(data.cash_as_of),
        "impact_as_of_display": format_day(data.impact_as_of),
        "cash_warning": cash_position_warning(data.cash_as_of, data.today),
        "comfort_months": comfort_months(),
        "currency": reporting_currency(),
        "what_if_form": WhatIfAdjustmentForm(grants=data.grants, auto_id="what-if-%s"),
        "scenarios": scenarios,
        "chosen_slug": chosen,
        "what_if_messages": [
            message for message in messages.get_messages(request) if WHAT_IF_MESSAGE_TAG in message.tags
        ],
        "what_if_state": {
            "adjustments": adjustments,
            "scenarios": [
                {"slug": scenario.slug, "name": scenario.name, "index": index}
                for index, scenario in enumerate(scenarios)
            ],
            "default": default.scenario.slug if default else "",
            "chosen": chosen,
            "currency": reporting_currency(),
        },
        "can_save": all(user.has_perm(permission) for permission in SAVE_PERMISSIONS),
        "can_remove": user.has_perm(REMOVE_PERMISSION),
        "kpis": data.kpis,
        "attention": attention_items(user, data.cash_as_of),
        "paces": pace_items(user, data.cash_as_of),
        "reports": report_items(user, data.today),
    }
    return render(request, "leadership/dashboard.html", context)


def _chart_context(chart: Chart) -> dict[str, Any]:
    formats = chart.formats or [TEXT] * len(chart.headers)
    return {
        "slug": chart.slug,
        "title": chart.title,
        "caption": chart.caption,
        "headers": chart.headers,
        "rows": [
            [display_cell(cell, kind) for cell, kind in zip(row, formats, strict=True)] for row in chart.rows
        ],
        "notes": chart.notes,
        "empty": chart.empty,
    }


@require_GET
@private
@leadership_only
def chart_csv(request: HttpRequest, chart: str) -> HttpResponse:
    if chart not in CHART_SLUGS:
        raise Http404(f"No chart {chart!r}.")
    data = dashboard_data()
    selected = build_charts(data)[chart]
    today = data.today.isoformat()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="opsite-{chart}-{today}.csv"'
    writer = csv.writer(response)
    writer.writerow([csv_cell(header) for header in selected.headers])
    for row in selected.rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return response


def _what_if_scenario(request: HttpRequest) -> tuple[Scenario, list[dict[str, Any]]]:
    slug, what_ifs = parse_what_if_request(request.body)
    scenario = Scenario.objects.filter(slug=slug).first()
    if scenario is None:
        raise ValidationError({"scenario": f"No scenario has the slug {slug!r}."})
    return scenario, what_ifs


def _scenario_index(scenario: Scenario) -> int:
    # The chart colours scenarios in page order: the default first, then by name.
    order = Scenario.objects.order_by("-is_default", "name", "pk").values_list("pk", flat=True)
    return list(order).index(scenario.pk)


@require_POST
@private
@leadership_only
def what_if(request: HttpRequest) -> JsonResponse:
    """Preview what-ifs on a scenario: its runway figures and chart traces, nothing written."""
    try:
        scenario, what_ifs = _what_if_scenario(request)
        result = runway_preview(scenario=scenario, adjustments=what_ifs).as_dict()
        today = timezone.localdate()
    except ValidationError as error:
        return _json_error(400, error.message_dict)
    except NoCashPosition:
        return _json_error(
            400, {"__all__": ["No cash position is recorded yet: there is no runway to preview."]}
        )
    result = {"scenario": scenario.slug, **result}
    return JsonResponse(
        {
            "scenario": scenario.slug,
            "what_ifs": len(what_ifs),
            "card": _card(scenario, result, today),
            "trace": scenario_trace(
                scenario.slug, scenario.name, result, _scenario_index(scenario), what_if=True
            ),
            "flows": flow_traces(result),
            "fan": fan_traces(result, scenario.reserve),
        }
    )


@require_POST
@private
@leadership_only
def what_if_save(request: HttpRequest) -> JsonResponse:
    """Keep the what-ifs as the scenario's adjustments, then recompute its runway.

    The answer says what was saved where (``message``, also left for the next page) and where to
    send the browser: the dashboard with the planner on the same scenario (``redirect``).
    """
    user = request.user
    if not all(user.has_perm(permission) for permission in SAVE_PERMISSIONS):
        return _json_error(403, {"__all__": ["You may preview what-ifs but not save them to a scenario."]})
    try:
        scenario, what_ifs = _what_if_scenario(request)
        if any("remove" in item for item in what_ifs) and not user.has_perm(REMOVE_PERMISSION):
            return _json_error(403, {"__all__": ["You may not remove a scenario's saved adjustments."]})
        saved = scenario_what_ifs_save(scenario=scenario, what_ifs=what_ifs)
    except ValidationError as error:
        return _json_error(400, _messages(error))
    # Recomputed here, after the commit, so the answer shows the saved figures; the recompute the
    # saved rows asked for finds this snapshot unchanged and stores nothing more.
    try:
        snapshot = runway_recompute(scenario=scenario)
        result = snapshot.result
    except NoCashPosition:
        result = None
    message = saved_message(scenario=scenario, saved=saved)
    messages.success(request, message, extra_tags=WHAT_IF_MESSAGE_TAG)
    return JsonResponse(
        {
            "scenario": scenario.slug,
            "created": [adjustment.pk for adjustment in saved.created],
            "removed": len(saved.removed),
            "card": _card(scenario, result, timezone.localdate()),
            "message": message,
            "redirect": _planner_url(scenario),
        }
    )


def _planner_url(scenario: Scenario) -> str:
    return f"{reverse('leadership:dashboard')}?{urlencode({'scenario': scenario.slug})}#what-if"

"""The runway alert to Leadership: whether a runway deserves one, and sending it once.

The runway's figures are sensitive (docs/roles.md "What is sensitive"): the alert goes to
Leadership only, and nothing here logs a figure: log lines name scenarios, snapshots and counts.
The daily task (``funding.tasks.runway_alert``) only calls :func:`runway_alert_send`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from opsite.core.roles import LEADERSHIP
from opsite.core.services import assign, model_delete

from ..models import RunwayAlert, RunwaySnapshot, Scenario

logger = logging.getLogger(__name__)

# "Moved by more than a month since the last alert".
ALERT_MOVE_MONTHS = Decimal("1")


# --- the alert rows -----------------------------------------------------------------------------

RUNWAY_ALERT_FIELDS = ("scenario", "snapshot", "months", "reason", "recipients", "sent_at")


@transaction.atomic
def runway_alert_create(
    *,
    scenario: Scenario,
    snapshot: RunwaySnapshot | None,
    months: Decimal | None,
    reason: str,
    recipients: int = 0,
    sent_at: datetime | None = None,
) -> RunwayAlert:
    """Record an alert; for a snapshot already alerted on, the insert fails (``IntegrityError``).

    The unique snapshot is the claim that keeps two senders from both mailing: it is left to the
    database, as a check before the insert would race (so ``full_clean`` skips uniqueness).
    """
    alert = RunwayAlert(
        scenario=scenario,
        snapshot=snapshot,
        months=months,
        reason=reason,
        recipients=recipients,
        sent_at=sent_at,
    )
    alert.full_clean(validate_unique=False)
    alert.save(force_insert=True)
    return alert


@transaction.atomic
def runway_alert_update(*, runway_alert: RunwayAlert, data: Mapping[str, Any]) -> RunwayAlert:
    assign(runway_alert, data, RUNWAY_ALERT_FIELDS)
    runway_alert.full_clean(validate_unique=False)
    runway_alert.save()
    return runway_alert


def runway_alert_delete(*, runway_alert: RunwayAlert) -> None:
    """Withdraw an alert: a later run may then alert on its snapshot again."""
    model_delete(runway_alert)


# --- deciding and sending -----------------------------------------------------------------------


@dataclass(frozen=True)
class AlertDecision:
    reason: str | None
    previous_months: Decimal | None


def leadership_alert_recipients() -> list[str]:
    """Active members of the Leadership group with an e-mail, plus ``OPSITE_LEADERSHIP_ALERT_EMAILS``.

    Not superusers, Finance or anyone else: the alert carries the runway's figures.
    """
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=LEADERSHIP)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    seen: dict[str, str] = {}
    for email in [*users, *settings.OPSITE_LEADERSHIP_ALERT_EMAILS]:
        email = email.strip()
        if email:
            seen.setdefault(email.lower(), email)
    return sorted(seen.values(), key=str.lower)


def _moved(months: Decimal | None, previous: Decimal | None) -> bool:
    # `None` is "beyond the horizon": leaving or reaching it is a move of more than a month.
    if months is None or previous is None:
        return (months is None) != (previous is None)
    return abs(months - previous) > ALERT_MOVE_MONTHS


def runway_alert_decide(*, months: Decimal | None, last_alert: RunwayAlert | None) -> AlertDecision:
    """Whether a runway of ``months`` deserves an alert, given the last alert sent (if any).

    - It *fell below* the comfort floor (``OPSITE_RUNWAY_COMFORT_MONTHS``): below it now, and the
      last alert (if any) was not. Staying below it is not news, unless it moves (next rule).
    - It *moved* by more than a month since the last alert, in either direction. With no alert yet
      there is nothing to have moved from.
    """
    floor = Decimal(settings.OPSITE_RUNWAY_COMFORT_MONTHS)

    def below(value: Decimal | None) -> bool:
        return value is not None and value < floor

    previous = last_alert.months if last_alert else None
    if below(months) and (last_alert is None or not below(previous)):
        return AlertDecision(RunwayAlert.Reason.BELOW_FLOOR, previous)
    if last_alert is not None and _moved(months, previous):
        return AlertDecision(RunwayAlert.Reason.MOVED, previous)
    return AlertDecision(None, previous)


def _format_months(months: Decimal | None) -> str:
    return "beyond the horizon" if months is None else f"{months} months"


def _alert_message(
    *, snapshot: RunwaySnapshot, decision: AlertDecision, recipients: list[str]
) -> EmailMessage:
    scenario = snapshot.scenario
    floor = settings.OPSITE_RUNWAY_COMFORT_MONTHS
    runway = _format_months(snapshot.months)
    if decision.reason == RunwayAlert.Reason.BELOW_FLOOR:
        headline = f"The runway fell below the comfort floor of {floor} months: {runway}."
    else:
        headline = f"The runway moved from {_format_months(decision.previous_months)} to {runway}."
    lines = [
        headline,
        "",
        f"Scenario: {scenario.name} ({scenario.slug})",
        f"Cash position as of: {snapshot.as_of:%Y-%m-%d}",
        f"Runway: {runway}",
    ]
    if snapshot.cash_out_on:
        lines.append(f"Cash out on: {snapshot.cash_out_on:%Y-%m-%d}")
    lines += [
        f"Computed at: {snapshot.computed_at:%Y-%m-%d %H:%M} UTC",
        "",
        "The leadership dashboard (/leadership/) shows the projection and its health indicators.",
        "You receive this as a member of Leadership; it is confidential.",
    ]
    return EmailMessage(
        subject=f"[opsite] Runway alert: {scenario.name}, {runway}",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        # Bcc: recipients configured by address need not learn each other's.
        bcc=recipients,
    )


def runway_alert_send() -> RunwayAlert | None:
    """Send the runway alert for the default scenario's latest snapshot, if it deserves one.

    Never twice for the same snapshot, even when two runs race: the alert row (unique per snapshot)
    is inserted and committed *before* the e-mail goes out, and only the run whose insert succeeds
    sends. If sending fails the claim is withdrawn, so a later run may try again; if the process dies
    between the two, that snapshot's alert is lost rather than doubled. Not atomic as a whole, on
    purpose: the claim must be committed before the e-mail leaves.
    """
    scenario = Scenario.objects.filter(is_default=True).first()
    if scenario is None:
        logger.info("No default scenario; no runway alert.")
        return None
    snapshot = (
        RunwaySnapshot.objects.filter(scenario=scenario)
        .select_related("scenario")
        .order_by("-computed_at", "-id")
        .first()
    )
    if snapshot is None:
        logger.info("Scenario %s has no runway snapshot yet; no runway alert.", scenario.slug)
        return None
    if RunwayAlert.objects.filter(snapshot=snapshot).exists():
        return None
    last_alert = (
        RunwayAlert.objects.filter(scenario=scenario, sent_at__isnull=False)
        .order_by("-created_at", "-id")
        .first()
    )
    decision = runway_alert_decide(months=snapshot.months, last_alert=last_alert)
    if decision.reason is None:
        return None
    recipients = leadership_alert_recipients()
    if not recipients:
        logger.warning(
            "The runway of %s deserves an alert, but Leadership has no e-mail address.", scenario.slug
        )
        return None

    try:
        alert = runway_alert_create(
            scenario=scenario,
            snapshot=snapshot,
            months=snapshot.months,
            reason=decision.reason,
            recipients=len(recipients),
        )
    except IntegrityError:
        logger.info("The runway alert for snapshot %s was claimed by another run.", snapshot.pk)
        return None

    try:
        _alert_message(snapshot=snapshot, decision=decision, recipients=recipients).send()
    except Exception:
        runway_alert_delete(runway_alert=alert)
        raise
    runway_alert_update(runway_alert=alert, data={"sent_at": timezone.now()})
    logger.info(
        "Runway alert (%s) for snapshot %s sent to %d recipients.",
        decision.reason,
        snapshot.pk,
        len(recipients),
    )
    return alert

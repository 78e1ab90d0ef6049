"""The dashboard's cloud cost charts, from the stored cost rollups: what each draws and tabulates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from opsite.dashboard.charts.costs import component_costs_chart, cost_per_user_chart, negative_margin_chart
from opsite.kpis.costs import CommunityMargin, ComponentMonth, CostRollups, HubMonthCost

D = Decimal


def hub(slug: str, kind: str, cost: str, users: int) -> HubMonthCost:
    per_user = (D(cost) / users).quantize(D("0.01")) if users else None
    return HubMonthCost(
        hub=slug, name=slug.title(), kind=kind, community=f"{slug}-community", own=D(cost), shared=D("0"),
        cost=D(cost), active_users=users, cost_per_active_user=per_user,
    )  # fmt: skip


COSTS = CostRollups(
    currency="USD",
    computed_at=None,
    components=[
        ComponentMonth(
            period="2026-10", start=date(2026, 10, 1), end=date(2026, 10, 31), complete=True, total=D("150.00"),
            by_component={"compute": D("120.00"), "home_storage": D("30.00")},
        ),
        ComponentMonth(
            period="2026-11", start=date(2026, 11, 1), end=date(2026, 11, 30), complete=False, total=D("60.00"),
            by_component={"compute": D("60.00")},
        ),
    ],
    month="2026-10",
    costliest_hubs=[hub("alpha", "daskhub", "400.00", 10), hub("beta", "basehub", "300.00", 20)],
    hubs_without_users=[hub("ghost", "basehub", "55.00", 0)],
    margin_months=["2025-11", "2026-10"],
    negative_margins=[
        CommunityMargin("loss", "Loss Lab", D("100.00"), D("250.00"), D("-150.00")),
        CommunityMargin("free", "Free Hub", D("0.00"), D("80.00"), D("-80.00")),
        CommunityMargin("gift", "Gift Hub", D("0.00"), D("20.00"), D("-20.00")),
    ],
)  # fmt: skip


def test_costs_by_component_stack_every_component_month_by_month():
    chart = component_costs_chart(COSTS)
    assert [trace["name"] for trace in chart.figure["data"]][:2] == ["Compute", "Home storage"]
    compute = chart.figure["data"][0]
    assert compute["x"] == ["2026-10", "2026-11"] and compute["y"] == ["120.00", "60.00"]
    assert chart.rows[0][0] == "2026-10" and chart.rows[0][-1] == D("150.00")
    assert chart.rows[1][2] == D("0")  # no home storage in November: a zero, not a gap
    assert "2026-11 is the current month: its costs so far." in chart.notes


def test_the_costliest_hubs_per_active_user_are_coloured_by_kind():
    chart = cost_per_user_chart(COSTS)
    by_kind = {trace["name"]: trace for trace in chart.figure["data"]}
    assert set(by_kind) == {"daskhub", "basehub"}
    assert by_kind["daskhub"]["x"] == ["40.00"] and by_kind["basehub"]["x"] == ["15.00"]
    assert [row[0] for row in chart.rows] == ["Alpha", "Beta"]  # highest first in the table
    assert any("Ghost (55 USD)" in note for note in chart.notes)


def test_communities_at_a_loss_show_their_revenue_cost_and_margin():
    chart = negative_margin_chart(COSTS)
    assert chart.rows == [["Loss Lab", D("100.00"), D("250.00"), D("-150.00")]]
    assert chart.figure["data"][0]["x"] == ["-150.00"]
    assert chart.notes[0].startswith("Months: 2025-11 to 2026-10.")
    # Communities hosted without a contract are summed in a note, not charted as losses.
    assert chart.notes[1] == (
        "Not charted: 2 communities with no contract in these months, whose hubs cost 100 USD in all."
    )


def test_before_any_cost_the_charts_are_empty():
    empty = CostRollups("USD", None, [], None, [], [], [], [])
    for build in (component_costs_chart, cost_per_user_chart, negative_margin_chart):
        chart = build(empty)
        assert chart.empty, build.__name__


def test_a_long_name_is_cut_on_the_axis_and_whole_in_the_table():
    long_name = "Atmospheric Chemistry Science Alliance Research Hub"
    costs = replace(COSTS, costliest_hubs=[replace(hub("long", "basehub", "90.00", 3), name=long_name)])

    chart = cost_per_user_chart(costs)

    axis = chart.figure["layout"]["yaxis"]
    assert (axis["tickvals"], axis["ticktext"]) == ([long_name], ["Atmospheric Chemistry S…"])
    assert chart.figure["data"][0]["y"] == [long_name]  # the hover names it whole
    assert chart.rows[0][0] == long_name

"""The public API's answers in the order docs/api.md shows their keys in."""

from __future__ import annotations

from typing import Any

# The order docs/api.md shows keys in. The store's JSON may come back in another order (PostgreSQL's
# jsonb sorts keys), so responses are put back in it; keys not listed (group names) follow, sorted.
_KEY_ORDER = {
    key: index
    for index, key in enumerate(
        (
            "as_of", "metric", "interval", "points",
            "communities", "hubs", "users", "contributions", "staff",
            "period", "start", "end", "value", "groups",
            "active", "historically_marginalized", "countries",
            "monthly_active", "weekly_active", "daily_active",
            "merged_pull_requests", "repositories", "since", "headcount", "fte",
            "net", "net_groups", "total_value", "total_value_groups",
        )
    )
}  # fmt: skip
_GROUP_KEYS = {"groups", "net_groups", "total_value_groups"}


def in_order(value: Any, *, groups: bool = False) -> Any:
    """``value`` with its keys in the documented order; group names (data) sorted by name."""
    if isinstance(value, dict):
        if groups:
            # A group name may coincide with a key of the layout ("staff", "active"): group
            # names are data, sorted by name.
            return {key: value[key] for key in sorted(value)}
        return {
            key: in_order(value[key], groups=key in _GROUP_KEYS)
            for key in sorted(value, key=lambda key: (_KEY_ORDER.get(key, len(_KEY_ORDER)), key))
        }
    if isinstance(value, list):
        return [in_order(item) for item in value]
    return value

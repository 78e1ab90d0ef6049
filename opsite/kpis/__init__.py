"""The KPI consumer: the rollup store, its recompute tasks and the public KPI API."""

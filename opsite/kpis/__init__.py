"""The KPI consumer: the rollup store, its recompute tasks, the public KPI API and the public
website kit (the /kpis/ page, the widgets, impact stories, the public data files)."""

"""Generated reports for a grant's period or any date range: figures, charts, web page, MyST, PDF.

A consumer (docs/architecture.md): it reads every app through the apps' own rollups, the
definitions the dashboard and the public KPIs use, and no app imports it. See docs/reports.md.
"""

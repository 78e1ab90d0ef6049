"""The leadership dashboard (``/leadership/``): runway by scenario, impact trends, what-if planning.

It reads what is stored (runway snapshots, impact rollups) and never recomputes them while a page
is served, so the page costs the same handful of queries whatever the years of history. Only
Finance, Leadership and superusers may see it: the runway and the cash position are sensitive.
"""

"""The kernel: helpers every app uses (money, periods, countries, roles, the recompute
scheduler, the shared admin, import/export and API bases). It imports no app and no consumer;
see docs/architecture.md."""

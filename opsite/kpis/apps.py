from django.apps import AppConfig


class KpisConfig(AppConfig):
    """The public website kit's own tables (impact stories), under the app label ``kpis``.

    The rollup store in the same package keeps the label ``opsite`` (``opsite/models.py``): its
    table predates this app.
    """

    name = "opsite.kpis"
    label = "kpis"
    verbose_name = "Public website"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Declares the impact stories' ModelWrites, which every door looks up (opsite.core.services).
        from opsite.core.cost_columns import set_cost_source

        from . import services  # noqa: F401
        from .costs import cost_columns

        # The community and hub lists show the stored cost figures (opsite.core.cost_columns).
        set_cost_source(cost_columns)

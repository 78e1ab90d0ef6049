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
        from . import services  # noqa: F401

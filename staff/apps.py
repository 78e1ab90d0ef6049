from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "staff"

    def ready(self) -> None:
        # Declares each model's ModelWrites, which every door looks up (opsite.core.services).
        from . import services  # noqa: F401

from django.apps import AppConfig


class CommunitiesConfig(AppConfig):
    name = "communities"

    def ready(self) -> None:
        # Declares each model's ModelWrites, which every door looks up (opsite.core.services).
        from . import cost_services, services  # noqa: F401

from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"

    def ready(self) -> None:
        # Declares each model's ModelWrites, which every door looks up (opsite.core.services).
        from . import fee_schedules, services  # noqa: F401

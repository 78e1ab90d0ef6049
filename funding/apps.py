from django.apps import AppConfig


class FundingConfig(AppConfig):
    name = "funding"

    def ready(self) -> None:
        # Declares each model's ModelWrites, which every door looks up (opsite.core.services).
        from opsite.core.collection import set_as_of_source

        from . import services  # noqa: F401
        from .collection import cash_position_as_of

        # The collection flags are taken as of the latest cash position's date, which funding owns:
        # contracts shows its flags with that date without importing funding.
        set_as_of_source(cash_position_as_of)

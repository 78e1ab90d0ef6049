from django.apps import AppConfig


class OpsiteConfig(AppConfig):
    name = "opsite"
    verbose_name = "opsite"

    def ready(self) -> None:
        # Every app's models are loaded by now (ready() runs after all of them are imported).
        from .core import signals

        signals.connect()

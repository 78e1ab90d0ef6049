from django.apps import AppConfig


class OpsiteConfig(AppConfig):
    name = "opsite"
    verbose_name = "opsite"

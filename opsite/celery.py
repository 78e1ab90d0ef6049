"""The Celery application, configured from Django settings (``CELERY_*``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsite.settings.local")

app = Celery("opsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

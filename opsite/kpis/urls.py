"""The public figures page, mounted at ``/kpis/``."""

from django.urls import path

from . import views

app_name = "kpis"

urlpatterns = [path("", views.kpis_page, name="page")]

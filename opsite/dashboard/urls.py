from django.urls import path

from . import views

app_name = "leadership"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("what-if/", views.what_if, name="what_if"),
    path("what-if/save/", views.what_if_save, name="what_if_save"),
    path("data/<slug:chart>.csv", views.chart_csv, name="chart_csv"),
]

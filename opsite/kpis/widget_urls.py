"""The widgets other sites embed, mounted at ``/widgets/``."""

from django.urls import path

from . import views

app_name = "widgets"

urlpatterns = [
    path("kpis.js", views.widget_script, name="script"),
    path("kpi/<str:metric>/", views.widget_card, name="card"),
]

from django.contrib import admin
from django.urls import path

admin.site.site_header = "opsite"
admin.site.site_title = "opsite"
admin.site.index_title = "Records"

urlpatterns = [
    path("admin/", admin.site.urls),
]

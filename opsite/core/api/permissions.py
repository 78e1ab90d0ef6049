"""Role permissions for the API: Django model permissions, reads included.

DRF's ``DjangoModelPermissions`` lets any authenticated user read; opsite's roles hide whole
models (compensation, cash positions, runway snapshots) from some groups, so a read needs the
``view`` permission too, and so does ``OPTIONS`` (its metadata describes the fields).
"""

from rest_framework.permissions import DjangoModelPermissions

VIEW = "%(app_label)s.view_%(model_name)s"


class RolePermission(DjangoModelPermissions):
    perms_map = {
        "GET": [VIEW],
        "OPTIONS": [VIEW],
        "HEAD": [VIEW],
        "POST": [VIEW, "%(app_label)s.add_%(model_name)s"],
        "PUT": [VIEW, "%(app_label)s.change_%(model_name)s"],
        "PATCH": [VIEW, "%(app_label)s.change_%(model_name)s"],
        "DELETE": [VIEW, "%(app_label)s.delete_%(model_name)s"],
    }


class CanUpsert(RolePermission):
    """A batch both creates and changes rows: it needs both permissions on the model."""

    perms_map = {
        **RolePermission.perms_map,
        "POST": [VIEW, "%(app_label)s.add_%(model_name)s", "%(app_label)s.change_%(model_name)s"],
    }

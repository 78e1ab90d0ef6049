from django.db import migrations


def sync_roles(apps, schema_editor):
    from opsite.core.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    """Give the roles the models of restricted money: budget lines, staff allocations, funder reports."""

    dependencies = [
        ("opsite", "0007_input_deletion"),
        ("funding", "0006_restricted_money"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]

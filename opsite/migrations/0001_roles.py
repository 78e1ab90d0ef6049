from django.db import migrations


def create_role_groups(apps, schema_editor):
    from opsite.core.roles import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("staff", "0001_initial"),
        ("communities", "0001_initial"),
        ("contributions", "0001_initial"),
        ("contracts", "0001_initial"),
        ("funding", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]

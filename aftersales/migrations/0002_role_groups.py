"""Create the role groups (agent, qc, supervisor, finance, channel) with their permissions."""

from django.db import migrations


def forwards(apps, schema_editor):
    from aftersales.permissions import sync_role_groups

    sync_role_groups(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("aftersales", "0001_initial"),
        ("customers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""Supervisors manage the channel systems' API keys."""

from django.db import migrations


def resync_role_groups(apps, schema_editor):
    from aftersales.permissions import sync_role_groups

    sync_role_groups(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0012_api")]

    operations = [migrations.RunPython(resync_role_groups, migrations.RunPython.noop)]

"""Everyone who reads cases reads the reply templates; supervisors edit them and read their uses and health reports."""

from django.db import migrations


def resync_role_groups(apps, schema_editor):
    from aftersales.permissions import sync_role_groups

    sync_role_groups(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0010_main_category")]

    operations = [migrations.RunPython(resync_role_groups, migrations.RunPython.noop)]

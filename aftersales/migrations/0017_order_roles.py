"""Channel systems push their shop's orders and customers (the order upsert API)."""

from django.db import migrations


def resync_role_groups(apps, schema_editor):
    from aftersales.permissions import sync_role_groups

    sync_role_groups(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0016_awaiting_approval"), ("customers", "0003_channel_orders")]

    operations = [migrations.RunPython(resync_role_groups, migrations.RunPython.noop)]

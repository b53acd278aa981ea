"""Supervisors configure SLA targets, rules, the lexicon, thresholds and webhooks, and watch the outbox."""

from django.db import migrations


def resync_role_groups(apps, schema_editor):
    from aftersales.permissions import sync_role_groups

    sync_role_groups(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0005_automation_defaults"), ("customers", "0002_automation")]

    operations = [migrations.RunPython(resync_role_groups, migrations.RunPython.noop)]

from django.db import migrations


def resync_role_groups(apps, schema_editor):
    from aftersales.permissions import sync_role_groups

    sync_role_groups(apps, schema_editor)


class Migration(migrations.Migration):
    """Supervisors read the audit log, unlock locked sign-ins, remove lost two-factor devices and handle a
    customer's personal-data requests."""

    dependencies = [
        ("aftersales", "0028_case_open_category_index"),
        ("audit", "0001_initial"),
        ("axes", "0010_accessattemptexpiration"),
        ("otp_totp", "0003_add_timestamps"),
        ("customers", "0006_customer_erased"),
    ]

    operations = [migrations.RunPython(resync_role_groups, migrations.RunPython.noop)]

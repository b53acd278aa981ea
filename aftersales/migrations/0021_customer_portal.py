"""The progress page's account: what the customer does on their progress link is done as this channel account."""

from django.db import migrations


def create_portal_user(apps, schema_editor):
    User = apps.get_model("auth", "User")
    Group = apps.get_model("auth", "Group")
    user, created = User.objects.get_or_create(
        username="customer_portal", defaults={"first_name": "顾客（进度页）", "is_active": True, "password": "!"}
    )
    group = Group.objects.filter(name="channel").first()
    if group is not None:
        user.groups.add(group)


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0020_evidence_files"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_portal_user, migrations.RunPython.noop)]

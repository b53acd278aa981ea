from django.db import migrations


def ensure_escalation_queue(apps, schema_editor):
    """Escalated cases go to the escalation queue: make sure one exists, with the supervisors as its members."""
    Queue = apps.get_model("aftersales", "Queue")
    Group = apps.get_model("auth", "Group")
    if Queue.objects.filter(purpose="escalation", active=True).exists():
        return
    code = "escalation" if not Queue.objects.filter(code="escalation").exists() else "escalation-queue"
    queue = Queue.objects.create(
        code=code,
        name="升级处理",
        purpose="escalation",
        description="顾客申诉与升级的工单在此等待主管裁定。",
    )
    group = Group.objects.filter(name="supervisor").first()
    if group is not None:
        queue.members.set(group.user_set.filter(is_active=True))


class Migration(migrations.Migration):
    """Escalations reach the people who decide, out of the box: the escalation queue exists."""

    dependencies = [("aftersales", "0030_service_calendars")]

    operations = [migrations.RunPython(ensure_escalation_queue, migrations.RunPython.noop)]

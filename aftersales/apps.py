from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from aftersales import checks  # noqa: F401 - registers the startup checks
        from aftersales.permissions import ROLE_LABELS, display_name
        from audit import display

        display.VALUES.update(ROLE_LABELS)  # the audit log names roles as people know them

        # People are named by their full name wherever a user is shown (admin lists, choices, history), the
        # username only for someone without one.
        get_user_model().__str__ = display_name

        from django.db.models.signals import post_save

        from customers.models import Customer

        post_save.connect(_customer_tier_to_cases, sender=Customer, dispatch_uid="aftersales_customer_tier")


def _customer_tier_to_cases(sender, instance, created: bool, **kwargs) -> None:
    """A customer's tier is copied on their cases (the queue's VIP filter reads it there): keep it in step when the
    tier changes (in the admin)."""
    update_fields = kwargs.get("update_fields")
    if created or (update_fields is not None and "tier" not in update_fields):
        return  # (an order import saving a customer's name or phone leaves the cases alone)
    from aftersales.models import Case

    Case.objects.filter(customer_id=instance.pk).exclude(vip=instance.is_vip).update(vip=instance.is_vip)

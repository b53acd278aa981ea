from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from aftersales import checks  # noqa: F401 - registers the startup checks
        from aftersales.permissions import display_name

        # People are named by their full name wherever a user is shown (admin lists, choices, history), the
        # username only for someone without one.
        get_user_model().__str__ = display_name

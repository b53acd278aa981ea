from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Read-only analytics and finance exports (built on the aftersales data)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from reports import jobs  # noqa: F401 - registers the reports' background jobs

from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.apps import DefaultConfig as TotpAppConfig


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
    default = True  # this module holds two more configs (for axes and otp_totp, named in INSTALLED_APPS)
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from audit import signals, signin, twofactor  # noqa: F401 - connect the sign-in, lockout and permission receivers


class SignInProtectionConfig(AxesAppConfig):
    """django-axes, named in the admin as the people using it call it."""

    verbose_name = _("Sign-in protection")


class TwoFactorDevicesConfig(TotpAppConfig):
    """django-otp's TOTP devices, named in the admin in the people's language."""

    verbose_name = _("Two-factor sign-in")

    def ready(self) -> None:
        super().ready()
        model = self.get_model("TOTPDevice")
        model._meta.verbose_name = _("authenticator device")
        model._meta.verbose_name_plural = _("authenticator devices")

"""The outbox: every message to a customer or to staff is a row written in the
same transaction as the change it reports, and delivered after commit by a job
(email, or a JSON POST to a chat-group webhook in the style of WeCom robots),
with retries and back-off. A rolled-back change leaves no row; a failed
endpoint keeps its rows until they are delivered.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models.cases import Case


class WebhookEndpoint(models.Model):
    """A chat-group robot (WeCom style) or a JSON endpoint that receives staff alerts for some roles."""

    class Style(models.TextChoices):
        WECOM = "wecom", _("WeCom group robot (msgtype text)")
        JSON = "json", _("Plain JSON")

    name = models.CharField(_("name"), max_length=60)
    url = models.URLField(_("URL"), max_length=500)
    style = models.CharField(_("style"), max_length=10, choices=Style.choices, default=Style.WECOM)
    audience = models.JSONField(
        _("roles"),
        default=list,
        help_text=_('Staff alerts for these roles go here, e.g. ["supervisor"].'),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER_PROGRESS = "customer_progress", _("Customer progress")
        STAFF_ALERT = "staff_alert", _("Staff alert")
        CHANNEL_EVENT = "channel_event", _("Progress event to a channel system")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook")
        SMS = "sms", _("SMS")
        MINIPROGRAM = "miniprogram", _("Mini-program subscription message")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (gave up; can be retried)")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    recipient = models.CharField(
        _("recipient"),
        max_length=254,
        blank=True,
        help_text=_("Email address, mobile number (SMS) or mini-program openid."),
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("webhook endpoint"), on_delete=models.PROTECT, null=True, blank=True
    )
    api_key = models.ForeignKey(
        "aftersales.ApiKey",
        verbose_name=_("channel system"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text=_("Progress events go to this channel system's webhook."),
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    dedupe_key = models.CharField(
        _("deduplication key"),
        max_length=120,
        null=True,
        blank=True,
        unique=True,
        help_text=_("The same alert is written once, however often a sweep sees its cause."),
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    locked_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="notification_due",
                condition=Q(state__in=["pending", "sending"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(channel__in=["email", "sms", "miniprogram"]) & ~Q(recipient=""))
                | (Q(channel="webhook") & (Q(endpoint__isnull=False) | Q(api_key__isnull=False))),
                name="notification_has_a_destination",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.recipient or self.endpoint}: {self.subject}"


class MessageTemplate(models.Model):
    """The provider's template for one customer message by SMS or mini-program subscription message.

    Both carriers only send templates approved beforehand (an SMS template code of Aliyun or Tencent Cloud, a
    subscription template id of the mini-program): this maps the step of the case (``event``: the transition's
    name, as in the channel webhook) to that template, and each of its variables to what fills it.
    """

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        MINIPROGRAM = "miniprogram", _("Mini-program subscription message")

    #: What a template's variables may be filled with.
    PLACEHOLDERS = ("number", "order", "state", "deadline", "reason", "note", "reply", "url")

    event = models.CharField(
        _("step of the case"), max_length=40, help_text=_("The transition the customer hears of, e.g. approve.")
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    template_code = models.CharField(
        _("provider's template"), max_length=64, help_text=_("SMS template code, or the subscription template id.")
    )
    variables = models.JSONField(
        _("variables"),
        default=dict,
        help_text=_(
            'Each template variable and what fills it, e.g. {"number": "number", "time2": "deadline"}; '
            "one of: number, order, state, deadline, reason, note, reply, url."
        ),
    )
    page = models.CharField(
        _("mini-program page"), max_length=200, blank=True, help_text=_("Where a tap on the message leads.")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["event", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["event", "channel"], name="messagetemplate_one_per_event_and_channel")
        ]

    def __str__(self) -> str:
        return f"{self.event} · {self.get_channel_display()}"

    def clean(self) -> None:
        if not isinstance(self.variables, dict) or not all(
            isinstance(k, str) and k and v in self.PLACEHOLDERS for k, v in (self.variables or {}).items()
        ):
            raise ValidationError(
                {"variables": _("Map each variable to one of: %(names)s.") % {"names": ", ".join(self.PLACEHOLDERS)}}
            )


__all__ = ["MessageTemplate", "Notification", "WebhookEndpoint"]

"""Customers, their orders and order lines.

Annual spend and gross margin are derived from order lines (see
``customers.selectors``), never typed in.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.masking import mask_address, mask_email, mask_phone

MONEY = {"max_digits": 12, "decimal_places": 2}


class Channel(models.TextChoices):
    APP = "app", _("App")
    MINI_PROGRAM = "mini_program", _("Mini-program")
    LIVE_STREAM = "live_stream", _("Live stream")
    WEB = "web", _("Web")


class PaymentMethod(models.TextChoices):
    WECHAT_PAY = "wechat_pay", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    UNIONPAY = "unionpay", _("UnionPay")
    CARD = "card", _("Bank card")
    BALANCE = "balance", _("Store balance")
    CASH_ON_DELIVERY = "cod", _("Cash on delivery")
    OTHER = "other", _("Other")


class ProductCategory(models.Model):
    """A product category (服饰, 数码, 母婴 …): drives skills routing and reports."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60, unique=True)

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ContactChannel(models.TextChoices):
    """How a customer prefers to hear about their cases."""

    MINIPROGRAM = "miniprogram", _("Mini-program subscription message")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    NONE = "none", _("No messages (the channel's own app only)")


class Customer(models.Model):
    class Tier(models.TextChoices):
        REGULAR = "regular", _("Regular")
        VIP = "vip", _("VIP")

    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=20, db_index=True)
    email = models.EmailField(_("email"), blank=True)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices, default=Tier.REGULAR, db_index=True)
    credit_score = models.PositiveSmallIntegerField(
        _("credit score"),
        default=600,
        validators=[MinValueValidator(0), MaxValueValidator(1000)],
        help_text=_("0–1000; the policy's quick-refund threshold is compared with it."),
    )
    region = models.CharField(_("region"), max_length=60, blank=True)
    dedicated_advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("dedicated advisor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="advised_customers",
    )
    risk_flags = models.JSONField(_("risk flags"), default=list, blank=True)
    channel = models.CharField(
        _("channel"),
        max_length=20,
        choices=Channel.choices,
        blank=True,
        help_text=_("The channel that sent the customer."),
    )
    external_id = models.CharField(
        _("channel's customer id"),
        max_length=64,
        blank=True,
        help_text=_("The customer's id in the channel's system; orders from that channel find the customer by it."),
    )
    notify_by = models.CharField(
        _("how the customer hears from us"),
        max_length=20,
        choices=ContactChannel.choices,
        blank=True,
        help_text=_(
            "Empty: the first way we have, in this order: mini-program message, SMS, email. "
            "A way that cannot carry a message (no template for it, nothing to send to) falls back to email."
        ),
    )
    miniprogram_openid = models.CharField(
        _("mini-program openid"),
        max_length=64,
        blank=True,
        help_text=_("The customer's openid in the shop's WeChat mini-program (subscription messages go to it)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    erased_at = models.DateTimeField(
        _("personal data erased at"),
        null=True,
        blank=True,
        help_text=_("Name, phone, email and addresses were replaced by placeholders (on request or by retention)."),
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [
            ("view_customer_pii", _("Can see customers' full phone, email and address")),
            ("erase_customer_pii", _("Can export and erase a customer's personal data")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_score__gte=0) & Q(credit_score__lte=1000), name="customer_credit_score_range"
            ),
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="customer_unique_channel_id",
                violation_error_message=_("Another customer of this channel already has this id."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked_phone})"

    @property
    def risk_flag_labels(self) -> list[str]:
        """The customer's risk flags in words (a flag of a kind no longer known keeps its code)."""
        labels = dict(CustomerRiskFlag.Kind.choices)
        return [str(labels.get(flag, flag)) for flag in self.risk_flags or []]

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_email(self) -> str:
        return mask_email(self.email)

    @property
    def is_vip(self) -> bool:
        return self.tier == self.Tier.VIP


class Order(models.Model):
    number = models.CharField(_("order number"), max_length=32, unique=True)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders")
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, db_index=True)
    placed_at = models.DateTimeField(_("placed at"), db_index=True)
    paid_at = models.DateTimeField(pgettext_lazy("order", "paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    payment_method = models.CharField(_("payment method"), max_length=20, choices=PaymentMethod.choices, blank=True)
    payment_transaction_id = models.CharField(
        _("payment transaction id"),
        max_length=64,
        blank=True,
        help_text=_("The payment gateway's transaction number; a refund of the order goes back through it."),
    )
    shipping_address = models.CharField(_("shipping address"), max_length=200, blank=True)
    source_version = models.BigIntegerField(
        _("channel's version"), null=True, blank=True, help_text=_("The order's version in the channel's system.")
    )
    source_updated_at = models.DateTimeField(
        _("changed in the channel at"), null=True, blank=True, help_text=_("When the channel last changed the order.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["customer", "placed_at"], name="order_customer_placed")]
        constraints = [
            models.CheckConstraint(
                condition=Q(delivered_at__isnull=True) | Q(delivered_at__gte=F("placed_at")),
                name="order_delivered_after_placed",
                violation_error_message=_("An order cannot be delivered before it was placed."),
            ),
            models.CheckConstraint(
                condition=Q(paid_at__isnull=True) | Q(paid_at__gte=F("placed_at")),
                name="order_paid_after_placed",
                violation_error_message=_("An order cannot be paid before it was placed."),
            ),
            models.CheckConstraint(
                condition=Q(shipped_at__isnull=True) | Q(shipped_at__gte=F("placed_at")),
                name="order_shipped_after_placed",
                violation_error_message=_("An order cannot be shipped before it was placed."),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def masked_address(self) -> str:
        return mask_address(self.shipping_address)

    @property
    def total(self) -> Decimal:
        """Order value; uses prefetched lines when present."""
        return sum((line.amount for line in self.lines.all()), Decimal("0.00"))


class OrderDayChange(models.Model):
    """A local day whose orders changed in a way their rows no longer show: an order moved to another day or
    another customer, or deleted. The reports' rollups recount these days (the day an order is on now is found
    from the order), and look again whether the customer it left came back after their cases."""

    day = models.DateField(_("day"))
    #: The customer the order belonged to (a plain number: the customer may be gone by the time it is read).
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    noted_at = models.DateTimeField(_("noted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order day change")
        verbose_name_plural = _("order day changes")

    def __str__(self) -> str:
        return str(self.day)

    @classmethod
    def note(cls, *placed: datetime | None, customer_id: int | None = None) -> None:
        """The local days of these placing times need recounting, and ``customer_id`` lost an order."""
        days = {timezone.localtime(at, timezone.get_default_timezone()).date() for at in placed if at is not None}
        cls.objects.bulk_create([cls(day=day, customer_id=customer_id) for day in sorted(days)])


# (read through ``__dict__``: an order loaded without its placing time or customer must not load them here)
def _remember_placed_at(sender, instance, **kwargs) -> None:
    instance._placed_at_loaded = instance.__dict__.get("placed_at")
    instance._customer_loaded = instance.__dict__.get("customer_id")


def _note_moved_day(sender, instance, raw=False, **kwargs) -> None:
    loaded, now = getattr(instance, "_placed_at_loaded", None), instance.__dict__.get("placed_at")
    owner, owner_now = getattr(instance, "_customer_loaded", None), instance.__dict__.get("customer_id")
    moved = loaded != now or (owner is not None and owner_now is not None and owner != owner_now)
    if not raw and instance.pk is not None and loaded is not None and now is not None and moved:
        OrderDayChange.note(loaded, customer_id=owner)
    instance._placed_at_loaded, instance._customer_loaded = now, owner_now


def _note_deleted_day(sender, instance, **kwargs) -> None:
    OrderDayChange.note(instance.placed_at, customer_id=instance.__dict__.get("customer_id"))


models.signals.post_init.connect(_remember_placed_at, sender=Order, dispatch_uid="order_placed_at_loaded")
models.signals.pre_save.connect(_note_moved_day, sender=Order, dispatch_uid="order_day_moved")
models.signals.post_delete.connect(_note_deleted_day, sender=Order, dispatch_uid="order_day_deleted")


class OrderLineQuerySet(models.QuerySet):
    def with_amounts(self) -> OrderLineQuerySet:
        return self.annotate(
            line_amount=F("unit_price") * F("quantity"),
            line_margin=(F("unit_price") - F("unit_cost")) * F("quantity"),
        )

    def totals(self) -> dict[str, Decimal]:
        agg = self.aggregate(
            amount=Sum(F("unit_price") * F("quantity")),
            margin=Sum((F("unit_price") - F("unit_cost")) * F("quantity")),
        )
        return {key: (value or Decimal("0.00")) for key, value in agg.items()}


class OrderLine(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(_("SKU"), max_length=40, db_index=True)
    product_name = models.CharField(_("product"), max_length=120)
    category = models.ForeignKey(
        ProductCategory, verbose_name=_("product category"), on_delete=models.PROTECT, related_name="order_lines"
    )
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    unit_cost = models.DecimalField(_("unit cost"), **MONEY)
    quantity = models.PositiveIntegerField(_("quantity"))

    objects = OrderLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderline_price_not_negative"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="orderline_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.product_name} ×{self.quantity}"

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def gross_margin(self) -> Decimal:
        return (self.unit_price - self.unit_cost) * self.quantity


class CustomerRiskFlag(models.Model):
    """A risk flag on a customer with the reasons behind it; cleared only with a written justification."""

    class Kind(models.TextChoices):
        PROFESSIONAL_CLAIMANT = "professional_claimant", _("Professional claimant")

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    reasons = models.JSONField(_("reasons"), default=list)
    metrics = models.JSONField(_("figures"), default=dict)
    flagged_at = models.DateTimeField(_("flagged at"))
    active = models.BooleanField(_("active"), default=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cleared by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    justification = models.TextField(_("justification"), blank=True)

    class Meta:
        verbose_name = _("customer risk flag")
        verbose_name_plural = _("customer risk flags")
        ordering = ["-flagged_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"], condition=Q(active=True), name="customerriskflag_one_active_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(active=True) | (Q(cleared_at__isnull=False) & ~Q(justification="")),
                name="customerriskflag_cleared_with_justification",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} · {self.get_kind_display()}"

"""Roles, transition permissions and compensation authority.

The groups and what each may do are declared once here (``ROLE_PERMISSIONS``)
and applied by a data migration (``sync_role_groups``); the workflow table in
``docs/workflow.md`` names the same roles and a test keeps the two in step.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from config.forms import ListedModelChoiceField

if TYPE_CHECKING:
    from aftersales.models import Policy

AGENT, QC, SUPERVISOR, FINANCE, CHANNEL = "agent", "qc", "supervisor", "finance", "channel"
STAFF_ROLES = (AGENT, QC, SUPERVISOR, FINANCE)
ROLES = (*STAFF_ROLES, CHANNEL)
#: What each role (group) is called.
ROLE_LABELS = {
    AGENT: _("after-sales agents"),
    QC: _("QC and warehouse"),
    SUPERVISOR: _("after-sales supervisors"),
    FINANCE: _("finance"),
    CHANNEL: _("channel systems"),
}

_READ_CASES = [
    "aftersales.view_case",
    "aftersales.view_responsetemplate",
    "aftersales.view_caseline",
    "aftersales.view_caseevent",
    "aftersales.view_inspection",
    "aftersales.view_shipment",
    "aftersales.view_shipmentevent",
    "aftersales.view_evidence",
    "aftersales.view_compensation",
    "aftersales.view_problemcategory",
    "aftersales.view_queue",
    "customers.view_customer",
    "customers.view_order",
    "customers.view_orderline",
    "customers.view_productcategory",
]
_AGENT_WORK = [
    "aftersales.open_case",
    "aftersales.claim_case",
    "aftersales.approve_case",
    "aftersales.reject_case",
    "aftersales.propose_compensation",
    "aftersales.approve_compensation",
    "aftersales.confirm_case",
    "aftersales.decline_offer",
    "aftersales.cancel_case",
    "aftersales.report_return_shipment",
    "aftersales.add_evidence",
    # Follow-up visits (回访) and a complaint's cause analysis.
    "aftersales.view_followup",
    "aftersales.change_followup",
    "aftersales.view_causeanalysis",
    "aftersales.add_causeanalysis",
    "aftersales.change_causeanalysis",
]
_QC_WORK = ["aftersales.receive_return", "aftersales.inspect_case", "aftersales.dispatch_goods"]

#: role → permissions ("app_label.codename"). Supervisors do everything staff
#: do except paying out, and configure the system in the admin.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    AGENT: [*_READ_CASES, *_AGENT_WORK],
    QC: [*_READ_CASES, *_QC_WORK],
    SUPERVISOR: [
        *_READ_CASES,
        *_AGENT_WORK,
        *_QC_WORK,
        "aftersales.change_case",
        "aftersales.escalate_case",
        "aftersales.resolve_escalation",
        "aftersales.override_policy_window",
        "aftersales.approve_any_compensation",
        "aftersales.view_policy",
        "aftersales.add_policy",
        "aftersales.change_policy",
        "aftersales.add_queue",
        "aftersales.change_queue",
        "aftersales.add_problemcategory",
        "aftersales.change_problemcategory",
        "aftersales.view_agentprofile",
        "aftersales.add_agentprofile",
        "aftersales.change_agentprofile",
        "aftersales.view_slapolicy",
        "aftersales.add_slapolicy",
        "aftersales.change_slapolicy",
        # Service calendars and campaign periods (with their SLA targets).
        *(
            f"aftersales.{verb}_{model}"
            for model in ("servicecalendar", "workinghours", "calendarday", "campaign", "campaigntarget")
            for verb in ("view", "add", "change", "delete")
        ),
        "aftersales.view_automationrule",
        "aftersales.add_automationrule",
        "aftersales.change_automationrule",
        "aftersales.view_lexiconword",
        "aftersales.add_lexiconword",
        "aftersales.change_lexiconword",
        "aftersales.view_riskthresholds",
        "aftersales.change_riskthresholds",
        "aftersales.view_webhookendpoint",
        "aftersales.add_webhookendpoint",
        "aftersales.change_webhookendpoint",
        "aftersales.view_notification",
        "aftersales.change_notification",
        # Which SMS and mini-program templates carry which customer message.
        *(f"aftersales.{verb}_messagetemplate" for verb in ("view", "add", "change", "delete")),
        "customers.view_customerriskflag",
        "aftersales.add_responsetemplate",
        "aftersales.change_responsetemplate",
        "aftersales.view_templateuse",
        "aftersales.view_healthreport",
        "aftersales.view_apikey",
        "aftersales.add_apikey",
        "aftersales.change_apikey",
        "customers.view_customer_pii",
        # The customer's personal data: exported for them and erased on request (PIPL).
        "customers.erase_customer_pii",
        # The audit log; unlocking a locked sign-in; removing a lost two-factor device.
        "audit.view_auditentry",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "otp_totp.view_totpdevice",
        "otp_totp.delete_totpdevice",
        "customers.add_customer",
        "customers.change_customer",
        # The shop's orders: added, corrected and imported in the admin.
        "customers.add_order",
        "customers.change_order",
        "customers.add_orderline",
        "customers.change_orderline",
        "customers.delete_orderline",
        "customers.add_productcategory",
        "customers.change_productcategory",
    ],
    FINANCE: [
        "aftersales.view_case",
        "aftersales.view_compensation",
        "aftersales.pay_compensation",
        "customers.view_customer",
        "customers.view_order",
    ],
    # Service accounts of the channel systems (app, mini-program, live
    # stream, web) acting for the customer through the API.
    CHANNEL: [
        "aftersales.view_case",
        "aftersales.open_case",
        "aftersales.confirm_case",
        "aftersales.decline_offer",
        "aftersales.cancel_case",
        "aftersales.escalate_case",
        "aftersales.report_return_shipment",
        "aftersales.add_evidence",
        # Refunds the channel settles (through its own payment) are reported back by it.
        "aftersales.pay_compensation",
        # The shop's orders and customers come in through the channel's API.
        "customers.view_order",
        "customers.add_order",
        "customers.change_order",
        "customers.add_customer",
        "customers.change_customer",
    ],
}


def sync_role_groups(apps, schema_editor=None) -> None:
    """Create the role groups and give each exactly its permissions (data migration)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        perms = []
        for name in names:
            app_label, codename = name.split(".")
            # An earlier migration runs against the models of its day, which may
            # lack a permission declared since; the latest re-sync adds it.
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)


def supervises(user) -> bool:
    """Supervisors (and superusers): they decide escalations and oversee every corrective action."""
    return user.is_superuser or user.has_perm("aftersales.resolve_escalation")


def may_close_corrective_action(user, analysis) -> bool:
    """The action's owner closes it, or a supervisor."""
    return user.pk == analysis.owner_id or supervises(user)


def display_name(user, empty: str | None = "") -> str | None:
    """How staff are named on pages, exports and the API: full name, else username (``empty`` without a user)."""
    return (user.get_full_name() or user.get_username()) if user else empty


class StaffChoiceField(ListedModelChoiceField):
    """A choice of staff, each by the name people know them by (not the username)."""

    def label_from_instance(self, obj) -> str:
        return display_name(obj)


def working_staff():
    """Users a case can be assigned to: active agents and supervisors."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[AGENT, SUPERVISOR])
        .distinct()
        .order_by("username")
    )


def roles_of(user) -> set[str]:
    """The user's role groups, cached on the user object (like Django's permission cache)."""
    if not user or not user.is_authenticated:
        return set()
    cached = getattr(user, "_aftersales_roles", None)
    if cached is None:
        cached = frozenset(name for name in user.groups.values_list("name", flat=True) if name in ROLES)
        user._aftersales_roles = cached
    return set(cached)


# --------------------------------------------------------------------------
# Compensation authority
# --------------------------------------------------------------------------
def authority_of(user, policy: Policy) -> Decimal | None:
    """The largest case total ``user`` may approve; ``None`` means unlimited."""
    if user is None:
        return Decimal("0.00")
    if user.has_perm("aftersales.approve_any_compensation"):
        return None
    if not user.has_perm("aftersales.approve_compensation"):
        return Decimal("0.00")
    return personal_authority(user, policy)


def personal_authority(user, policy: Policy) -> Decimal:
    """An agent's own limit, else the policy's default (no permission lookup: for lists of agents' requests)."""
    profile = getattr(user, "agent_profile", None)
    if profile is not None and profile.authority_limit is not None:
        return profile.authority_limit
    return policy.default_agent_authority


def may_reply_to_customers(user) -> bool:
    """Agents and supervisors speak to customers; QC and finance write internal notes only."""
    return bool(user and user.has_perm("aftersales.claim_case"))


#: The account the customer's progress page acts as (in the channel group): the timeline says the customer did it.
PORTAL_USERNAME = "customer_portal"


def portal_user():
    """The progress page's account, made on first use (a data migration makes it too)."""
    from django.contrib.auth.models import Group

    user, created = get_user_model().objects.get_or_create(
        username=PORTAL_USERNAME, defaults={"first_name": "顾客（进度页）", "is_active": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if not user.groups.filter(name=CHANNEL).exists():
        user.groups.add(Group.objects.get(name=CHANNEL))
    return user

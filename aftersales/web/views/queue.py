"""The agent's queue, the team's status board, and bulk claim/assign."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import Case, Priority
from aftersales.permissions import StaffChoiceField, working_staff
from aftersales.selectors import (
    approvals_by_age,
    case_list_for,
    case_scope_for,
    deadline_of,
    may_use,
    payouts_by_age,
    status_board_for,
)
from aftersales.selectors.filters import CaseQueueFilter
from aftersales.templatetags.desk import deadline as deadline_badge
from aftersales.templatetags.desk import priority as priority_badge
from aftersales.web.views._common import area_required, error_text, safe_next
from config.pagination import CappedCountPaginator

PAGE_SIZES = (25, 50, 100)
BULK_LIMIT = 100


def _page_size(request) -> int:
    try:
        size = int(request.GET.get("per_page", 50))
    except ValueError:
        return 50
    return size if size in PAGE_SIZES else 50


#: Session keys: the agent's last queue view (its query string), and the cases its page showed, in order.
QUEUE_VIEW, QUEUE_CASES = "desk_queue_view", "desk_queue_cases"
#: Query parameters that are not part of a view.
NOT_THE_VIEW = ("page", "reset")


def queue_url(request) -> str:
    """The queue as the user last left it (its filters, its tab)."""
    saved = request.session.get(QUEUE_VIEW, "")
    return reverse("desk:queue") + (f"?{saved}" if saved else "")


def queue_filter(request, params) -> CaseQueueFilter:
    return CaseQueueFilter(params, queryset=case_list_for(request.user), user=request.user)


#: The columns a queue row reads (``queue_rows``): a case has fifty, and building them all was a third of the page.
QUEUE_ROW_FIELDS = (
    "number", "request_type", "state", "priority", "crisis", "urgency", "stage_due_at", "waiting_on", "opened_at",
    "order__number", "customer__name", "customer__tier", "queue__name",
    "assignee__first_name", "assignee__last_name", "assignee__username",
    "category__name", "category__parent__name", "category__parent__parent__name", "category__parent__parent__parent",
)  # fmt: skip


def queue_rows(cases, *, now, may_claim: bool, back: str) -> list[dict]:
    """What each row of the queue shows, worked out once here (no template tag or lookup chain per cell)."""
    claim_next = "?" + urlencode({"next": back})
    rows = []
    for case in cases:
        info = deadline_of(case, now)
        assignee = case.assignee
        rows.append(
            {
                "pk": case.pk,
                "number": case.number,
                "url": reverse("desk:case", args=[case.pk]),
                "order": case.order.number,
                "customer": case.customer.name,
                "vip": case.customer.is_vip,
                "request_type": case.get_request_type_display(),
                "category": case.category.full_name if case.category_id else "—",
                "state": case.get_state_display(),
                "priority": priority_badge(case),
                "urgency": case.urgency,
                "deadline": deadline_badge(case, now),
                "breached": info.status == "breached",
                "waiting": _("waiting on %(party)s") % {"party": case.get_waiting_on_display()}
                if case.waiting_on
                else "",
                "queue": str(case.queue) if case.queue_id else "—",
                "assignee": (assignee.get_full_name() or assignee.get_username()) if assignee else "",
                "claim": reverse("desk:case_action", args=[case.pk, "claim"]) + claim_next
                if may_claim and not assignee and case.is_open
                else "",
                "opened": timezone.localtime(case.opened_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
    return rows


@area_required("queue")
def queue(request):
    """Cases in the user's scope, filtered, deadline first, a fixed number of queries per page.

    The queue remembers the user's last view: opened without parameters (the menu), it shows that view again;
    ``reset`` starts from the default one."""
    if not request.GET and request.session.get(QUEUE_VIEW):
        return HttpResponseRedirect(queue_url(request))
    view = request.GET.copy()
    for key in NOT_THE_VIEW:
        view.pop(key, None)
    request.session[QUEUE_VIEW] = view.urlencode()
    filterset = queue_filter(request, request.GET)
    paginator = CappedCountPaginator(filterset.qs.only(*QUEUE_ROW_FIELDS), _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    request.session[QUEUE_CASES] = [case.pk for case in page.object_list]
    now = timezone.now()
    may_claim = request.user.has_perm("aftersales.claim_case")
    rows = queue_rows(page.object_list, now=now, may_claim=may_claim, back=request.get_full_path())
    may_assign = request.user.has_perm("aftersales.change_case")
    return render(
        request,
        "aftersales/queue.html",
        {
            "filter": filterset,
            "page": page,
            "paginator": paginator,
            "rows": rows,
            "now": now,
            "may_claim": may_claim,
            "may_assign": may_assign,
            "assignees": list(working_staff()) if may_assign else [],
            "bulk_limit": BULK_LIMIT,
        },
    )


@area_required("queue")
def next_case(request, case_id: int):
    """The case after ``case_id`` in the user's last queue view (下一单); back to the queue when none is left.

    The page of the queue the user saw gives the order; a case that has left the view since (acted on by someone)
    is skipped, and past the end of that page the view is asked again for a case not yet passed."""
    shown = request.session.get(QUEUE_CASES, [])
    position = shown.index(case_id) + 1 if case_id in shown else 0
    ahead, passed = shown[position:], [*shown[:position], case_id]
    cases = queue_filter(request, QueryDict(request.session.get(QUEUE_VIEW, ""))).qs
    still = set(cases.filter(pk__in=ahead).values_list("pk", flat=True)) if ahead else set()
    following = next((pk for pk in ahead if pk in still), None)
    if following is None:
        following = cases.exclude(pk__in=passed).values_list("pk", flat=True).first()
    if following is None:
        messages.info(request, _("No more cases in this view."))
        return HttpResponseRedirect(queue_url(request))
    return HttpResponseRedirect(reverse("desk:case", args=[following]))


@area_required("board")
def board(request):
    """Open cases of the team by state and priority colour; every number links to the queue."""
    rows = status_board_for(request.user)
    colours = list(Priority.choices)
    supervising = may_use(request.user, "approvals")
    totals = [(value, sum(row.counts[value] for row in rows)) for value, _label in colours]
    return render(
        request,
        "aftersales/board.html",
        {
            "rows": rows,
            "colours": colours,
            "totals": totals,
            "grand_total": sum(row.total for row in rows),
            "breached_total": sum(row.breached for row in rows),
            "approvals_by_age": approvals_by_age() if supervising else None,
            "payouts_by_age": payouts_by_age() if supervising else None,
        },
    )


class BulkForm(forms.Form):
    ACTIONS = [("claim", gettext_lazy("claim")), ("assign", gettext_lazy("assign to"))]

    action = forms.ChoiceField(choices=ACTIONS)
    cases = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), error_messages={"required": gettext_lazy("Select at least one case.")}
    )
    assignee = StaffChoiceField(queryset=None, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = working_staff()
        # Any well-formed id is accepted here; the scope check below decides what may be touched.
        self.fields["cases"].choices = [
            (value, value) for value in self.data.getlist("cases") if value.isdigit() and 0 < int(value) < 2**63
        ][: BULK_LIMIT + 1]

    def clean(self):
        data = super().clean()
        if len(data.get("cases") or []) > BULK_LIMIT:
            raise ValidationError(_("At most %(count)s cases at a time.") % {"count": BULK_LIMIT})
        if data.get("action") == "assign" and not data.get("assignee"):
            self.add_error("assignee", _("Choose whom to assign the cases to."))
        return data


@require_POST
@area_required("queue")
def bulk(request):
    """Claim the selected cases, or (supervisors) assign them to someone; each case is its own service call."""
    back = safe_next(request, reverse("desk:queue"))
    form = BulkForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return HttpResponseRedirect(back)
    action, assignee = form.cleaned_data["action"], form.cleaned_data["assignee"]
    if action == "assign" and not request.user.has_perm("aftersales.change_case"):
        raise PermissionDenied
    cases = dict(case_scope_for(request.user).filter(pk__in=form.cleaned_data["cases"]).values_list("pk", "number"))
    done, failed = [], []
    for case_id in form.cleaned_data["cases"]:
        number = cases.get(case_id)
        if number is None:
            failed.append(_("Case #%(id)s is not one you can see.") % {"id": case_id})
            continue
        try:
            if action == "claim":
                services.case_claim(case_id=case_id, actor=request.user)
            else:
                services.case_update(case_id=case_id, actor=request.user, changes={"assignee": assignee})
            done.append(number)
        except (NotAllowed, PermissionDenied, ValidationError, Case.DoesNotExist) as exc:
            reason = error_text(exc)
            failed.append(f"{number}: {reason}")
    if done:
        if action == "claim":
            text = _("Claimed %(count)s case(s): %(numbers)s.")
        else:
            text = _("Assigned %(count)s case(s) to %(user)s: %(numbers)s.")
        messages.success(request, text % {"count": len(done), "numbers": ", ".join(done), "user": assignee})
    for message in failed:
        messages.error(request, message)
    return HttpResponseRedirect(back)

"""Readers of after-sales data: one scoped queryset per audience.

``case_scope_for(user)`` is the single rule of which cases a user may see; the
queue, the status board, the QC page and the case page all start from it, so
a case missing from a user's list cannot be reached by its URL either.
Every reader here costs a fixed number of queries, whatever the table size.

``scope`` (who sees what, the workspace areas), ``board`` (status board, deadlines), ``cases`` (the case page),
``work`` (approvals, the QC bench, payables), ``actions`` (which registry actions a user may take now),
``filters`` (the queue's filters, shared by the pages and the API). May import models, permissions and the
workflow registry; never a service or a door.
"""

from aftersales.selectors.actions import actions_for, compensation_actions_for
from aftersales.selectors.board import BoardRow, Deadline, deadline_of, status_board_for
from aftersales.selectors.care import (
    FOLLOW_UP_TABS,
    corrective_actions_by_category,
    follow_ups_for,
    open_corrective_actions,
)
from aftersales.selectors.cases import case_inspections, evidence_for, photo_for, recent_cases_of_customer
from aftersales.selectors.scope import (
    AREAS,
    DUE_SOON,
    FINANCE_STATES,
    LIST_RELATED,
    QC_STATES,
    RECEIVABLE_STATES,
    case_for_page,
    case_list_for,
    case_scope_for,
    may_use,
    my_queue_ids,
    start_area,
)
from aftersales.selectors.work import (
    AGE_BANDS,
    PAYOUT_AGEING_DAYS,
    PAYOUT_TABS,
    active_returns_of,
    approvals_by_age,
    offers_awaiting_approval,
    payables,
    payables_total,
    payouts_by_age,
    qc_worklist_for,
    requesters_of,
    with_offer_total,
)

__all__ = [
    "AGE_BANDS",
    "AREAS",
    "DUE_SOON",
    "FINANCE_STATES",
    "FOLLOW_UP_TABS",
    "LIST_RELATED",
    "PAYOUT_AGEING_DAYS",
    "PAYOUT_TABS",
    "QC_STATES",
    "RECEIVABLE_STATES",
    "BoardRow",
    "Deadline",
    "actions_for",
    "active_returns_of",
    "approvals_by_age",
    "case_for_page",
    "case_inspections",
    "case_list_for",
    "case_scope_for",
    "compensation_actions_for",
    "corrective_actions_by_category",
    "deadline_of",
    "evidence_for",
    "follow_ups_for",
    "may_use",
    "my_queue_ids",
    "offers_awaiting_approval",
    "open_corrective_actions",
    "payables",
    "payables_total",
    "payouts_by_age",
    "photo_for",
    "qc_worklist_for",
    "recent_cases_of_customer",
    "requesters_of",
    "start_area",
    "status_board_for",
    "with_offer_total",
]

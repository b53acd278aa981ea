from django.urls import path

from aftersales.web.views import case, queue, risk, work

app_name = "desk"

urlpatterns = [
    path("", work.home, name="home"),
    path("cases/", queue.queue, name="queue"),
    path("cases/board/", queue.board, name="board"),
    path("cases/bulk/", queue.bulk, name="bulk"),
    path("cases/<int:case_id>/", case.case_detail, name="case"),
    path("cases/<int:case_id>/next/", queue.next_case, name="next_case"),
    path("cases/<int:case_id>/do/<slug:name>/", case.case_action, name="case_action"),
    path("cases/<int:case_id>/compensation/", case.compensation_add, name="compensation_add"),
    path("cases/<int:case_id>/reply/", case.case_template_reply, name="case_template_reply"),
    path(
        "cases/<int:case_id>/compensation/<int:comp_id>/<slug:name>/",
        case.compensation_action,
        name="compensation_action",
    ),
    path("cases/<int:case_id>/photos/<int:photo_id>/", case.inspection_photo, name="photo"),
    path("cases/<int:case_id>/evidence/", case.evidence_add, name="evidence_add"),
    path("cases/<int:case_id>/evidence/<int:evidence_id>/", case.evidence_file, name="evidence"),
    path("qc/", work.qc, name="qc"),
    path("approvals/", work.approvals, name="approvals"),
    path("approvals/bulk/", work.approvals_bulk, name="approvals_bulk"),
    path("finance/", work.finance, name="finance"),
    path("finance/batch/", work.finance_batch, name="finance_batch"),
    path("follow-ups/", work.follow_ups, name="follow_ups"),
    path("corrective-actions/", work.corrective_actions, name="corrective_actions"),
    path("risk/claimants/", risk.claimants, name="claimants"),
    path("risk/claimants/<int:flag_id>/clear/", risk.claimant_clear, name="claimant_clear"),
]

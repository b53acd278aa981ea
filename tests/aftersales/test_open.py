"""Opening a case: validation names the problem and nothing is written on refusal."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from aftersales import services
from aftersales.errors import NotAllowed
from aftersales.models import Case, CaseEvent, CaseLine, CaseState, Policy, Queue
from tests.factories import OrderFactory, OrderLineFactory, UserFactory

S = CaseState


def _counts():
    return Case.objects.count(), CaseLine.objects.count(), CaseEvent.objects.count()


def _lines(order):
    return list(order.lines.order_by("id"))


def _refused(field, **kwargs):
    before = _counts()
    with pytest.raises(ValidationError) as excinfo:
        services.case_open(**kwargs)
    assert _counts() == before
    assert field in excinfo.value.message_dict, excinfo.value.message_dict
    return " ".join(excinfo.value.message_dict[field])


def test_open_assigns_a_readable_number_pins_the_policy_and_records_the_event(open_case, policy, order, agent):
    case = open_case()
    today = timezone.localdate().strftime("%Y%m%d")
    assert re.fullmatch(rf"AS{today}-\d{{6}}", case.number)
    assert case.state == S.PENDING_REVIEW
    assert case.customer == order.customer and case.channel == order.channel
    assert case.policy == policy and case.policy_version.id == policy.id
    assert case.lines.get().quantity == 1
    event = case.events.get()
    assert (event.kind, event.name, event.to_state, event.actor) == ("opened", "open", S.PENDING_REVIEW, agent)
    assert case.waiting_on == "merchant" and case.stage_due_at is not None


def test_numbers_count_up_within_a_day(open_case, order):
    first = open_case()
    second = open_case(lines=[(_lines(order)[1].pk, 1)])
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1


def test_case_keeps_the_policy_version_in_force_when_it_opened(open_case, policy, order):
    old_case = open_case()
    policy.review_timeout_hours = 12
    policy.save()
    new_case = open_case(lines=[(_lines(order)[1].pk, 1)])
    old_case.refresh_from_db()
    assert old_case.policy_version.review_timeout_hours == 48
    assert new_case.policy_version.review_timeout_hours == 12
    assert policy.history.count() == 2


def test_channel_policy_wins_over_the_default(open_case, policy):
    live = Policy.objects.create(name="直播渠道政策", channel="live_stream", review_timeout_hours=24)
    case = open_case(channel="live_stream")
    assert case.policy == live


def test_unknown_order_is_refused(policy, agent):
    message = _refused("order", actor=agent, order_number="NOPE-1", lines=[(1, 1)], request_type="refund_only")
    assert "NOPE-1" in message


def test_line_of_another_order_is_refused(policy, order, agent):
    other = OrderLineFactory()
    message = _refused("lines", actor=agent, order_id=order.pk, lines=[(other.pk, 1)], request_type="return_refund")
    assert order.number in message


def test_quantity_above_what_was_bought_is_refused(policy, order, agent):
    tshirt = _lines(order)[0]
    message = _refused("lines", actor=agent, order_id=order.pk, lines=[(tshirt.pk, 3)], request_type="return_refund")
    assert "TS-001" in message and "2" in message


@pytest.mark.parametrize("quantity", [0, -1, "2"])
def test_quantity_must_be_a_positive_whole_number(policy, order, agent, quantity):
    tshirt = _lines(order)[0]
    _refused("lines", actor=agent, order_id=order.pk, lines=[(tshirt.pk, quantity)], request_type="return_refund")


def test_same_line_twice_in_one_request_is_refused(policy, order, agent):
    tshirt = _lines(order)[0]
    _refused(
        "lines", actor=agent, order_id=order.pk, lines=[(tshirt.pk, 1), (tshirt.pk, 1)], request_type="return_refund"
    )


def test_second_open_case_on_the_same_line_is_refused_naming_the_first(open_case, order, agent):
    first = open_case()
    message = _refused(
        "lines", actor=agent, order_id=order.pk, lines=[(_lines(order)[0].pk, 1)], request_type="exchange"
    )
    assert first.number in message


def test_quantity_already_returned_in_a_closed_case_is_not_available_again(case_in, order, agent):
    case_in(S.CLOSED)  # one of the two T-shirts
    tshirt = _lines(order)[0]
    message = _refused("lines", actor=agent, order_id=order.pk, lines=[(tshirt.pk, 2)], request_type="return_refund")
    assert "1" in message
    again = services.case_open(actor=agent, order_id=order.pk, lines=[(tshirt.pk, 1)], request_type="return_refund")
    assert again.state == S.PENDING_REVIEW


def test_rejected_and_cancelled_cases_release_their_quantity(case_in, order, agent):
    case_in(S.REJECTED)
    tshirt = _lines(order)[0]
    assert services.case_open(actor=agent, order_id=order.pk, lines=[(tshirt.pk, 2)], request_type="return_refund")


def test_lines_are_required_except_for_complaints(policy, order, agent):
    _refused("lines", actor=agent, order_id=order.pk, lines=[], request_type="return_refund")
    case = services.case_open(actor=agent, order_id=order.pk, lines=[], request_type="complaint", reason="客服态度差")
    assert case.request_type == "complaint" and not case.lines.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"request_type": "steal"}, "request_type"),
        ({"request_type": "refund_only", "urgency": 9}, "urgency"),
        ({"request_type": "refund_only", "channel": "telegraph"}, "channel"),
        ({"request_type": "refund_only", "category_id": 999999}, "category"),
        ({"request_type": "refund_only", "evidence": "not-a-list"}, "evidence"),
    ],
)
def test_bad_fields_are_named(policy, order, agent, kwargs, field):
    tshirt = _lines(order)[0]
    _refused(field, actor=agent, order_id=order.pk, lines=[(tshirt.pk, 1)], **kwargs)


def test_roles_without_the_permission_cannot_open(policy, order, qc, finance):
    for user in (qc, finance, UserFactory()):
        with pytest.raises(PermissionDenied):
            services.case_open(
                actor=user, order_id=order.pk, lines=[(_lines(order)[0].pk, 1)], request_type="refund_only"
            )
    assert Case.objects.count() == 0


def test_channel_service_account_may_open(open_case, channel_user):
    assert open_case(actor=channel_user).events.get().actor == channel_user


def test_vip_case_goes_to_the_vip_queue_and_the_dedicated_advisor(policy, agent):
    advisor = UserFactory(username="advisor", roles=["agent"])
    Queue.objects.create(code="general", name="普通队列", is_default=True)
    vip_queue = Queue.objects.create(code="vip", name="VIP 专席", purpose="vip")
    order = OrderFactory(customer__tier="vip", customer__dedicated_advisor=advisor)
    line = OrderLineFactory(order=order, unit_price=Decimal("1500.00"), quantity=1)
    case = services.case_open(
        actor=agent, order_id=order.pk, lines=[(line.pk, 1)], request_type="return_refund", urgency=4
    )
    assert (case.queue, case.assignee, case.priority) == (vip_queue, advisor, "red")


def test_regular_case_goes_to_the_default_queue(open_case):
    general = Queue.objects.create(code="general", name="普通队列", is_default=True)
    Queue.objects.create(code="vip", name="VIP 专席", purpose="vip")
    case = open_case(urgency=2)
    assert (case.queue, case.assignee, case.priority) == (general, None, "green")


def test_no_active_policy_refuses_and_writes_nothing(order, agent):
    before = _counts()
    with pytest.raises(NotAllowed, match=r"policy|政策"):
        services.case_open(actor=agent, order_id=order.pk, lines=[(_lines(order)[0].pk, 1)], request_type="refund_only")
    assert _counts() == before


def test_case_can_be_found_by_its_number_its_order_number_or_the_customer_phone(open_case, order):
    case = open_case()
    other = OrderLineFactory()
    services.case_open(
        actor=case.events.get().actor, order_id=other.order_id, lines=[(other.pk, 1)], request_type="refund_only"
    )
    assert list(Case.objects.search(case.number.lower())) == [case]
    assert list(Case.objects.search(f" {order.number} ")) == [case]
    assert list(Case.objects.search(order.customer.phone)) == [case]
    assert not Case.objects.search("AS19990101-000001").exists()
    assert Case.objects.search("").count() == 2

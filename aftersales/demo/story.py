"""One demo case's story: the path it takes through the workflow, told step by step as the services would.

Longer than 500 lines on purpose: ``Story`` is one walk through the workflow — plan, one step per transition,
place in time, emit rows — and each step reads the state the earlier ones left; split across modules it would
be harder to check against ``docs/workflow.md``, which ``tests/aftersales/test_seed_demo.py`` does event by event.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from aftersales.demo import catalog as cat
from aftersales.demo.common import CS, DAY, HOUR, MINUTE, RT, YEAR, K, S, cents, to_dt
from aftersales.demo.reference import Staff
from aftersales.models import (
    FINAL_STATES,
    GOODS_RETURN_TYPES,
    OUTBOUND_STATES,
    Attribution,
    CaseEvent,
    EventName,
    Inspection,
    Settlement,
    Shipment,
    WaitingOn,
)
from aftersales.services.cases import OUTBOUND_KINDS
from aftersales.workflow.policy import initial_priority, quick_refund_eligible
from aftersales.workflow.transitions import stage_clock
from customers.models import Customer

if TYPE_CHECKING:
    from aftersales.demo.generator import DemoGenerator, _Chunk


class Story:
    """One case and its history, told on a relative clock (seconds since it opened).

    ``plan`` picks the final state, the request, the order and the path of
    transitions; ``walk`` takes the path step by step as the services would
    (events, timestamps, inspection, compensations); ``place`` fixes the
    opening time (finished cases over the past year, open ones recently) and
    pays out; ``emit`` turns it all into rows of the chunk.
    """

    def __init__(self, gen: DemoGenerator, chunk: _Chunk, customer: dict):
        self.gen, self.chunk, self.customer = gen, chunk, customer
        self.rng, self.ref = gen.rng, gen.ref
        self.t = 0  # time of the latest step
        self.entered = 0  # when the current state was entered (the stage clock starts there)
        self.state = S.PENDING_REVIEW
        self.events: list[list] = []  # [t, kind, name, from, to, actor id, note, data]
        self.stamps: dict[str, int] = {}
        self.comps: list[dict] = []
        self.pay_later: list[tuple[dict, int]] = []  # (compensation, delay after it became payable)
        self.working: list[int] = []  # times of actions by agents, QC, supervisors
        self.versions = 1
        self.inspection: dict | None = None
        self.shipment: dict | None = None
        self.outbound: dict | None = None
        self.reject_reason = self.escalated_from = self.carrier = self.tracking = ""
        self.queue = self.assignee = None

    def tell(self) -> None:
        self.plan()
        self.walk()
        self.place()
        self.emit()

    # -- plan ------------------------------------------------------------------
    def plan(self) -> None:
        gen, rng, ref = self.gen, self.rng, self.ref
        target = gen.forced_states.pop() if gen.forced_states else gen.pick_state(rng)
        if target in OUTBOUND_STATES:
            rtype = RT.EXCHANGE  # its offer is a replacement: goods go out
        elif target in (S.AWAITING_RETURN, S.RETURN_SHIPPED, S.IN_QC):
            rtype = gen.pick_goods_type(rng)
        else:
            rtype = gen.pick_type(rng)
        self.target, self.rtype = target, rtype
        self.goods = goods = rtype in GOODS_RETURN_TYPES
        self.leaf = leaf = gen.leaves_for_type[rtype](rng)
        pcat = leaf.products(rng)
        self.channel = gen.pick_channel(rng)
        self.policy, self.version = ref.policy_for(self.channel)
        self.is_vip = self.customer["tier"] == Customer.Tier.VIP

        # The path: transition names (":" argument) from pending_review to ``target``.
        # Most customers give the tracking number (through the channel, or to an agent); the rest just send it.
        shipped = ["ship"] if target == S.RETURN_SHIPPED or rng.random() < 0.75 else []
        to_compensation = ["approve", *shipped, "receive", "inspect"] if goods else ["approve"]
        reached_by = {
            S.PENDING_REVIEW: [],
            S.AWAITING_RETURN: ["approve"],
            S.RETURN_SHIPPED: ["approve", "ship"],
            S.IN_QC: ["approve", *shipped, "receive"],
            S.COMPENSATION: to_compensation,
            S.AWAITING_APPROVAL: to_compensation,  # the offer is sent for approval in ``place``
            S.AWAITING_CONFIRMATION: [*to_compensation, "propose"],
            S.AWAITING_DISPATCH: [*to_compensation, "propose", "confirm"],
            S.AWAITING_DELIVERY: [*to_compensation, "propose", "confirm", "dispatch"],
            S.AWAITING_RECEIPT: [*to_compensation, "propose", "confirm", "dispatch", "deliver"],
        }
        late = False
        roll = rng.random()
        if target == S.CLOSED:
            if roll < 0.04:
                path = [*to_compensation, "escalate", "resolve:compensation", "propose", "confirm"]
            elif roll < 0.07:
                path = [*to_compensation, "propose", "escalate", "resolve:closed"]
            else:
                path = [*to_compensation, "propose", "confirm"]
        elif target == S.REJECTED:
            if goods and roll < 0.3:
                path = ["approve", "receive", "inspect:fault"]
            elif roll < 0.94:
                path = ["reject"]
                late = leaf.attribution == Attribution.CUSTOMER and rng.random() < 0.4
            else:
                path = [*to_compensation, "escalate", "resolve:rejected"]
        elif target == S.CANCELLED:
            path = ["approve", "cancel"] if goods and roll < 0.4 else ["cancel"]
        elif target == S.ESCALATED:
            sources = [S.PENDING_REVIEW, S.COMPENSATION, S.AWAITING_CONFIRMATION]
            if goods:
                sources += [S.AWAITING_RETURN, S.RETURN_SHIPPED, S.IN_QC]
            path = [*reached_by[rng.choice(sources)], "escalate"]
        else:
            path = reached_by[target]

        # The order (each case has its own) and the lines the case is about.
        self.order, lines = gen._order(self.chunk, self.customer, self.channel, pcat)
        claimed = [lines[0]]
        if len(lines) > 1 and rng.random() < 0.3:
            claimed.append(lines[1])
        self.case_lines = [(line, rng.randint(1, line["quantity"])) for line in claimed]
        self.value = sum(line["_price"] * qty for line, qty in self.case_lines)  # fen
        self.product = lines[0]["_product"]

        window = (
            self.policy.quality_return_days
            if leaf.attribution == Attribution.PRODUCT_QUALITY
            else self.policy.no_reason_return_days
        )
        if leaf.undelivered:
            self.delivered_before = None
            self.placed_before = rng.randint(4 * DAY, 12 * DAY)
        else:
            if late:  # opened after the policy window: rejected
                self.delivered_before = (window + rng.randint(1, 20)) * DAY
            else:
                self.delivered_before = int(HOUR + rng.random() ** 2 * (min(window, 10) * DAY - 2 * HOUR))
            self.placed_before = self.delivered_before + rng.randint(DAY, 4 * DAY)
        self.late = late

        self.urgency = gen.pick_urgency(rng)
        if leaf.urgent or target == S.ESCALATED:
            self.urgency = max(self.urgency, 4)
        # Granted at approval whenever eligible, as the services do.
        self.quick = quick_refund_eligible(
            policy=self.version,
            request_type=rtype,
            credit_score=self.customer["credit_score"],
            amount=cents(self.value),
            flagged=bool(self.customer["risk_flags"]),
        )
        if self.quick and target in (S.CANCELLED, S.REJECTED) and path[-1] in ("cancel", "resolve:rejected"):
            # A quick refund blocks cancelling; keep rejected/cancelled cases free of payouts.
            path = ["cancel"] if target == S.CANCELLED else ["reject"]
        self.path = path

        # Queue and assignee as case_open sets them; most cases get an agent.
        if self.is_vip:
            self.queue = ref.queues["vip"]
            self.assignee = gen.agents_by_id.get(self.customer["dedicated_advisor_id"])
        else:
            self.queue = ref.default_queue
            if rng.random() < (0.25 if target == S.PENDING_REVIEW else 0.9):
                skilled = gen.agents_by_skill.get(pcat)
                self.assignee = rng.choice(skilled) if skilled and rng.random() < 0.8 else rng.choice(ref.agents)
        self.supervisor = rng.choice(ref.supervisors)
        self.offer = gen._offer(rtype, leaf, self.value, self.quick)
        if target == S.CLOSED and "confirm" in self.path and any(kind in OUTBOUND_KINDS for kind, _fen in self.offer):
            # The accepted offer sends goods (a replacement, a gift): the warehouse dispatches, the customer confirms.
            at = self.path.index("confirm") + 1
            self.path = [*self.path[:at], "dispatch", "receipt", *self.path[at:]]

    # -- helpers -----------------------------------------------------------------
    def agent(self) -> Staff:
        return self.assignee if self.assignee is not None else self.rng.choice(self.ref.agents)

    def customer_side(self, share: float = 0.7) -> Staff:
        """The channel's service account (the customer) or, otherwise, the agent on their behalf."""
        return self.ref.channel_accounts[self.channel] if self.rng.random() < share else self.agent()

    def go(
        self, name: str, target: str, delay: int, actor: Staff | None, note: str = "", data: dict | None = None
    ) -> list:
        self.t += max(MINUTE, delay)
        row = [
            self.t,
            CaseEvent.Kind.TRANSITION,
            name,
            self.state,
            target,
            actor.id if actor else None,
            note,
            data or {},
        ]
        self.events.append(row)
        if actor is not None and actor.id in self.gen.working_ids:
            self.working.append(self.t)
        self.state, self.entered = target, self.t
        self.versions += 1
        return row

    def comp_event(self, at: int, name: str, actor: Staff | None, comp: dict, note: str | None = "") -> None:
        """``note=None``: a payout, noted with its reference once numbered."""
        state = comp["state"]
        self.events.append(
            [at, CaseEvent.Kind.COMPENSATION, name, "", "", actor.id if actor else None, note, (comp, state)]
        )

    def propose_comps(self, until: int, probability: float = 1.0) -> None:
        """The agent proposes the offer between entering compensation and ``until`` (once)."""
        rng = self.rng
        if any(not c["quick_refund"] for c in self.comps) or not self.offer or rng.random() >= probability:
            return
        at = self.entered + int((until - self.entered) * rng.uniform(0.1, 0.7))
        actor = self.agent()
        for kind, fen in self.offer:
            self.comps.append(_comp(kind, fen, CS.PROPOSED, by=actor, at=at))
        self.working.append(at)
        self.versions += len(self.offer)

    def main_category_id(self) -> int | None:
        if not self.case_lines:
            return None
        return max(self.case_lines, key=lambda pair: pair[0]["_price"] * pair[1])[0]["category_id"]

    def sla_breach_stamp(self, opened: int, resolution_minutes: int | None, stamps: dict) -> datetime | None:
        return _sla_breach_stamp(self, opened, resolution_minutes, stamps)

    def submit_if_over_authority(self, until: int, *, always: bool = False) -> None:
        """An offer above its agent's authority goes to a supervisor (``case_submit_offer`` → ``submit_offer``).

        ``always``: the story ends waiting for a supervisor, so an offer within the authority gets a cash
        goodwill item that takes it above (as an agent asking for more than they may grant would).
        """
        pending = [c for c in self.comps if c["state"] == CS.PROPOSED]
        if not pending and not always:
            return
        proposer = next((a for a in self.ref.agents if pending and a.id == pending[0]["proposed_by_id"]), None)
        if proposer is None:
            if not always:
                return
            proposer = self.agent()
        limit = proposer.authority if proposer.authority is not None else self.version.default_agent_authority

        def total() -> Decimal:
            live = [c for c in self.comps if c["state"] in (CS.PROPOSED, CS.APPROVED) and not c["quick_refund"]]
            return cents(sum(c["_fen"] for c in live))

        if total() <= limit:
            if not always:
                return
            extra = int((limit - total()) * 100) + self.rng.randint(1, 30) * 1000
            proposed = pending[0]["proposed_at"] if pending else self.entered + (until - self.entered) // 3
            comp = _comp(K.CASH, extra, CS.PROPOSED, by=proposer, at=proposed)
            self.comps.append(comp)
            pending.append(comp)
            self.versions += 1
        at = min(until, max(c["proposed_at"] for c in pending) + self.rng.randint(MINUTE, 15 * MINUTE))
        note = cat.APPROVAL_REQUEST_NOTE.format(total=total(), limit=limit)
        data = {"total": str(total()), "authority": str(limit), "compensations": []}
        self.chunk.patches.append((data, "compensations", pending))
        self.go("submit_offer", S.AWAITING_APPROVAL, at - self.t, proposer, note, data)

    def make_payable(self, at: int) -> list[dict]:
        """On acceptance: approved compensations become payable; finance pays most later."""
        payable = [c for c in self.comps if c["state"] == CS.APPROVED and not c["payable"]]
        for comp in payable:
            comp["payable"], comp["payable_at"] = True, at
            self.request_settlement(comp, at)
            self.pay_later.append((comp, self.rng.randint(30 * MINUTE, 72 * HOUR)))
        return payable

    def request_settlement(self, comp: dict, at: int) -> None:
        """A refund on a channel whose policy has the channel settle refunds is requested from it (as the service)."""
        if comp["kind"] != K.REFUND or self.version.refund_settlement != Settlement.CHANNEL:
            return
        comp["settlement"] = Settlement.CHANNEL
        comp["settlement_requested_at"] = at
        comp["settlement_due_at"] = at + self.version.settlement_timeout_hours * HOUR
        self.comp_event(at, EventName.COMPENSATION_SETTLEMENT_REQUESTED, None, comp)

    # -- walk --------------------------------------------------------------------
    def walk(self) -> None:
        for step in self.path:
            name, _, arg = step.partition(":")
            getattr(self, f"step_{name}")(arg)
        # An offer waiting for a supervisor is sent when the case is placed in time (``submit_if_over_authority``).
        if self.state != (S.COMPENSATION if self.target == S.AWAITING_APPROVAL else self.target):
            raise RuntimeError(f"demo path {self.path} ended in {self.state}, not {self.target}")

    def step_approve(self, _arg) -> None:
        rng, version = self.rng, self.version
        timeout = version.review_timeout_hours * HOUR
        target = S.AWAITING_RETURN if self.goods else S.COMPENSATION
        if rng.random() < 0.15:
            name, actor, delay = "auto_approve", None, timeout + rng.randint(MINUTE, 30 * MINUTE)
            note = f"审核超时（{version.review_timeout_hours}小时）未处理，系统默认同意。"
        else:
            name, actor, note = "approve", self.agent(), ""
            delay = int(10 * MINUTE + rng.random() ** 2 * timeout * 0.8)
        data = {}
        if self.quick:
            at = self.t + delay
            comp = _comp(K.REFUND, self.value, CS.APPROVED, by=actor, at=at, approved=True, payable_at=at, quick=True)
            self.comps.append(comp)
            self.comp_event(at, EventName.COMPENSATION_QUICK_REFUND, actor, comp)
            self.request_settlement(comp, at)
            data["quick_refund"] = str(comp["amount"])
            if "inspect:fault" not in self.path:
                self.pay_later.append((comp, rng.randint(10 * MINUTE, 24 * HOUR)))
        self.go(name, target, delay, actor, note, data)
        self.stamps["approved_at"] = self.t

    def step_reject(self, _arg) -> None:
        rng = self.rng
        actor = self.agent() if rng.random() < 0.8 else self.supervisor
        self.reject_reason = cat.REJECT_LATE if self.late else rng.choice(cat.REJECT_REASONS[self.leaf.attribution])
        delay = int(30 * MINUTE + rng.random() * self.version.review_timeout_hours * HOUR * 0.7)
        self.go("reject", S.REJECTED, delay, actor, self.reject_reason)
        self.stamps["closed_at"] = self.t

    def _parcel(self) -> None:
        rng = self.rng
        self.carrier, prefix, digits = rng.choice(cat.CARRIERS)
        self.tracking = f"{prefix}{rng.randrange(10 ** (digits - 1), 10**digits)}"

    def step_ship(self, _arg) -> None:
        """The customer reports the parcel (``case_ship_return``): the case waits on the carrier."""
        rng = self.rng
        self._parcel()
        pickup = self.version.pickup_offered and rng.random() < 0.3
        delay = rng.randint(2 * HOUR, int(self.version.return_ship_days * DAY * 0.6))
        actor = self.customer_side(0.85)
        data = {"carrier": self.carrier, "tracking_number": self.tracking, "pickup": pickup, "shipment": None}
        self.go("ship_return", S.RETURN_SHIPPED, delay, actor, "", data)
        self.shipment = {
            "direction": Shipment.Direction.RETURN,
            "carrier": self.carrier,
            "tracking_number": self.tracking,
            "pickup": pickup,
            "status": rng.choice(cat.PARCEL_STATUSES),
            "active": True,
            "reported_by_id": actor.id,
            "created_at": self.t,
            "replaced_at": None,
            "delivered_at": None,
            "stuck_alerted_at": None,
        }
        self.chunk.patches.append((data, "shipment", self.shipment))  # the event names the row, as the service does

    def emit_shipment(self, case: dict, opened: int) -> None:
        """The return parcel, with the carrier's scans while the case is open (its status is its latest scan)."""
        rng, chunk, shipment = self.rng, self.chunk, self.shipment
        shipment["case_id"] = case
        start = shipment["created_at"]
        received = shipment["delivered_at"]
        end = received if received is not None else self.gen.now_ts - opened
        steps = [] if self.state in FINAL_STATES else cat.PARCEL_PATHS[shipment["status"]]
        city = rng.choice(cat.PARCEL_CITIES)
        scans = []
        for i, status in enumerate(steps):
            t = start + int((end - start) * (i + rng.uniform(0.4, 0.9)) / len(steps))
            description = rng.choice(cat.PARCEL_SCANS[status]).format(city=city)
            place = cat.WAREHOUSE_CITY if status in ("out_for_delivery", "delivered") else city
            scans.append(
                {"shipment_id": shipment, "at": t, "status": status, "place": place, "description": description}
            )
        quiet = scans[-1]["at"] if scans else start
        shipment["quiet_since"] = quiet
        shipment["last_scan_at"] = scans[-1]["at"] if scans else None
        if received is None and shipment["status"] == Shipment.Status.DELIVERED:
            shipment["delivered_at"] = quiet  # arrived, not received yet
        stuck = quiet + self.version.parcel_stuck_days * DAY
        if shipment["delivered_at"] is None and stuck < end:
            shipment["stuck_alerted_at"] = stuck  # alerted when it happened: no sweep re-alerts the past
        for key in ("created_at", "delivered_at", "quiet_since", "last_scan_at", "stuck_alerted_at"):
            if shipment.get(key) is not None:
                shipment[key] = to_dt(opened + shipment[key])
        for scan in scans:
            scan["at"] = scan["recorded_at"] = to_dt(opened + scan["at"])
        chunk.shipments.append(shipment)
        chunk.scans.extend(scans)

    def step_receive(self, _arg) -> None:
        rng = self.rng
        if self.shipment is None:
            self._parcel()
            delay = rng.randint(DAY // 2, self.version.return_ship_days * DAY - HOUR)
        else:
            delay = rng.randint(DAY // 2, self.version.return_transit_days * DAY - HOUR)
        data = {"tracking_number": self.tracking, "carrier": self.carrier}
        self.go("receive", S.IN_QC, delay, rng.choice(self.ref.qc), "", data)
        self.stamps["received_at"] = self.t
        if self.shipment is not None:
            self.shipment["status"], self.shipment["delivered_at"] = Shipment.Status.DELIVERED, self.t

    def step_inspect(self, arg) -> None:
        rng = self.rng
        fault = arg == "fault"
        if fault:
            grade, disposition, findings = rng.choice(cat.QC_CUSTOMER_FAULT)
            party = Inspection.Party.CUSTOMER
        else:
            grade, party, disposition, findings = rng.choice(cat.QC_FINDINGS[self.leaf.group])
        inspector = rng.choice(self.ref.qc)
        delay = rng.randint(2 * HOUR, int(self.version.qc_timeout_hours * HOUR * 0.9))
        data = {"inspection": None, "grade": grade, "responsible_party": party}
        self.go("inspect", S.REJECTED if fault else S.COMPENSATION, delay, inspector, findings, data)
        self.inspection = {
            "grade": grade,
            "findings": findings,
            "responsible_party": party,
            "disposition": disposition,
            "inspector_id": inspector.id,
            "inspected_at": self.t,
        }
        self.chunk.patches.append((data, "inspection", self.inspection))
        self.stamps["inspected_at"] = self.t
        if fault:
            self.reject_reason = findings
            self.stamps["closed_at"] = self.t
            if self.quick:  # flagged for recovery; a supervisor voids the unpaid quick refund
                data["quick_refund_recovery"] = True
                at = self.t + rng.randint(HOUR, 8 * HOUR)
                for comp in self.comps:
                    comp["state"], comp["payable"], comp["decision_note"] = CS.VOIDED, False, cat.QUICK_REFUND_VOID_NOTE
                    self.comp_event(at, EventName.COMPENSATION_VOID, self.supervisor, comp, cat.QUICK_REFUND_VOID_NOTE)
                self.working.append(at)
                self.versions += 1

    def step_propose(self, _arg) -> None:
        rng, version = self.rng, self.version
        delay = rng.randint(30 * MINUTE, max(31 * MINUTE, int(version.proposal_timeout_hours * HOUR * 0.9)))
        at = self.t + delay
        self.propose_comps(at)
        actor = self.agent()
        live = [c for c in self.comps if c["state"] in (CS.PROPOSED, CS.APPROVED)]
        pending = [c for c in live if c["state"] == CS.PROPOSED]
        total = sum(c["_fen"] for c in live if not c["quick_refund"])
        limit = actor.authority if actor.authority is not None else version.default_agent_authority
        approved = pending
        if pending and actor in self.ref.agents and cents(total) > limit:
            # Over the agent's authority: a supervisor approves first (compensation_approve).
            approver, approved_at, approved = self.supervisor, at - rng.randint(MINUTE, 20 * MINUTE), []
            self.working.append(approved_at)
            self.versions += len(pending)
        else:
            approver, approved_at = actor, at
        for comp in pending:
            comp["state"], comp["approved_by_id"], comp["approved_at"] = CS.APPROVED, approver.id, approved_at
        note = "；".join(f"{cat.COMPENSATION_NOTES[c['kind']]}¥{c['amount']}" for c in live if not c["quick_refund"])
        if note:
            note += "。"
        elif self.rtype == RT.REPAIR:
            note = cat.REPAIR_OFFER
        elif live:
            note = cat.QUICK_REFUND_OFFER.format(amount=live[0]["amount"])
        else:
            note = cat.NO_COMPENSATION_OFFER
        if self.rtype == RT.REPAIR and note != cat.REPAIR_OFFER:
            note = cat.REPAIR_OFFER + note
        data = {"total": str(cents(sum(c["_fen"] for c in live))), "approved": []}
        self.chunk.patches.append((data, "approved", approved))
        self.go("propose", S.AWAITING_CONFIRMATION, delay, actor, note, data)
        self.stamps["proposed_at"] = self.t

    def step_confirm(self, _arg) -> None:
        rng, version = self.rng, self.version
        timeout = version.confirm_timeout_hours * HOUR
        if rng.random() < 0.2:
            name, actor, delay = "auto_confirm", None, timeout + rng.randint(MINUTE, 30 * MINUTE)
            note = f"顾客{version.confirm_timeout_hours}小时内未答复，系统默认接受方案。"
        else:
            name, actor = "confirm", self.customer_side()
            delay, note = rng.randint(10 * MINUTE, int(timeout * 0.9)), rng.choice(cat.CONFIRM_NOTES)
        goods_out = any(c["kind"] in OUTBOUND_KINDS and c["state"] in (CS.APPROVED, CS.PAID) for c in self.comps)
        data = {"payable": [], "goods_out": goods_out}
        self.chunk.patches.append((data, "payable", self.make_payable(self.t + delay)))
        self.go(name, S.AWAITING_DISPATCH if goods_out else S.CLOSED, delay, actor, note, data)
        if not goods_out:
            self.stamps["closed_at"] = self.t

    def step_dispatch(self, _arg) -> None:
        """The warehouse sends the replacement (``case_send_goods``): an outbound parcel."""
        rng = self.rng
        carrier, prefix, digits = rng.choice(cat.CARRIERS)
        tracking = f"{prefix}{rng.randrange(10 ** (digits - 1), 10**digits)}"
        delay = rng.randint(2 * HOUR, int(self.version.dispatch_timeout_hours * HOUR * 0.8))
        actor = rng.choice(self.ref.qc)
        data = {"shipment": None, "carrier": carrier, "tracking_number": tracking}
        self.go("send_goods", S.AWAITING_DELIVERY, delay, actor, "", data)
        self.outbound = {
            "direction": Shipment.Direction.OUTBOUND,
            "carrier": carrier,
            "tracking_number": tracking,
            "pickup": False,
            "status": Shipment.Status.IN_TRANSIT,
            "active": True,
            "reported_by_id": actor.id,
            "created_at": self.t,
            "replaced_at": None,
            "delivered_at": None,
            "stuck_alerted_at": None,
            "quiet_since": self.t,
            "last_scan_at": None,
        }
        self.chunk.patches.append((data, "shipment", self.outbound))

    def step_deliver(self, _arg) -> None:
        """The carrier delivered it (a tracking scan, ``case_deliver``): the customer's confirmation clock runs."""
        delay = self.rng.randint(DAY, int(self.version.delivery_days * DAY * 0.8))
        self.go("deliver", S.AWAITING_RECEIPT, delay, None, "已签收：本人签收", {})
        self.outbound["status"] = Shipment.Status.DELIVERED
        self.outbound["delivered_at"] = self.outbound["quiet_since"] = self.t

    def step_receipt(self, _arg) -> None:
        """The customer has the goods (``case_confirm_receipt``)."""
        rng = self.rng
        delay = rng.randint(DAY, 4 * DAY)
        self.go("confirm_receipt", S.CLOSED, delay, self.customer_side(), "", {})
        self.stamps["closed_at"] = self.t
        if self.outbound["delivered_at"] is None:
            self.outbound["status"] = Shipment.Status.DELIVERED
            self.outbound["delivered_at"] = self.outbound["quiet_since"] = self.t - rng.randint(HOUR, 12 * HOUR)

    def step_cancel(self, _arg) -> None:
        version = self.version
        limit = (
            version.review_timeout_hours * HOUR if self.state == S.PENDING_REVIEW else version.return_ship_days * DAY
        )
        delay = self.rng.randint(20 * MINUTE, int(limit * 0.9))
        self.go("cancel", S.CANCELLED, delay, self.customer_side(), self.rng.choice(cat.CANCEL_NOTES))
        self.stamps["closed_at"] = self.t

    def step_escalate(self, _arg) -> None:
        rng, ref = self.rng, self.ref
        if self.state == S.COMPENSATION:
            self.propose_comps(self.t + HOUR, probability=0.7)
        roll = rng.random()
        if roll < 0.4:
            actor, note = self.supervisor, rng.choice(cat.ESCALATE_NOTES)
        elif roll < 0.7:
            actor, note = ref.channel_accounts[self.channel], rng.choice(cat.ESCALATE_NOTES)
        else:
            actor, note = None, cat.ESCALATE_SYSTEM_NOTE
        self.escalated_from = self.state
        clock = self.gen.clock_seconds(self.state, self.version)
        delay = rng.randint(HOUR, max(HOUR + 1, int(min(clock, 2 * DAY) * 0.9)))
        self.go("escalate", S.ESCALATED, delay, actor, note)
        self.stamps["escalated_at"] = self.t
        # A supervisor takes it over in the escalation (or crisis) queue: case_update.
        old_queue, old_assignee = self.queue, self.assignee
        crisis = self.urgency == 5 or bool(self.customer["risk_flags"])
        self.queue = ref.queues["crisis" if crisis else "escalation"]
        self.assignee = self.supervisor
        self.t += rng.randint(5 * MINUTE, 2 * HOUR)
        changes = {
            "queue": [old_queue.name, self.queue.name],
            "assignee": [old_assignee.username if old_assignee else "", self.supervisor.username],
        }
        self.events.append(
            [
                self.t,
                CaseEvent.Kind.ASSIGNMENT,
                EventName.UPDATE,
                "",
                "",
                self.supervisor.id,
                "转主管处理",
                {"changes": changes},
            ]
        )
        self.working.append(self.t)
        self.versions += 1

    def step_resolve(self, decision) -> None:
        rng = self.rng
        delay = rng.randint(2 * HOUR, int(self.version.escalation_timeout_hours * HOUR * 0.9))
        at = self.t + delay
        data = {"decision": decision}
        if decision == S.CLOSED:
            data["payable"] = []
            self.chunk.patches.append((data, "payable", self.make_payable(at)))
        elif decision == S.REJECTED:
            voided = [c for c in self.comps if c["state"] in (CS.PROPOSED, CS.APPROVED) and not c["payable"]]
            for comp in voided:
                comp["state"], comp["decision_note"] = CS.VOIDED, cat.RESOLVE_VOID_NOTE
                self.comp_event(at, EventName.COMPENSATION_VOID, self.supervisor, comp, cat.RESOLVE_VOID_NOTE)
            data["voided"] = []
            self.chunk.patches.append((data, "voided", voided))
        note = cat.RESOLVE_NOTES[decision]
        self.go("resolve_escalation", decision, delay, self.supervisor, note, data)
        if decision in (S.CLOSED, S.REJECTED):
            self.stamps["closed_at"] = self.t
        if decision == S.REJECTED:
            self.reject_reason = note

    # -- place in time -----------------------------------------------------------
    def place(self) -> None:
        """Finished cases opened over the past year; open ones recently, part-way through their stage clock."""
        rng, gen = self.rng, self.gen
        end = max(self.t, max(e[0] for e in self.events) if self.events else 0)
        if self.state in FINAL_STATES:
            horizon = end + 4 * DAY  # payouts and the rating come later
            self.opened_ts = gen.now_ts - rng.randint(horizon, max(horizon + DAY, YEAR))
            self.waiting_on, self.due = WaitingOn.NOBODY, None
        else:
            clock = gen.clock_seconds(self.state, self.version)
            # pending_review and awaiting_confirmation are swept when their clock runs out
            share = 0.95 if self.state in (S.PENDING_REVIEW, S.AWAITING_CONFIRMATION) else 1.4
            dwell = max(end - self.entered + MINUTE, rng.randint(5 * MINUTE, int(clock * share)))
            story_end = self.entered + dwell
            if self.state == S.COMPENSATION:
                waits = self.target == S.AWAITING_APPROVAL
                self.propose_comps(story_end, probability=1.0 if waits else 0.7)
                self.submit_if_over_authority(story_end, always=waits)
            self.opened_ts = gen.now_ts - story_end
            self.waiting_on, self.due = stage_clock(self.state, self.version, to_dt(self.opened_ts + self.entered))
        now = gen.now_ts - self.opened_ts
        serial = 0
        for comp, delay in self.pay_later:
            paid = comp["payable_at"] + delay
            if paid < now and rng.random() < (0.85 if comp["quick_refund"] else 0.7):
                serial += 1
                comp["state"], comp["paid_at"], comp["_serial"] = CS.PAID, paid, serial
                # The channel reports the refunds it settles; finance pays the rest.
                channel_settled = comp["settlement"] == Settlement.CHANNEL
                payer = self.ref.channel_accounts[self.channel] if channel_settled else rng.choice(self.ref.finance)
                comp["paid_by_id"] = payer.id
                self.comp_event(paid, EventName.COMPENSATION_MARK_PAID, payer, comp, None)

    # -- emit --------------------------------------------------------------------
    def emit(self) -> None:
        rng, gen, chunk = self.rng, self.gen, self.chunk
        opened = self.opened_ts
        gen._date_order(
            chunk,
            self.order,
            opened - self.placed_before,
            None if self.delivered_before is None else opened - self.delivered_before,
        )
        stamps = self.stamps
        csat = nps = rated = None
        if self.state == S.CLOSED and rng.random() < 0.6:
            csat = gen.pick_csat(rng)
            nps = min(10, max(0, csat * 2 + rng.randint(-2, 1)))
            rated = to_dt(opened + stamps["closed_at"] + rng.randint(HOUR, 3 * DAY))
        evidence = []
        if self.leaf.attribution in (Attribution.PRODUCT_QUALITY, Attribution.SERVICE) and rng.random() < 0.7:
            evidence = [f"evidence/{rng.getrandbits(40):010x}.jpg" for _ in range(rng.randint(1, 3))]

        def at(key: str) -> datetime | None:
            return to_dt(opened + stamps[key]) if key in stamps else None

        priority = initial_priority(
            urgency=self.urgency, is_vip=self.is_vip, claim_value=cents(self.value), request_type=self.rtype
        )
        first_minutes, resolution_minutes = gen.sla.get(priority, (None, None))

        case = {
            "number": None,  # reserved when the chunk is written
            "order_id": self.order,
            "customer_id": self.customer,
            "request_type": self.rtype,
            "category_id": self.leaf.id,
            "reason": rng.choice(self.leaf.reasons).format(product=self.product),
            "evidence": evidence,
            "main_category_id": self.main_category_id(),
            "channel": self.channel,
            "urgency": self.urgency,
            "priority": priority,
            "vip": self.is_vip,
            "queue_id": self.queue.pk,
            "assignee_id": self.assignee.id if self.assignee else None,
            "state": self.state,
            "escalated_from": self.escalated_from,
            "policy_id": self.policy.pk,
            "policy_version_id": self.version.pk,
            "quick_refund": self.quick and "approve" in self.path,
            "return_carrier": self.carrier,
            "return_tracking_number": self.tracking,
            "reject_reason": self.reject_reason,
            "csat": csat,
            "nps": nps,
            "rated_at": rated,
            "opened_at": to_dt(opened),
            "first_response_at": to_dt(opened + min(self.working)) if self.working else None,
            "approved_at": at("approved_at"),
            "received_at": at("received_at"),
            "inspected_at": at("inspected_at"),
            "proposed_at": at("proposed_at"),
            "escalated_at": at("escalated_at"),
            "closed_at": at("closed_at"),
            "stage_due_at": self.due,
            "first_response_due_at": to_dt(opened + first_minutes * MINUTE) if first_minutes else None,
            "resolution_due_at": to_dt(opened + resolution_minutes * MINUTE) if resolution_minutes else None,
            # Deadlines already handled when the data was made: no sweep re-alerts the past.
            "first_response_breached_at": to_dt(opened + first_minutes * MINUTE)
            if first_minutes
            and (not self.working or min(self.working) > first_minutes * MINUTE)
            and opened + first_minutes * MINUTE < gen.now_ts
            else None,
            "sla_breached_at": self.sla_breach_stamp(opened, resolution_minutes, stamps),
            "waiting_on": self.waiting_on,
            "version": self.versions,
        }
        chunk.cases.append(case)
        chunk.case_ts.append(opened)
        for line, qty in self.case_lines:
            chunk.case_lines.append({"case_id": case, "order_line_id": line, "quantity": qty})
        main_line = max(self.case_lines, key=lambda pair: pair[0]["_price"] * pair[1])[0] if self.case_lines else None
        goods = {"product": main_line.get("_product", ""), "sku": main_line["sku"]} if main_line else {}
        for word in gen.keywords_of(case["reason"], **goods):
            chunk.keywords.append(
                {
                    "case_id": case,
                    "word": word,
                    "opened_at": case["opened_at"],
                    "product_category_id": main_line["category_id"] if main_line else None,
                    "sku": main_line["sku"] if main_line else "",
                }
            )
        if self.shipment is not None:
            self.emit_shipment(case, opened)
        if self.outbound is not None:
            self.outbound["case_id"] = case
            for key in ("created_at", "delivered_at", "quiet_since"):
                if self.outbound[key] is not None:
                    self.outbound[key] = to_dt(opened + self.outbound[key])
            self.chunk.shipments.append(self.outbound)
        if self.inspection is not None:
            self.inspection["case_id"] = case
            self.inspection["inspected_at"] = to_dt(opened + self.inspection["inspected_at"])
            chunk.inspections.append(self.inspection)
        for comp in self.comps:
            comp["case_id"] = case
            for key in (
                "proposed_at",
                "approved_at",
                "payable_at",
                "paid_at",
                "settlement_requested_at",
                "settlement_due_at",
            ):
                if comp[key] is not None:
                    comp[key] = to_dt(opened + comp[key])
            chunk.compensations.append(comp)

        opened_by = self.customer_side(0.75)
        claim = {"lines": [], "claim_value": str(cents(self.value))}
        chunk.patches.append((claim, "lines", self.case_lines))
        events = chunk.events
        events.append(
            {
                "case_id": case,
                "kind": CaseEvent.Kind.OPENED,
                "name": EventName.OPEN,
                "from_state": "",
                "to_state": S.PENDING_REVIEW,
                "actor_id": opened_by.id,
                "note": case["reason"],
                "data": claim,
                "created_at": case["opened_at"],
                **NO_WAIT,
            }
        )
        if self.working and rng.random() < 0.5:
            # The agent's first answer came from the template library (a reply and its template use).
            template = gen.ack_template_for(
                rng, rtype=self.rtype, category=case["main_category_id"], channel=self.channel, vip=self.is_vip
            )
            if template is not None:
                note = cat.TEMPLATE_REPLY_NOTE
                data = {"template": template[2], "version": template[1], "_use": template}
                self.events.append(
                    [min(self.working), CaseEvent.Kind.REPLY, EventName.REPLY, "", "", self.agent().id, note, data]
                )
        self.events.sort(key=_first)  # stable: same-time events keep the services' order
        entered = 0  # when the case entered its state (the opening, then each transition), as the service stores it
        for t, kind, name, before, after, actor_id, note, data in self.events:
            if kind == CaseEvent.Kind.REPLY and "_use" in data:
                template = data.pop("_use")
                event = {
                    "case_id": case,
                    "kind": kind,
                    "name": name,
                    "from_state": "",
                    "to_state": "",
                    "actor_id": actor_id,
                    "note": note,
                    "data": data,
                    "created_at": to_dt(opened + t),
                    **NO_WAIT,
                }
                events.append(event)
                chunk.template_uses.append(
                    {
                        "template_id": template[0],
                        "version_id": template[1],
                        "case_id": case,
                        "event_id": event,
                        "actor_id": actor_id,
                        "edited": rng.random() < 0.3,
                        "used_at": event["created_at"],
                    }
                )
                continue
            if kind == CaseEvent.Kind.COMPENSATION and isinstance(data, tuple):
                comp, state = data
                data = {"compensation": None, "kind": comp["kind"], "amount": str(comp["amount"]), "state": state}
                chunk.patches.append((data, "compensation", comp))
                if note is None:
                    note = comp  # replaced by its payout reference once numbered
            event = {
                "case_id": case,
                "kind": kind,
                "name": name,
                "from_state": before,
                "to_state": after,
                "actor_id": actor_id,
                "note": note,
                "data": data,
                "created_at": to_dt(opened + t),
                **NO_WAIT,
            }
            if kind == CaseEvent.Kind.TRANSITION:
                event["wait_seconds"] = float(t - entered)
                event["wait_weekday"], event["wait_hour"] = gen.local_weekday_hour(opened + entered)
                entered = t
            events.append(event)


#: The wait fields of an event that is not a transition (every row of a COPY has the same columns).
NO_WAIT = {"wait_seconds": None, "wait_weekday": None, "wait_hour": None}


def _first(item):
    return item[0]


def _sla_breach_stamp(story, opened: int, resolution_minutes: int | None, stamps: dict) -> datetime | None:
    """When the resolution target was missed, if it was (the sweep's mark, so it does not fire again)."""
    if not resolution_minutes:
        return None
    due = opened + resolution_minutes * MINUTE
    finished = opened + stamps["closed_at"] if "closed_at" in stamps else None
    if due >= story.gen.now_ts or (finished is not None and finished <= due):
        return None
    return to_dt(due)


def _comp(
    kind: str,
    fen: int,
    state: str,
    *,
    by: Staff | None,
    at: int,
    approved: bool = False,
    payable_at: int | None = None,
    quick: bool = False,
) -> dict:
    """A compensation row (times relative to the opening until the case is placed)."""
    by_id = by.id if by else None
    return {
        "case_id": None,
        "kind": kind,
        "amount": cents(fen),
        "state": state,
        "note": cat.QUICK_REFUND_NOTE if quick else cat.COMPENSATION_NOTES[kind],
        "quick_refund": quick,
        "payable": payable_at is not None,
        "payable_at": payable_at,
        "proposed_by_id": by_id,
        "proposed_at": at,
        "approved_by_id": by_id if approved else None,
        "approved_at": at if approved else None,
        "paid_by_id": None,
        "paid_at": None,
        "settlement": Settlement.FINANCE,
        "settlement_requested_at": None,
        "settlement_due_at": None,
        "payout_reference": None,
        "decision_note": "",
        "_fen": fen,
        "_serial": 0,
    }


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------

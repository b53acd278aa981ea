"""Realistic Chinese demo data (``manage.py seed_demo``, ``manage.py create_demo_users``).

Reference data (product and problem categories, queues, policies, a staff
pool) is created idempotently with ordinary ORM saves (``demo.reference``). The bulk data
(customers, orders, cases with their lines, events, inspections and
compensations) is generated in chunks of ``batch`` cases, each chunk written
in its own transaction with bulk inserts, so a million cases take minutes.

Every case gets a history that the workflow could have produced (``demo.story``): an
``opened`` event, then one ``transition`` event per step of a legal path
through ``docs/workflow.md`` to the case's state, with increasing times,
actors from the pool and the case's own timestamps, stage clock, inspection
and compensations to match. Case numbers come from the same per-day counters
(``CaseNumberSequence``) that ``case_open`` uses, reserved under a row lock.

The generator works on plain dicts keyed by column attname; a row refers to
its parent by holding the parent's dict, resolved to the id once the parent
is inserted. ``aftersales.demo.writers`` writes them: ``bulk_create``, or
binary COPY on PostgreSQL, where the run is also pipelined (this thread
generates chunks while writer threads on their own connections write them):
1,000,000 cases in 6–7.5 minutes on 2 cores.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max
from django.db.models.functions import Length, Substr
from django.utils import timezone

from aftersales.automation.radar import catalogue_words, keywords
from aftersales.demo import catalog as cat
from aftersales.demo.common import CS, DAY, HOUR, RT, YEAR, FastRandom, K, S, Weighted, cents, to_dt
from aftersales.demo.reference import (
    PAYOUT_PREFIX,
    SHOP_ORDERS,
    Leaf,
    Reference,
    ensure_reference_data,
    import_shop_orders,
)
from aftersales.demo.story import Story
from aftersales.demo.writers import make_writer, pipelined
from aftersales.models import (
    GOODS_RETURN_TYPES,
    Attribution,
    Case,
    CaseEvent,
    CaseKeyword,
    CaseLine,
    CaseNumberSequence,
    Compensation,
    HealthReport,
    Inspection,
    ResponseTemplate,
    Shipment,
    ShipmentEvent,
    SlaPolicy,
    TemplateUse,
)
from aftersales.services.numbers import format_case_number
from aftersales.workflow.transitions import stage_clock
from customers.models import Channel, Customer, Order, OrderLine, ProductCategory

DEFAULT_CASES = 400
DEFAULT_SEED = 2026
DEFAULT_BATCH = 5000
#: Writer threads (connections) of a pipelined run: while one waits for the server, another formats rows.
PIPELINE_WRITERS = 2

STATE_WEIGHTS = {
    S.PENDING_REVIEW: 8,
    S.AWAITING_RETURN: 5,
    S.RETURN_SHIPPED: 4,
    S.IN_QC: 5,
    S.COMPENSATION: 5,
    S.AWAITING_APPROVAL: 1,
    S.AWAITING_CONFIRMATION: 5,
    S.AWAITING_DISPATCH: 1,
    S.AWAITING_DELIVERY: 1,
    S.AWAITING_RECEIPT: 1,
    S.ESCALATED: 2,
    S.CLOSED: 52,
    S.REJECTED: 6,
    S.CANCELLED: 5,
}
TYPE_WEIGHTS = {
    RT.RETURN_REFUND: 38,
    RT.REFUND_ONLY: 22,
    RT.EXCHANGE: 14,
    RT.COMPLAINT: 10,
    RT.PRICE_ADJUSTMENT: 9,
    RT.REPAIR: 7,
}
GOODS_TYPE_WEIGHTS = {t: w for t, w in TYPE_WEIGHTS.items() if t in GOODS_RETURN_TYPES}
CHANNEL_WEIGHTS = {Channel.APP: 45, Channel.MINI_PROGRAM: 25, Channel.LIVE_STREAM: 20, Channel.WEB: 10}
URGENCY_WEIGHTS = {1: 10, 2: 25, 3: 40, 4: 17, 5: 8}


class _Chunk:
    """Rows of one chunk, in insertion order."""

    def __init__(self):
        self.customers: list[dict] = []
        self.customer_since: list[int] = []
        self.orders: list[dict] = []
        self.order_lines: list[dict] = []
        self.cases: list[dict] = []
        self.case_ts: list[int] = []  # opened_at as epoch seconds, parallel to cases
        self.case_lines: list[dict] = []
        self.keywords: list[dict] = []
        self.template_uses: list[dict] = []
        self.inspections: list[dict] = []
        self.shipments: list[dict] = []
        self.scans: list[dict] = []
        self.compensations: list[dict] = []
        self.events: list[dict] = []
        #: (dict, key, row or rows): set dict[key] to the id(s) once inserted
        self.patches: list[tuple[dict, str, object]] = []


class DemoGenerator:
    def __init__(self, ref: Reference, *, seed: int, now: datetime | None = None):
        self.ref = ref
        self.rng = FastRandom(seed)
        self.now = (now or timezone.now()).replace(microsecond=0)
        self.now_ts = int(self.now.timestamp())
        self.tz = timezone.get_current_timezone()
        self._days: dict = {}
        self._weekday_hours: dict = {}
        self.pick_state = Weighted(STATE_WEIGHTS)
        self.pick_type = Weighted(TYPE_WEIGHTS)
        self.pick_goods_type = Weighted(GOODS_TYPE_WEIGHTS)
        self.pick_channel = Weighted(CHANNEL_WEIGHTS)
        self.pick_urgency = Weighted(URGENCY_WEIGHTS)
        self.pick_pcat = Weighted(cat.PRODUCT_CATEGORY_WEIGHTS)
        self.pick_lines = Weighted({1: 60, 2: 30, 3: 10})
        self.pick_qty = Weighted({1: 70, 2: 22, 3: 8})
        self.pick_csat = Weighted({1: 3, 2: 5, 3: 12, 4: 35, 5: 45})
        self.leaves_for_type = {
            rtype: Weighted([(leaf, leaf.types[rtype] * 10) for leaf in ref.leaves if rtype in leaf.types])
            for rtype in RT.values
        }
        self.agents_by_skill = defaultdict(list)
        for agent in ref.agents:
            for code in agent.skills:
                self.agents_by_skill[code].append(agent)
        #: The first cases of a run take every state once, so even a small run shows them all.
        self.forced_states = list(reversed(STATE_WEIGHTS))
        self.agents_by_id = {agent.id: agent for agent in ref.agents}
        self.working_ids = {s.id for s in (*ref.agents, *ref.qc, *ref.supervisors)}
        self.order_counters = self._order_counters()
        self._keywords: dict[str, list[str]] = {}  # reasons repeat: segment each text once
        self._category_names: list[str] | None = None
        #: acknowledge templates an agent may answer a new case with: (id, version id, code, title, rtype, category, channel, segment)
        versions = {}
        for template_id, history_id in ResponseTemplate.history.order_by(
            "id", "-history_date", "-history_id"
        ).values_list("id", "history_id"):
            versions.setdefault(template_id, history_id)
        self.ack_templates = [
            (t.pk, versions[t.pk], t.code, t.title, t.request_type, t.product_category_id, t.channel, t.segment)
            for t in ResponseTemplate.objects.filter(active=True, scenario=ResponseTemplate.Scenario.ACKNOWLEDGE)
            if t.pk in versions
        ]
        #: priority → (first-response, resolution) minutes, as case_open sets the SLA deadlines.
        self.sla = {
            sla.priority: (sla.first_response_minutes, sla.resolution_minutes)
            for sla in SlaPolicy.objects.filter(active=True)
        }

    def ack_template_for(self, rng, *, rtype: str, category: int | None, channel: str, vip: bool):
        """A fitting acknowledge template (the most specific is likelier), or None."""
        fits = [
            t
            for t in self.ack_templates
            if t[4] in ("", rtype)
            and t[5] in (None, category)
            and t[6] in ("", channel)
            and t[7] in ("", "vip" if vip else "regular")
        ]
        if not fits:
            return None
        weights = [1 + 2 * bool(t[4]) + 2 * bool(t[5]) + bool(t[6]) + 2 * bool(t[7]) for t in fits]
        return rng.choices(fits, weights)[0]

    def keywords_of(self, reason: str, *, product: str = "", sku: str = "") -> list[str]:
        """The reason's defect keywords: the goods' own words (product, SKU, the product categories) left out."""
        words = self._keywords.get(reason)
        if words is None:
            if self._category_names is None:
                self._category_names = list(ProductCategory.objects.values_list("name", flat=True))
            goods = catalogue_words([product, *self._category_names], [sku])
            words = self._keywords[reason] = keywords(reason, exclude=goods)
        return words

    # -- numbers -----------------------------------------------------------
    def _order_counters(self) -> dict[str, int]:
        """Last counter per day of existing ``DD<yyyymmdd><nnnnnn>`` orders, so a rerun never collides."""
        rows = (
            Order.objects.filter(number__startswith="DD")
            .annotate(n=Length("number"))
            .filter(n=16)
            .annotate(day=Substr("number", 3, 8))
            .values("day")
            .annotate(last=Max("number"))
            .values_list("day", "last")
        )
        counters = {}
        for day, last in rows:
            if last[2:].isdigit():
                counters[day] = int(last[10:])
        return counters

    def _local_day(self, ts: int) -> tuple:
        """(local date, "YYYYMMDD") of an epoch second, cached per hour (zone offsets change on the hour)."""
        hour = ts // HOUR
        day = self._days.get(hour)
        if day is None:
            date = datetime.fromtimestamp(hour * HOUR, self.tz).date()
            day = self._days[hour] = (date, f"{date:%Y%m%d}")
        return day

    def local_weekday_hour(self, ts: int) -> tuple[int, int]:
        """(ISO weekday, hour) of an epoch second in local time, cached per hour."""
        hour = ts // HOUR
        cell = self._weekday_hours.get(hour)
        if cell is None:
            local = datetime.fromtimestamp(hour * HOUR, self.tz)
            cell = self._weekday_hours[hour] = (local.isoweekday(), local.hour)
        return cell

    def _order_number(self, placed_ts: int) -> str:
        day = self._local_day(placed_ts)[1]
        value = self.order_counters.get(day, 0) + 1
        self.order_counters[day] = value
        return f"DD{day}{value:06d}"

    # -- people --------------------------------------------------------------
    def _customer(self, chunk: _Chunk) -> dict:
        rng = self.rng
        name = rng.choice(cat.SURNAMES) + "".join(rng.choice(cat.GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
        province, city, districts = rng.choice(cat.PLACES)
        region = province if province == city else province + city
        vip = rng.random() < 0.08
        credit = int(rng.gauss(760, 80) if vip else rng.gauss(610, 110))
        address = (
            f"{region}{rng.choice(districts)}{rng.choice(cat.STREETS)}{rng.randint(1, 999)}号"
            f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
        )
        row = {
            "name": name,
            "phone": f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
            "email": (
                f"{rng.choice(cat.EMAIL_NAMES)}{rng.randint(10, 99999)}@{rng.choice(cat.EMAIL_DOMAINS)}"
                if rng.random() < 0.35
                else ""
            ),
            "tier": Customer.Tier.VIP if vip else Customer.Tier.REGULAR,
            "credit_score": min(950, max(350, credit)),
            "region": region,
            "dedicated_advisor_id": rng.choice(self.ref.agents).id if vip else None,
            "risk_flags": list(rng.choice(cat.RISK_FLAGS)) if rng.random() < 0.03 else [],
            "created_at": None,  # before the first order: set when the chunk is complete
        }
        chunk.customers.append(row)
        chunk.customer_since.append(self.now_ts)
        row["_address"] = address
        row["_index"] = len(chunk.customers) - 1
        return row

    # -- orders --------------------------------------------------------------
    def _order(self, chunk: _Chunk, customer: dict, channel: str, first_pcat: str | None) -> tuple[dict, list[dict]]:
        """An order with 1–3 lines; dated later with ``_date_order``."""
        rng = self.rng
        order = {
            "number": None,
            "customer_id": customer,
            "channel": channel,
            "placed_at": None,
            "delivered_at": None,
            "shipping_address": customer["_address"],
        }
        chunk.orders.append(order)
        lines = []
        used = set()
        for position in range(self.pick_lines(rng)):
            pcat = first_pcat if position == 0 and first_pcat else self.pick_pcat(rng)
            product = rng.choice(self.ref.products[pcat])
            code, label = rng.choice(product.variants)
            sku = f"{product.sku_prefix}-{code}"
            if sku in used:
                continue
            used.add(sku)
            # ¥x9 prices within the product's range
            yuan = min(
                product.high // 100,
                max(product.low // 100, rng.randint(product.low // 1000, product.high // 1000) * 10 + 9),
            )
            price = yuan * 100
            lines.append(
                {
                    "order_id": order,
                    "sku": sku,
                    "product_name": f"{product.name} {label}",
                    "category_id": product.category_id,
                    "unit_price": cents(price),
                    "unit_cost": cents(int(price * rng.uniform(0.4, 0.7))),
                    "quantity": self.pick_qty(rng),
                    "_price": price,
                    "_product": product.name,
                }
            )
        chunk.order_lines.extend(lines)
        return order, lines

    def _date_order(self, chunk: _Chunk, order: dict, placed: int, delivered: int | None) -> None:
        order["placed_at"] = to_dt(placed)
        order["delivered_at"] = to_dt(delivered) if delivered is not None else None
        order["number"] = self._order_number(placed)
        index = order["customer_id"]["_index"]
        if placed < chunk.customer_since[index]:
            chunk.customer_since[index] = placed

    def _extra_order(self, chunk: _Chunk, customer: dict) -> None:
        """An order nobody complained about."""
        rng = self.rng
        order, _ = self._order(chunk, customer, self.pick_channel(rng), None)
        placed = self.now_ts - rng.randint(HOUR, YEAR)
        delivered = placed + rng.randint(DAY, 5 * DAY)
        self._date_order(chunk, order, placed, delivered if delivered < self.now_ts else None)

    def _case(self, chunk: _Chunk, customer: dict) -> None:
        Story(self, chunk, customer).tell()

    # -- compensation helpers --------------------------------------------------
    def _offer(self, rtype: str, leaf: Leaf, value: int, quick: bool) -> list[tuple[str, int]]:
        """The compensations an agent would propose: (kind, fen)."""
        rng = self.rng
        offer: list[tuple[str, int]] = []
        customer_reason = leaf.attribution == Attribution.CUSTOMER
        if rtype in (RT.RETURN_REFUND, RT.REFUND_ONLY):
            if not quick:
                partial = rtype == RT.REFUND_ONLY and leaf.name == "配件缺失"
                offer.append((K.REFUND, max(100, int(value * rng.uniform(0.1, 0.3))) if partial else value))
            if rtype == RT.RETURN_REFUND and not customer_reason and rng.random() < 0.5:
                offer.append((K.RETURN_SHIPPING, rng.randint(8, 15) * 100))
        elif rtype == RT.PRICE_ADJUSTMENT:
            offer.append((K.REFUND, max(100, int(value * rng.uniform(0.05, 0.3)))))
        elif rtype == RT.EXCHANGE:
            offer.append((K.REPLACEMENT, value))
            if not customer_reason and rng.random() < 0.4:
                offer.append((K.RETURN_SHIPPING, rng.randint(8, 15) * 100))
        elif rtype == RT.REPAIR:
            if rng.random() < 0.5:
                offer.append((K.COUPON, rng.randint(2, 5) * 1000))
        elif rtype == RT.COMPLAINT:
            if rng.random() < 0.4:
                offer.append((K.CASH, rng.randint(1, 10) * 1000))
            else:
                offer.append((K.COUPON, rng.choice((5, 10, 20, 30, 50)) * 100))
        if rtype != RT.COMPLAINT and not customer_reason and rng.random() < 0.15:
            offer.append((K.COUPON, rng.choice((5, 10, 20, 30, 50)) * 100))
        return [(kind, min(amount, value) if kind == K.REFUND else amount) for kind, amount in offer]

    @staticmethod
    def clock_seconds(state: str, version) -> int:
        """Length of ``state``'s stage clock under the policy version."""
        start = datetime(2000, 1, 1, tzinfo=UTC)
        _, due = stage_clock(state, version, start)
        return int((due - start).total_seconds()) if due else DAY

    # -- a chunk ---------------------------------------------------------------
    def build_chunk(self, n_cases: int, n_customers: int, n_extra_orders: int) -> _Chunk:
        chunk = _Chunk()
        customers = [self._customer(chunk) for _ in range(max(1, n_customers))]
        rng = self.rng
        for _ in range(n_cases):
            self._case(chunk, rng.choice(customers))
        for _ in range(n_extra_orders):
            self._extra_order(chunk, rng.choice(customers))
        for row, since in zip(chunk.customers, chunk.customer_since, strict=True):
            row["created_at"] = to_dt(since - rng.randint(0, 400 * DAY))
        return chunk

    def write_chunk(self, chunk: _Chunk, writer, log=None) -> None:
        """Insert one numbered chunk (see ``number_chunk``); call inside the chunk's transaction."""
        for row in chunk.customers:
            del row["_address"], row["_index"]
        writer.insert(Customer, chunk.customers, log=log)
        writer.insert(Order, chunk.orders, ["customer_id"], log=log)
        for line in chunk.order_lines:
            del line["_price"], line["_product"]
        writer.insert(OrderLine, chunk.order_lines, ["order_id"], log=log)
        writer.insert(Case, chunk.cases, ["order_id", "customer_id"], log=log)
        writer.insert(CaseLine, chunk.case_lines, ["case_id", "order_line_id"], log=log)
        writer.insert(CaseKeyword, chunk.keywords, ["case_id"], log=log)
        writer.insert(Inspection, chunk.inspections, ["case_id"], log=log)
        writer.insert(Shipment, chunk.shipments, ["case_id"], log=log)
        writer.insert(ShipmentEvent, chunk.scans, ["shipment_id"], log=log)
        for comp in chunk.compensations:
            del comp["_fen"], comp["_serial"]
        writer.insert(Compensation, chunk.compensations, ["case_id"], log=log)
        # Event data names the rows it is about (as the services record them).
        for target, key, value in chunk.patches:
            if value.__class__ is dict:
                target[key] = value["id"]
            elif key == "lines":
                target[key] = [[line["id"], quantity] for line, quantity in value]
            else:
                target[key] = [item["id"] for item in value]
        for event in chunk.events:
            if event["note"].__class__ is dict:  # a payout: note the reference
                event["note"] = event["note"]["payout_reference"]
        writer.insert(CaseEvent, chunk.events, ["case_id"], log=log)
        writer.insert(TemplateUse, chunk.template_uses, ["case_id", "event_id"], log=log)

    @transaction.atomic
    def number_chunk(self, chunk: _Chunk) -> None:
        """Reserve the chunk's case numbers per local day, as ``case_numbers_reserve`` does.

        In its own short transaction (the day rows stay locked only that long), before
        the chunk is written: numbers of a chunk that then fails are skipped, like a
        sequence's. Payout references, made from case numbers, are set here too.
        """
        order = sorted(range(len(chunk.cases)), key=chunk.case_ts.__getitem__)
        days = [self._local_day(chunk.case_ts[i])[0] for i in order]
        wanted = sorted(Counter(days).items())
        # One upsert: creates the missing days, bumps the others under their row lock
        # (concurrent case_open calls wait for this chunk's commit).
        meta, quote = CaseNumberSequence._meta, connection.ops.quote_name
        table, day_column = quote(meta.db_table), quote(meta.get_field("day").column)
        last_column = quote(meta.get_field("last_value").column)
        sql = (
            f"INSERT INTO {table} ({day_column}, {last_column}) VALUES {', '.join(['(%s, %s)'] * len(wanted))} "
            f"ON CONFLICT ({day_column}) DO UPDATE SET {last_column} = {table}.{last_column} + excluded.{last_column} "
            f"RETURNING {day_column}, {last_column}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for pair in wanted for value in pair])
            last = {str(day): value for day, value in cursor.fetchall()}
        next_value = {day: last[str(day)] - count + 1 for day, count in wanted}
        for i, day in zip(order, days, strict=True):
            value = next_value[day]
            next_value[day] = value + 1
            case = chunk.cases[i]
            case["number"] = format_case_number(day, value)
        # Payout references: unique because case numbers are (wallet-style digits).
        for comp in chunk.compensations:
            if comp["state"] == CS.PAID:
                number = comp["case_id"]["number"]
                digits = number[2:10] + number[11:]
                paid = comp["paid_at"].astimezone(self.tz)
                prefix = PAYOUT_PREFIX.get(comp["kind"], "CPN")
                comp["payout_reference"] = f"{prefix}{paid:%Y%m%d}{digits}{comp['_serial']:02d}"


def seed(
    *,
    cases: int = DEFAULT_CASES,
    seed: int = DEFAULT_SEED,
    batch: int = DEFAULT_BATCH,
    if_empty: bool = False,
    log: Callable[[str], None] = print,
    now: datetime | None = None,
    copy: bool | None = None,
    row_fk_checks: bool = False,
    pipeline: bool | None = None,
) -> Counter:
    """Create ``cases`` demo cases (with customers, orders and history). Returns row counts per model.

    ``copy``: COPY instead of ``bulk_create`` (default: on PostgreSQL); ``row_fk_checks``:
    keep PostgreSQL's row-by-row foreign-key checks (see ``CopyWriter``).
    ``pipeline``: generate (and number) chunks in this thread while ``PIPELINE_WRITERS``
    threads, each on its own connection, write them (default: on PostgreSQL, unless
    already inside a transaction, whose uncommitted rows other connections could not see).
    ``now``: the moment the data leads up to (default: now); with ``seed`` it makes runs repeatable.
    """
    if if_empty and Case.objects.exists():
        log("Cases already exist: nothing to seed (--if-empty).")
        return Counter()
    if cases < 1 or batch < 1:
        raise ValueError("cases and batch must be positive")
    started = time.monotonic()
    ref = ensure_reference_data()
    log(
        f"Reference data ready: {len(ref.products)} product categories, {len(ref.leaves)} problem leaves, "
        f"{len(ref.queues)} queues, {len(ref.policies)} policies, "
        f"{len(ref.agents) + len(ref.qc) + len(ref.supervisors) + len(ref.finance)} staff."
    )
    generator = DemoGenerator(ref, seed=seed, now=now)
    writer = make_writer(batch, copy=copy, row_fk_checks=row_fk_checks)
    referenced = ref.referenced_rows()
    if pipeline is None:
        pipeline = connection.vendor == "postgresql" and not connection.in_atomic_block
    # About one after-sales case a year per customer who has any (most customers never claim).
    total_customers = max(50, round(cases / 1.5))
    total_extra = round(cases * 1.5)
    progress = _Progress(cases, batch, started, log)

    def chunks():
        done = 0
        while done < cases:
            end = min(cases, done + batch)
            n_customers = total_customers * end // cases - total_customers * done // cases
            n_extra = total_extra * end // cases - total_extra * done // cases
            chunk = generator.build_chunk(end - done, n_customers, n_extra)
            generator.number_chunk(chunk)
            yield chunk
            done = end

    def write(chunk: _Chunk) -> None:
        with transaction.atomic():
            chunk_log = writer.begin_chunk(referenced)
            generator.write_chunk(chunk, writer, chunk_log)
            writer.end_chunk(chunk_log)
        progress.add(len(chunk.cases))

    # The chunks hold no reference cycles: the cyclic GC would only rescan them.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if pipeline:
            pipelined(chunks(), write, writers=PIPELINE_WRITERS)
        else:
            for chunk in chunks():
                write(chunk)
    finally:
        if gc_was_enabled:
            gc.enable()
    elapsed = time.monotonic() - started
    summary = ", ".join(f"{model._meta.verbose_name_plural}: {count:,}" for model, count in writer.counts.items())
    mode = writer.description + (", pipelined" if pipeline else "")
    # Last month's template health report, as the monthly job would have made it.
    from aftersales.replies.health import health_report_generate, previous_month

    month = previous_month(timezone.localdate())
    if not HealthReport.objects.filter(month=month).exists():
        health_report_generate(month=month, notify=False)
        log(f"Template health report for {month:%Y-%m} made.")
    demo_follow_ups(now=generator.now, log=log)
    shop_orders = import_shop_orders(ref, now=generator.now)
    if shop_orders:
        log(
            f"{shop_orders} shop orders (no cases yet) imported from {SHOP_ORDERS.name}, as the admin's import reads it."
        )
    log(
        f"Seeded {progress.done:,} cases in {elapsed:,.1f}s ({progress.done / elapsed:,.0f} cases/s, {mode}). {summary}."
    )

    return writer.counts


class _Progress:
    def __init__(self, total: int, batch: int, started: float, log: Callable[[str], None]):
        self.total, self.started, self.log = total, started, log
        self.verbose = total > batch
        self.done = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self._add(count)

    def _add(self, count: int) -> None:
        self.done += count
        if self.verbose:
            elapsed = time.monotonic() - self.started
            rate = self.done / elapsed
            self.log(
                f"  {self.done:>9,}/{self.total:,} cases  {rate:,.0f} cases/s  ETA {(self.total - self.done) / rate:,.0f}s"
            )


#: Demo follow-up visits for the cases that finished in these last days (older ones done, the last few open).
FOLLOW_UP_DAYS, FOLLOW_UP_OPEN_DAYS = 45, 7


def demo_follow_ups(*, now: datetime, log: Callable[[str], None] = print) -> int:
    """The follow-up visits (回访) the services would have created for the demo's recently finished complaints,
    escalations, crises and low ratings: done (mostly reached and satisfied) except for the last few days'."""
    from django.db.models import Q

    from aftersales.models import FollowUp

    since = now - timedelta(days=FOLLOW_UP_DAYS)
    needs = Q(request_type="complaint") | Q(escalated_at__isnull=False) | Q(crisis=True) | Q(csat__lte=2)
    finished = (
        Case.objects.filter(closed_at__gte=since, closed_at__lte=now, follow_up__isnull=True)
        .exclude(state="cancelled")
        .filter(needs)
        .values("pk", "closed_at", "assignee_id", "request_type", "escalated_at", "crisis", "csat")
    )
    rows = []
    for case in finished.iterator(chunk_size=2000):
        reasons = [
            reason
            for reason, applies in (
                (FollowUp.Reason.COMPLAINT, case["request_type"] == "complaint"),
                (FollowUp.Reason.ESCALATED, case["escalated_at"] is not None),
                (FollowUp.Reason.CRISIS, case["crisis"]),
                (FollowUp.Reason.LOW_RATING, case["csat"] is not None and case["csat"] <= 2),
            )
            if applies
        ]
        due = case["closed_at"] + timedelta(hours=8)
        row = FollowUp(
            case_id=case["pk"], reasons=reasons, owner_id=case["assignee_id"], due_at=due, created_at=case["closed_at"]
        )
        if case["closed_at"] < now - timedelta(days=FOLLOW_UP_OPEN_DAYS):
            luck = case["pk"] % 20  # repeatable: about 85 % reached, most of them satisfied
            row.state, row.done_at, row.done_by_id = "done", due, case["assignee_id"]
            row.reached = luck >= 3
            row.attempts = 1 + luck % 2 if row.reached else FollowUp.MAX_ATTEMPTS
            row.satisfied = (luck >= 6) if row.reached else None
        rows.append(row)
    FollowUp.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    if rows:
        log(f"{len(rows):,} follow-up visits for the cases finished in the last {FOLLOW_UP_DAYS} days.")
    return len(rows)

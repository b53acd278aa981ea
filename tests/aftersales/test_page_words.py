"""No English and no raw codes on the staff pages in Chinese: every role's pages are walked and their visible text
(text, placeholders, options, titles) is searched for words of Latin letters and for "None".

Data fields hold letters of their own (case and order numbers, SKUs, tracking numbers: they carry digits, and
words with a digit are not looked at) and a few names people use as they are (VIP, SLA, App, the file formats).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import CaseState

pytestmark = pytest.mark.django_db
S = CaseState

#: Latin words the Chinese pages use as they are.
KEPT = {
    "VIP",
    "SLA",
    "CSAT",
    "NPS",
    "App",
    "SKU",
    "JPEG",
    "PNG",
    "WebP",
    "MP4",
    "CSV",
    "XLSX",
    "Excel",
    "API",
    "FCR",
    "MB",
    "Webhook",
    "JSON",
    "ID",
    "IP",
    "openid",  # WeChat's own term for a user's id in a mini-program, as its Chinese documents write it
    # Key names in Django's own help text of a multiple choice (按住 Control 键或 Mac 上的 Command 键来选择多项).
    "Control",
    "Command",
    "Mac",
}
WORD = re.compile(r"(?<![\w.@/-])[A-Za-z][A-Za-z]+(?![\w.@/-])")  # dotted names (refund.requested) are codes
#: Values of the test's data that are Latin by nature: the product category's code, as a merchant sets it.
DATA = {"apparel", "escalation"}  # and the escalation queue's code, as the migration that ships it sets it
#: A code as the program spells it (return_refund, professional_claimant).
CODE = re.compile(r"(?<![\w.@/-])[a-z]+(?:_[a-z]+)+(?![\w@/-])")
URL = re.compile(r"https?://\S+")


class VisibleText(HTMLParser):
    """The text a person sees: text nodes (not scripts or styles), placeholders, titles and button values."""

    SKIP = {"script", "style", "kbd"}  # a key cap says what is on the key

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        for name, value in attrs:
            if name in ("placeholder", "title") and value:  # what shows (alt and aria-label are read aloud)
                self.parts.append(value)
            if name == "value" and tag == "input" and ("type", "submit") in attrs:
                self.parts.append(value or "")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def foreign_words(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    found = []
    for part in parser.parts:
        if part[:1] in "{[":  # a JSON document shown as it is stored (an event's data, a message's payload)
            continue
        part = URL.sub("", part)
        if part == "None" or " None" in f" {part}":
            found.append(f"None in “{part}”")
        found += [f"code {code} in “{part[:80]}”" for code in CODE.findall(part)]
        found += [f"{word} in “{part[:80]}”" for word in WORD.findall(part) if word not in KEPT | DATA | {"None"}]
    return found


@pytest.fixture
def named(users):
    """People have Chinese names (a username is data the pages must not show instead)."""
    names = {
        "agent": ("小美", "王"),
        "qc": ("师傅", "李"),
        "supervisor": ("主管", "张"),
        "finance": ("会计", "赵"),
        "channel": ("渠道接口", "App"),
    }
    for role, (first, last) in names.items():
        users[role].first_name, users[role].last_name = first, last
        users[role].save()
    return users


@pytest.fixture
def day(case_in, order, named):
    users = named
    jacket = order.lines.get(sku="JK-002")
    offer = case_in(S.COMPENSATION)
    services.compensation_add(case_id=offer.pk, actor=users["agent"], kind="refund", amount="99.00")
    services.case_submit_offer(case_id=offer.pk, actor=users["agent"])
    shipped = case_in(S.RETURN_SHIPPED, request_type="exchange", lines=[(jacket.pk, 1)])
    complaint = case_in(S.PENDING_REVIEW, request_type="complaint", lines=[])
    customer = complaint.customer
    customer.risk_flags = ["professional_claimant"]  # shown in words on the case page and in the admin
    customer.save(update_fields=["risk_flags"])
    return {"offer": offer, "shipped": shipped, "complaint": complaint}


REPORTS = ("dashboard", "costs", "heatmap", "words", "team", "compensation", "template_effects", "health_list")


def pages_of(role: str, day) -> list[str]:
    cases = [reverse("desk:case", args=[case.pk]) for case in day.values()]
    desk = {
        "agent": [reverse("desk:queue") + "?reset=1", reverse("desk:board"), *cases],
        "qc": [reverse("desk:qc") + f"?tab={state}" for state in ("awaiting_return", "return_shipped", "in_qc")]
        + [reverse("desk:case", args=[day["shipped"].pk])],
        "supervisor": [
            reverse("desk:queue") + "?reset=1",
            reverse("desk:board"),
            reverse("desk:approvals"),
            reverse("desk:claimants"),
            *cases,
            *(reverse(f"reports:{name}") for name in REPORTS),
        ],
        "finance": [
            *(reverse("desk:finance") + f"?tab={tab}" for tab in ("cash", "channel", "issue")),
            reverse("reports:compensation"),
            reverse("reports:costs"),
        ],
    }
    return desk[role]


@pytest.mark.parametrize("role", ["agent", "qc", "supervisor", "finance"])
def test_no_english_and_no_none_on_the_staff_pages(login, named, day, role):
    client = login(named[role])
    problems = {}
    for url in pages_of(role, day):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200, url
        found = foreign_words(response.content.decode())
        if found:
            problems[url] = found
    assert problems == {}


def test_the_check_finds_english_and_none():
    html = '<p>审核通过</p><button>Approve</button><td>None</td><script>var x = "ignored";</script><p>AS20261201-000001</p>'
    assert foreign_words(html) == ["Approve in “Approve”", "None in “None”"]
    assert foreign_words("<td>return_refund</td>") == ["code return_refund in “return_refund”"]


def admin_pages(day) -> list[str]:
    from django.contrib import admin

    from aftersales.models import Policy

    urls = []
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        first = model.objects.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk]))
    policy = Policy.objects.order_by("pk").first()
    urls.append(reverse("admin:aftersales_policy_history", args=[policy.pk]))
    return urls


def test_no_english_and_no_none_in_the_admin(login, named, day):
    named["supervisor"].is_staff = True
    named["supervisor"].save()
    client = login(named["supervisor"])
    problems = {}
    for url in admin_pages(day):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        if response.status_code in (302, 403):  # not a supervisor's (users and groups are the superuser's)
            continue
        assert response.status_code == 200, url
        found = foreign_words(response.content.decode())
        if found:
            problems[url] = found
    assert problems == {}

"""Tracking providers: subscribe a parcel, receive its pushed scans, or ask for them.

The provider in use is the ``TRACKING_PROVIDER`` setting (empty: no tracking; scans then come only from QC's
receipt). Each provider speaks its own published protocol; what comes out is the same: ``Scan`` rows in our
statuses.

Kuaidi100 (快递100, https://api.kuaidi100.com), the 订阅推送 service:

- subscribe: ``POST {base}/poll`` (form ``schema=json``, ``param`` = JSON ``{"company", "number", "key",
  "parameters": {"callbackurl", "salt", "resultv2": "1"}}``); the answer ``{"result": true, "returnCode": "200"}``,
  or ``"501"`` for a number already subscribed;
- push (to our callback): a form with ``param`` (JSON: ``status``, ``message``, ``lastResult`` with ``com``, ``nu``,
  ``state``, ``ischeck`` and ``data``: the scans, newest first, each ``time``/``ftime``, ``context``, ``status``,
  with resultv2 also ``statusCode`` and ``areaName``) and ``sign`` = upper-case MD5 of ``param`` + the salt; we
  answer ``{"result": true, "returnCode": "200", "message": …}`` — also to a push we ignore, or it is sent again;
- query: ``POST {base}/poll/query.do`` (form ``customer``, ``param`` = JSON ``{"com", "num", "resultv2": "1"}``,
  ``sign`` = upper-case MD5 of ``param`` + key + customer); the answer is a ``lastResult`` as above, with
  ``"status": "200"`` (or ``returnCode`` and ``message`` on failure).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from aftersales.models import Carrier, Shipment

ST = Shipment.Status


class TrackingError(Exception):
    """The provider refused or could not be reached; the message says why."""


class BadPush(Exception):
    """A push we do not act on (bad signature, unreadable body); logged, answered so it is not sent again."""


@dataclass(frozen=True)
class Scan:
    at: datetime
    status: str
    description: str
    place: str = ""
    code: str = ""


@dataclass(frozen=True)
class Tracking:
    """What a provider knows of one parcel (``ended``: the provider has stopped following it)."""

    carrier: str
    number: str
    status: str | None
    scans: list[Scan]
    ended: bool = False


class Provider:
    """The interface a tracking provider implements."""

    name = ""
    #: Carrier code → the provider's code for it (a carrier it cannot track is missing).
    carriers: dict[str, str] = {}

    def configured(self) -> bool:
        raise NotImplementedError

    def subscribe(self, *, carrier: str, number: str, callback_url: str, phone: str = "") -> None:
        """Ask the provider to push this parcel's scans to ``callback_url`` (``TrackingError`` when refused).
        ``phone``: the sender's or recipient's phone, which some carriers (SF) require before they show a route."""
        raise NotImplementedError

    def query(self, *, carrier: str, number: str, phone: str = "") -> Tracking:
        """The parcel's scans now (``TrackingError`` when the provider cannot say)."""
        raise NotImplementedError

    def parse_push(self, form) -> Tracking:
        """A push as the provider sent it (the request's form), checked; ``BadPush`` when it is not to be trusted."""
        raise NotImplementedError

    def answer(self, *, ok: bool, message: str) -> dict:
        """The body the provider expects in reply to a push (``ok``: it was acted on)."""
        raise NotImplementedError

    def tracks(self, carrier: str) -> bool:
        return carrier in self.carriers


def _md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


class Kuaidi100(Provider):
    name = "kuaidi100"
    carriers = {
        Carrier.SF: "shunfeng",
        Carrier.ZTO: "zhongtong",
        Carrier.YTO: "yuantong",
        Carrier.YUNDA: "yunda",
        Carrier.STO: "shentong",
        Carrier.JD: "jd",
        Carrier.EMS: "ems",
        Carrier.JTEXPRESS: "jtexpress",
    }
    #: The provider's state codes (``state``; with resultv2 also the finer ``statusCode``) → our statuses.
    STATES = {
        "0": ST.IN_TRANSIT,  # 在途
        "1": ST.COLLECTED,  # 揽收
        "2": ST.EXCEPTION,  # 疑难
        "3": ST.DELIVERED,  # 签收
        "4": ST.EXCEPTION,  # 退签
        "5": ST.OUT_FOR_DELIVERY,  # 派件
        "6": ST.EXCEPTION,  # 退回
        "7": ST.IN_TRANSIT,  # 转投
        "8": ST.IN_TRANSIT,  # 清关
        "10": ST.IN_TRANSIT,  # 待清关
        "11": ST.IN_TRANSIT,  # 清关中
        "12": ST.IN_TRANSIT,  # 已清关
        "13": ST.EXCEPTION,  # 清关异常
        "14": ST.EXCEPTION,  # 拒签
    }
    #: The words of a scan's ``status`` when it has no code.
    WORDS = {
        "在途": ST.IN_TRANSIT,
        "揽收": ST.COLLECTED,
        "疑难": ST.EXCEPTION,
        "签收": ST.DELIVERED,
        "退签": ST.EXCEPTION,
        "派件": ST.OUT_FOR_DELIVERY,
        "退回": ST.EXCEPTION,
        "转投": ST.IN_TRANSIT,
        "拒签": ST.EXCEPTION,
    }

    def __init__(self):
        self.key = settings.TRACKING_KUAIDI100_KEY
        self.customer = settings.TRACKING_KUAIDI100_CUSTOMER
        self.salt = settings.TRACKING_KUAIDI100_SALT
        self.base = settings.TRACKING_KUAIDI100_URL.rstrip("/")

    def configured(self) -> bool:
        return bool(self.key and self.customer)

    # -- codes -------------------------------------------------------------------------------------
    @classmethod
    def status_of(cls, code: str, word: str = "") -> str | None:
        code = (code or "").strip()
        if code in cls.STATES:
            return cls.STATES[code]
        if code in ("101", "102"):  # resultv2: pickup ordered, waiting for the courier: not collected yet
            return ST.REPORTED
        if code in ("1001", "1002", "1003"):  # resultv2: arrived at the city, trunk line, forwarded
            return ST.IN_TRANSIT
        if len(code) == 3 and code[0] in cls.STATES:  # resultv2: 101 已下单 … 301 本人签收 … 501 投柜
            return cls.STATES[code[0]]
        return cls.WORDS.get((word or "").strip())

    def carrier_of(self, com: str) -> str | None:
        return next((ours for ours, theirs in self.carriers.items() if theirs == com), None)

    # -- the wire ----------------------------------------------------------------------------------
    def _post(self, path: str, form: dict) -> dict:
        data = urllib.parse.urlencode(form).encode("utf-8")
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=data,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.TRACKING_TIMEOUT_SECONDS) as response:
                body = response.read(1 << 20)
        except urllib.error.HTTPError as exc:
            raise TrackingError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TrackingError(str(getattr(exc, "reason", exc))) from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise TrackingError("the provider's answer is not JSON") from None
        if not isinstance(answer, dict):
            raise TrackingError("the provider's answer is not an object")
        return answer

    def subscribe(self, *, carrier: str, number: str, callback_url: str, phone: str = "") -> None:
        param = {
            "company": self.carriers[carrier],
            "number": number,
            "key": self.key,
            "parameters": {"callbackurl": callback_url, "salt": self.salt, "resultv2": "1"},
        }
        if phone:  # 顺丰 answers only with the sender's or recipient's phone
            param["parameters"]["phone"] = phone
        answer = self._post("/poll", {"schema": "json", "param": json.dumps(param, ensure_ascii=False)})
        if str(answer.get("returnCode")) not in ("200", "501"):  # 501: already subscribed
            raise TrackingError(f"{answer.get('returnCode')}: {answer.get('message', '')}")

    def query(self, *, carrier: str, number: str, phone: str = "") -> Tracking:
        fields = {"com": self.carriers[carrier], "num": number, "resultv2": "1"}
        if phone:
            fields["phone"] = phone
        param = json.dumps(fields, ensure_ascii=False)
        answer = self._post(
            "/poll/query.do",
            {"customer": self.customer, "param": param, "sign": _md5_upper(param + self.key + self.customer)},
        )
        if str(answer.get("status")) != "200":
            raise TrackingError(f"{answer.get('returnCode', answer.get('status'))}: {answer.get('message', '')}")
        return self._tracking(answer, carrier=carrier, number=number)

    def parse_push(self, form) -> Tracking:
        param, sign = form.get("param", ""), form.get("sign", "")
        if not param:
            raise BadPush("no param")
        if not self.salt or not hmac.compare_digest(_md5_upper(param + self.salt), str(sign).upper()):
            raise BadPush("bad signature")
        try:
            body = json.loads(param)
            result = body["lastResult"]
            com, number = result["com"], str(result["nu"])
        except (ValueError, KeyError, TypeError):
            raise BadPush("unreadable param") from None
        carrier = self.carrier_of(com)
        if carrier is None:
            raise BadPush(f"unknown carrier {com!r}")
        # "abort" (the provider gave up: no route for days, a wrong carrier) and "shutdown" (done): no more pushes.
        ended = str(body.get("status", "")) in ("abort", "shutdown")
        return self._tracking(result, carrier=carrier, number=number, ended=ended)

    def answer(self, *, ok: bool, message: str) -> dict:
        # ``result: true`` also for a push we ignored: anything else makes the provider send it again.
        return {"result": True, "returnCode": "200", "message": message}

    def _tracking(self, result: dict, *, carrier: str, number: str, ended: bool = False) -> Tracking:
        scans = []
        for item in result.get("data") or []:
            if not isinstance(item, dict):
                continue
            at = _local_time(item.get("ftime") or item.get("time"))
            status = self.status_of(str(item.get("statusCode", "")), str(item.get("status", "")))
            description = str(item.get("context") or "").strip()
            if at is None or status is None or not description:
                continue
            scans.append(
                Scan(
                    at=at,
                    status=status,
                    description=description[:500],
                    place=str(item.get("areaName") or item.get("location") or "")[:100],
                    code=str(item.get("statusCode") or "")[:10],
                )
            )
        return Tracking(
            carrier=carrier,
            number=number.upper(),
            status=self.status_of(str(result.get("state", ""))),
            scans=scans,
            ended=ended,
        )


def _local_time(text) -> datetime | None:
    """``"2026-12-01 10:15:00"`` in the provider's local time (Asia/Shanghai) → an aware datetime."""
    try:
        naive = datetime.strptime(str(text).strip(), "%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return None
    return timezone.make_aware(naive, timezone.get_default_timezone())


PROVIDERS: dict[str, type[Provider]] = {Kuaidi100.name: Kuaidi100}


def provider(name: str | None = None) -> Provider | None:
    """The provider named (by default the one in ``TRACKING_PROVIDER``), if it is set up; else ``None``."""
    name = settings.TRACKING_PROVIDER if name is None else name
    cls = PROVIDERS.get(name or "")
    if cls is None:
        return None
    instance = cls()
    return instance if instance.configured() else None

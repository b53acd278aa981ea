"""Text messages to customers: SMS through Alibaba Cloud or Tencent Cloud, and WeChat mini-program messages.

A pure HTTP layer (no models): each call either returns the provider's message id or raises ``DeliveryError``
with the provider's own error code and message. All requests go through ``delivery._OPENER``, which never
follows a redirect, with a 10-second timeout; secrets are never logged nor put in an error message.

- Alibaba Cloud SMS ``SendSms`` (API version 2017-05-25), RPC style: the parameters, sorted and percent-encoded
  per RFC 3986 (space ``%20``, ``*`` ``%2A``, ``~`` kept), form the StringToSign
  ``POST&%2F&percentEncode(query)``, signed with HMAC-SHA1 keyed ``AccessKeySecret + "&"`` (SignatureVersion
  1.0), base64 into ``Signature``; sent as a form-encoded POST. Success is ``Code == "OK"``, the id ``BizId``.
- Tencent Cloud SMS ``SendSms`` (API 3.0, version 2021-01-11) with signature v3, TC3-HMAC-SHA256: a
  CanonicalRequest (method, URI, query, the signed headers ``content-type;host``, SHA-256 of the JSON body) is
  hashed into a StringToSign with the CredentialScope ``date/sms/tc3_request`` (the UTC date of
  ``X-TC-Timestamp``) and signed with the key chain ``"TC3" + SecretKey`` → date → service → ``tc3_request``.
  Errors come as ``Response.Error``; each number's outcome as ``Response.SendStatusSet[i].Code == "Ok"``.
- WeChat mini-program ``subscribeMessage.send`` (``POST /cgi-bin/message/subscribe/send``) with an access token
  from ``getStableAccessToken`` (``POST /cgi-bin/stable_token``), cached until shortly before it expires.
  ``errcode`` 0 is success; 40001/40014/42001 (token invalid or expired) refresh the token and retry once;
  43101 (the customer has no subscription left) raises ``NotSubscribed``, which a caller does not retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from aftersales.notifications.delivery import _OPENER, DeliveryError

TIMEOUT = 10  # seconds, for every provider request
_MAX_ANSWER = 65536
_MAINLAND_MOBILE = re.compile(r"1\d{10}")
_TENCENT_CONTENT_TYPE = "application/json; charset=utf-8"
_TOKEN_REFRESH_CODES = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, token expired
_NOT_SUBSCRIBED = 43101  # "user refuse to accept the msg": no (one-time) subscription left
MINIPROGRAM_STATES = ("formal", "trial", "developer")
_now = time.monotonic  # the token cache's clock (a seam for tests)


class NotSubscribed(DeliveryError):
    """The customer has not subscribed to this template (or used up the one-time subscription): do not retry."""

    #: The outbox gives up on the message at once (``delivery.deliver_due``).
    permanent = True


class SmsProvider(ABC):
    """Sends one templated text message to one phone number."""

    name = ""

    @abstractmethod
    def send(self, *, phone: str, template: str, params: dict[str, str]) -> str:
        """Send ``template`` with ``params`` (ordered template variables) to ``phone``; the provider's message id.

        Raises ``DeliveryError`` on any failure: network, timeout, HTTP error or an error code in the answer."""


def _exchange(request: urllib.request.Request, label: str) -> tuple[int, bytes]:
    """Send ``request``; its status and body, error statuses included (providers explain them in the body)."""
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            return response.status, response.read(_MAX_ANSWER)
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read(_MAX_ANSWER)
        except OSError:
            body = b""
        finally:
            exc.close()
        return exc.code, body
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"{label}: {getattr(exc, 'reason', None) or exc}") from None


def _json_answer(status: int, body: bytes, label: str) -> dict:
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        kind = " (a redirect, not followed)" if 300 <= status < 400 else ""
        raise DeliveryError(f"{label}: HTTP {status}{kind}, no JSON answer")
    return answer


# --- Alibaba Cloud ----------------------------------------------------------------------------------------------


def aliyun_percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8, as Alibaba Cloud's RPC signature wants: only ``A-Za-z0-9-_.~`` kept."""
    return quote(str(value), safe="~")


def aliyun_signature(params: dict, secret: str, method: str = "POST") -> str:
    """The RPC (signature version 1.0, HMAC-SHA1) ``Signature`` of ``params``; a ``Signature`` among them is ignored."""
    canonical = "&".join(
        f"{aliyun_percent_encode(key)}={aliyun_percent_encode(value)}"
        for key, value in sorted((str(k), str(v)) for k, v in params.items() if k != "Signature")
    )
    string_to_sign = f"{method.upper()}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class AliyunSms(SmsProvider):
    name = "aliyun"
    label = "Aliyun SMS"

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        endpoint: str = "https://dysmsapi.aliyuncs.com/",
        region: str = "cn-hangzhou",
    ):
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.sign_name = sign_name
        self.endpoint = endpoint
        self.region = region

    def __repr__(self) -> str:
        return f"AliyunSms(access_key_id={self.access_key_id!r}, endpoint={self.endpoint!r})"

    def send(self, *, phone: str, template: str, params: dict[str, str]) -> str:
        fields = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone.strip(),
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template,
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "Version": "2017-05-25",
        }
        if params:
            fields["TemplateParam"] = json.dumps(
                {str(k): str(v) for k, v in params.items()}, ensure_ascii=False, separators=(",", ":")
            )
        fields["Signature"] = aliyun_signature(fields, self._secret, "POST")
        body = "&".join(f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in fields.items())
        request = urllib.request.Request(
            self.endpoint,
            data=body.encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Accept": "application/json"},
            method="POST",
        )
        status, raw = _exchange(request, self.label)
        answer = _json_answer(status, raw, self.label)
        code = answer.get("Code")
        if status == 200 and code == "OK" and answer.get("BizId"):
            return str(answer["BizId"])
        if code is None:
            raise DeliveryError(f"{self.label}: HTTP {status}, no Code in the answer")
        raise DeliveryError(f"{self.label}: {code}: {answer.get('Message', '')}")


# --- Tencent Cloud ----------------------------------------------------------------------------------------------


def tencent_authorization(
    *,
    secret_id: str,
    secret_key: str,
    host: str,
    payload: bytes,
    timestamp: int,
    service: str = "sms",
    content_type: str = _TENCENT_CONTENT_TYPE,
) -> str:
    """The ``Authorization`` header (signature v3, TC3-HMAC-SHA256) of a POST to ``/`` on ``host`` with ``payload``."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical_headers = f"content-type:{content_type.strip().lower()}\nhost:{host.strip().lower()}\n"
    signed_headers = "content-type;host"
    canonical_request = "\n".join(
        ["POST", "/", "", canonical_headers, signed_headers, hashlib.sha256(payload).hexdigest()]
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )

    def _hmac(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    signing_key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"


def e164_phone(phone: str) -> str:
    """An 11-digit mainland mobile number without a prefix gets ``+86``; anything else is kept as given."""
    phone = phone.strip()
    return f"+86{phone}" if _MAINLAND_MOBILE.fullmatch(phone) else phone


class TencentSms(SmsProvider):
    name = "tencent"
    label = "Tencent SMS"

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        region: str = "ap-guangzhou",
        endpoint: str = "https://sms.tencentcloudapi.com/",
    ):
        self.secret_id = secret_id
        self._secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.region = region
        self.endpoint = endpoint
        # The Host header as sent (and signed): the endpoint's host, with its port when it names one.
        self.host = urlsplit(endpoint).netloc.rpartition("@")[2].lower()

    def __repr__(self) -> str:
        return f"TencentSms(secret_id={self.secret_id!r}, endpoint={self.endpoint!r})"

    def send(self, *, phone: str, template: str, params: dict[str, str]) -> str:
        payload = json.dumps(
            {
                "PhoneNumberSet": [e164_phone(phone)],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": template,
                "TemplateParamSet": [str(value) for value in params.values()],
            },
            ensure_ascii=False,
        ).encode("utf-8")
        timestamp = int(time.time())
        headers = {
            "Authorization": tencent_authorization(
                secret_id=self.secret_id,
                secret_key=self._secret_key,
                host=self.host,
                payload=payload,
                timestamp=timestamp,
            ),
            "Content-Type": _TENCENT_CONTENT_TYPE,
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.region,
        }
        request = urllib.request.Request(self.endpoint, data=payload, headers=headers, method="POST")
        status, raw = _exchange(request, self.label)
        response = _json_answer(status, raw, self.label).get("Response")
        if not isinstance(response, dict):
            raise DeliveryError(f"{self.label}: HTTP {status}, no Response in the answer")
        error = response.get("Error")
        if isinstance(error, dict):
            raise DeliveryError(f"{self.label}: {error.get('Code')}: {error.get('Message', '')}")
        statuses = response.get("SendStatusSet") or []
        if status != 200 or not statuses or not isinstance(statuses[0], dict):
            raise DeliveryError(f"{self.label}: HTTP {status}, no SendStatusSet in the answer")
        outcome = statuses[0]
        if outcome.get("Code") != "Ok":
            raise DeliveryError(f"{self.label}: {outcome.get('Code')}: {outcome.get('Message', '')}")
        return str(outcome.get("SerialNo", ""))


# --- WeChat mini-program ----------------------------------------------------------------------------------------


class MiniProgramMessages:
    """Subscription messages of one mini-program (``subscribeMessage.send``), with its stable access token cached."""

    label = "WeChat"

    def __init__(
        self, *, app_id: str, app_secret: str, api_base: str = "https://api.weixin.qq.com", state: str = "formal"
    ):
        if state not in MINIPROGRAM_STATES:
            raise ValueError(f"miniprogram_state must be one of {', '.join(MINIPROGRAM_STATES)}, not {state!r}")
        self.app_id = app_id
        self._secret = app_secret
        self.api_base = api_base.rstrip("/")
        self.state = state
        self._lock = threading.Lock()
        self._token = ""
        self._token_until = 0.0

    def __repr__(self) -> str:
        return f"MiniProgramMessages(app_id={self.app_id!r}, api_base={self.api_base!r})"

    def _post(self, url: str, payload: dict, what: str) -> dict:
        request = urllib.request.Request(
            url,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        label = f"{self.label} {what}"
        status, raw = _exchange(request, label)
        if status != 200:
            raise DeliveryError(f"{label}: HTTP {status}")
        return _json_answer(status, raw, label)

    def access_token(self) -> str:
        """The cached token, or a new one from ``stable_token`` (normal mode) once it is close to expiring."""
        with self._lock:
            if self._token and _now() < self._token_until:
                return self._token
            answer = self._post(
                f"{self.api_base}/cgi-bin/stable_token",
                {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret},
                "stable_token",
            )
            token = answer.get("access_token")
            if not token:
                raise DeliveryError(
                    f"{self.label} stable_token: errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"
                )
            try:
                expires_in = max(0, int(answer.get("expires_in") or 0))
            except (TypeError, ValueError):
                expires_in = 0  # kept for this one send only
            # Renew ahead of time (the platform itself renews five minutes early), keeping half of a short lifetime.
            self._token, self._token_until = str(token), _now() + expires_in - min(300, expires_in // 2)
            return self._token

    def _drop_token(self, token: str) -> None:
        with self._lock:
            if self._token == token:  # not one another thread has already replaced
                self._token, self._token_until = "", 0.0

    def send(self, *, openid: str, template_id: str, data: dict[str, str], page: str = "") -> str:
        """Send one subscription message; its ``msgid`` (``""`` when none is given).

        Raises ``NotSubscribed`` when the customer has no subscription for the template, ``DeliveryError``
        otherwise."""
        payload: dict = {
            "touser": openid,
            "template_id": template_id,
            "data": {str(key): {"value": str(value)} for key, value in data.items()},
            "miniprogram_state": self.state,
            "lang": "zh_CN",
        }
        if page:
            payload["page"] = page
        token = self.access_token()
        answer = self._send_once(token, payload)
        if answer.get("errcode", 0) in _TOKEN_REFRESH_CODES:  # invalid or expired: a fresh token, one retry
            self._drop_token(token)
            answer = self._send_once(self.access_token(), payload)
        code = answer.get("errcode", 0)
        if code == 0:
            msgid = answer.get("msgid")
            return "" if msgid is None else str(msgid)
        message = f"{self.label} subscribeMessage.send: errcode {code}: {answer.get('errmsg', '')}"
        if code == _NOT_SUBSCRIBED:
            raise NotSubscribed(message)
        raise DeliveryError(message)

    def _send_once(self, token: str, payload: dict) -> dict:
        url = f"{self.api_base}/cgi-bin/message/subscribe/send?access_token={quote(token, safe='')}"
        return self._post(url, payload, "subscribeMessage.send")


# --- From settings ----------------------------------------------------------------------------------------------


def _setting(name: str, default: str = "") -> str:
    value = getattr(settings, name, default)
    return "" if value is None else str(value).strip()


def _require(names: tuple[str, ...], why: str) -> None:
    missing = [name for name in names if not _setting(name)]
    if missing:
        raise ImproperlyConfigured(f"{why} needs {', '.join(missing)}")


def sms_provider() -> SmsProvider | None:
    """The SMS provider named by ``SMS_PROVIDER`` ("aliyun" or "tencent"); ``None`` when it is empty or unset."""
    name = _setting("SMS_PROVIDER").lower()
    if not name:
        return None
    endpoint = _setting("SMS_ENDPOINT")
    region = _setting("SMS_REGION")
    if name == "aliyun":
        _require(("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME"), "SMS_PROVIDER = 'aliyun'")
        return AliyunSms(
            access_key_id=_setting("SMS_ACCESS_KEY_ID"),
            access_key_secret=_setting("SMS_ACCESS_KEY_SECRET"),
            sign_name=_setting("SMS_SIGN_NAME"),
            endpoint=endpoint or "https://dysmsapi.aliyuncs.com/",
            region=region or "cn-hangzhou",
        )
    if name == "tencent":
        _require(
            ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SDK_APP_ID", "SMS_SIGN_NAME"),
            "SMS_PROVIDER = 'tencent'",
        )
        return TencentSms(
            secret_id=_setting("SMS_ACCESS_KEY_ID"),
            secret_key=_setting("SMS_ACCESS_KEY_SECRET"),
            sdk_app_id=_setting("SMS_SDK_APP_ID"),
            sign_name=_setting("SMS_SIGN_NAME"),
            region=region or "ap-guangzhou",
            endpoint=endpoint or "https://sms.tencentcloudapi.com/",
        )
    raise ImproperlyConfigured(f"SMS_PROVIDER = {name!r} is not a known SMS provider: use '', 'aliyun' or 'tencent'")


def mini_program() -> MiniProgramMessages | None:
    """The mini-program of ``MINIPROGRAM_APP_ID`` / ``MINIPROGRAM_APP_SECRET``; ``None`` when no app id is set."""
    if not _setting("MINIPROGRAM_APP_ID"):
        return None
    _require(("MINIPROGRAM_APP_SECRET",), "MINIPROGRAM_APP_ID")
    state = _setting("MINIPROGRAM_STATE") or "formal"
    if state not in MINIPROGRAM_STATES:
        raise ImproperlyConfigured(f"MINIPROGRAM_STATE = {state!r}: use one of {', '.join(MINIPROGRAM_STATES)}")
    return MiniProgramMessages(
        app_id=_setting("MINIPROGRAM_APP_ID"),
        app_secret=_setting("MINIPROGRAM_APP_SECRET"),
        api_base=_setting("MINIPROGRAM_API_BASE") or "https://api.weixin.qq.com",
        state=state,
    )

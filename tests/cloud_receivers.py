"""Local stand-ins for the clouds that carry customer messages (Alibaba Cloud SMS, Tencent Cloud SMS, WeChat's
mini-program API): each checks a request the way its cloud does, written from the published specs (not by calling
the module's signing functions), and answers with the cloud's own codes. Loaded as a pytest plugin
(``tests/conftest.py``): the fixtures ``aliyun``, ``tencent``, ``wechat`` and ``moved`` start one on 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ALIYUN_ID, ALIYUN_SECRET = "LTAI5tTestAccessKey", "aliyun+secret/0123*~"
TENCENT_ID, TENCENT_KEY = "AKIDTestSecretId0123", "tencent-secret-key-0123"
SDK_APP_ID = "1400000001"
WX_APP_ID, WX_SECRET = "wx0123456789abcdef", "wechat-app-secret-0123"
PHONE = "13800138000"
PARAMS = {
    "case": "RMA-2024-0042",
    "status": "已收货",
    "amount": "99.50 元",
    "note": "*满减* ~ 1+1=2&",
}  # ordered: Tencent takes the values


class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records each request and answers with ``answer()``."""

    def __init__(self):
        self.received: list[tuple[str, str, dict, bytes]] = []
        self.errors: list[BaseException] = []  # a fault in the stand-in itself fails the test at teardown
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.received.append((self.command, self.path, headers, body))
                try:
                    status, extra, payload = receiver.answer(self.command, self.path, headers, body)
                except Exception as exc:
                    receiver.errors.append(exc)
                    status, extra, payload = 500, {}, b"stand-in fault"
                self.send_response(status)
                for name, value in {"Content-Type": "application/json;charset=utf-8", **extra}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = handle_one

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.base = f"http://{self.host}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        raise NotImplementedError

    @staticmethod
    def reply(status: int, payload: dict, **headers) -> tuple[int, dict, bytes]:
        return status, headers, json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        assert not self.errors, self.errors


# --- Alibaba Cloud stand-in -------------------------------------------------------------------------------------


def spec_percent_encode(value: str) -> str:
    """Alibaba Cloud's own recipe: form-encode in UTF-8, then ``+`` → ``%20``, ``*`` → ``%2A``, ``%7E`` → ``~``."""
    return (
        urllib.parse.quote_plus(value, safe="", encoding="utf-8")
        .replace("+", "%20")
        .replace("*", "%2A")
        .replace("%7E", "~")
    )


def spec_rpc_signature(fields: dict[str, str], secret: str, method: str) -> str:
    pairs = sorted((spec_percent_encode(k), spec_percent_encode(v)) for k, v in fields.items() if k != "Signature")
    canonical = "&".join(f"{k}={v}" for k, v in pairs)
    string_to_sign = method + "&" + spec_percent_encode("/") + "&" + spec_percent_encode(canonical)
    return base64.b64encode(hmac.new((secret + "&").encode(), string_to_sign.encode(), "sha1").digest()).decode()


class FakeAliyun(Receiver):
    """dysmsapi's SendSms: refuses what Aliyun refuses, with its codes and HTTP statuses."""

    REQUIRED = (
        "AccessKeyId",
        "Action",
        "Format",
        "SignatureMethod",
        "SignatureNonce",
        "SignatureVersion",
        "Timestamp",
        "Version",
        "Signature",
        "PhoneNumbers",
        "SignName",
        "TemplateCode",
    )

    def __init__(self):
        super().__init__()
        self.nonces: set[str] = set()
        self.accepted: list[dict[str, str]] = []
        self.business_code = ""  # e.g. isv.BUSINESS_LIMIT_CONTROL: answered with HTTP 200, like Aliyun

    def refuse(self, status: int, code: str, message: str):
        return self.reply(status, {"RequestId": str(uuid.uuid4()), "Code": code, "Message": message})

    def answer(self, method, path, headers, body):
        if method != "POST" or not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return self.refuse(400, "InvalidParameter", "expected a form-encoded POST")
        fields = dict(urllib.parse.parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True))
        for name in self.REQUIRED:
            if not fields.get(name):
                return self.refuse(400, f"Missing{name}", f"{name} is mandatory for this action.")
        expected = {
            "Action": "SendSms",
            "Version": "2017-05-25",
            "Format": "JSON",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
        }
        for name, value in expected.items():
            if fields[name] != value:
                return self.refuse(400, f"Invalid{name}", f"{name} {fields[name]!r} is not {value!r}")
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fields["Timestamp"]):
            return self.refuse(
                400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
            )
        sent_at = datetime.strptime(fields["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs((datetime.now(UTC) - sent_at).total_seconds()) > 900:
            return self.refuse(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        if fields["AccessKeyId"] != ALIYUN_ID:
            return self.refuse(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if not hmac.compare_digest(fields["Signature"], spec_rpc_signature(fields, ALIYUN_SECRET, method)):
            return self.refuse(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        if fields["SignatureNonce"] in self.nonces:
            return self.refuse(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces.add(fields["SignatureNonce"])
        if "TemplateParam" in fields:
            template_param = json.loads(fields["TemplateParam"])
            if not isinstance(template_param, dict) or not all(isinstance(v, str) for v in template_param.values()):
                return self.refuse(400, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if self.business_code:
            return self.reply(
                200, {"RequestId": str(uuid.uuid4()), "Code": self.business_code, "Message": "触发天级流控"}
            )
        self.accepted.append(fields)
        return self.reply(
            200,
            {
                "RequestId": str(uuid.uuid4()),
                "Code": "OK",
                "Message": "OK",
                "BizId": f"9006197469364984{len(self.accepted)}^0",
            },
        )


# --- Tencent Cloud stand-in -------------------------------------------------------------------------------------

AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d\d-\d\d)/(?P<service>[a-z]+)/tc3_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


class FakeTencent(Receiver):
    """sms.tencentcloudapi.com's SendSms (2021-01-11): always HTTP 200, errors in ``Response.Error``."""

    def __init__(self):
        super().__init__()
        self.accepted: list[dict] = []
        self.status_code = "Ok"  # what SendStatusSet says for each number

    def error(self, code: str, message: str):
        return self.reply(
            200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}}
        )

    def answer(self, method, path, headers, body):
        match = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
        if not match:
            return self.error("AuthFailure.InvalidAuthorization", "Authorization is not TC3-HMAC-SHA256.")
        if match["id"] != TENCENT_ID:
            return self.error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = headers.get("x-tc-timestamp", "")
        if not timestamp.isdigit():
            return self.error("MissingParameter", "X-TC-Timestamp is missing.")
        if abs(time.time() - int(timestamp)) > 300:
            return self.error("AuthFailure.SignatureExpire", "Signature expired, timestamp is more than 5 minutes off.")
        if match["date"] != datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d"):
            return self.error("AuthFailure.InvalidAuthorization", "The credential scope date is not X-TC-Timestamp's.")
        if match["service"] != "sms":
            return self.error("AuthFailure.InvalidAuthorization", "The credential scope service is not sms.")
        signed = match["signed"].split(";")
        if "content-type" not in signed or "host" not in signed or signed != sorted(signed):
            return self.error("AuthFailure.InvalidAuthorization", "SignedHeaders must hold content-type and host.")
        url = urllib.parse.urlsplit(path)
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed)
        canonical_request = f"{method}\n{url.path}\n{url.query}\n{canonical_headers}\n{match['signed']}\n{hashlib.sha256(body).hexdigest()}"
        string_to_sign = (
            f"TC3-HMAC-SHA256\n{timestamp}\n{match['date']}/sms/tc3_request\n"
            f"{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        )
        key = ("TC3" + TENCENT_KEY).encode()
        for part in (match["date"], "sms", "tc3_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(
            match["signature"], hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        ):
            return self.error(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        if headers.get("host") != self.host:
            return self.error("AuthFailure.InvalidAuthorization", f"Host {headers.get('host')!r} is not this endpoint.")
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return self.error("InvalidAction", "The action or version is not SendSms 2021-01-11.")
        if not headers.get("x-tc-region"):
            return self.error("MissingParameter", "X-TC-Region is missing.")
        request = json.loads(body)
        numbers = request.get("PhoneNumberSet")
        if not isinstance(numbers, list) or not all(
            isinstance(n, str) and re.fullmatch(r"\+\d{6,15}", n) for n in numbers
        ):
            return self.error("InvalidParameterValue.IncorrectPhoneNumber", "PhoneNumberSet is not E.164.")
        if request.get("SmsSdkAppId") != SDK_APP_ID:
            return self.error("FailedOperation.InvalidSdkAppId", "SmsSdkAppId is not this account's.")
        if not request.get("SignName") or not request.get("TemplateId"):
            return self.error("MissingParameter", "SignName and TemplateId are required.")
        template_params = request.get("TemplateParamSet")
        if not isinstance(template_params, list) or not all(isinstance(p, str) for p in template_params):
            return self.error("InvalidParameterValue.TemplateParameterFormatError", "TemplateParamSet takes strings.")
        self.accepted.append({"headers": headers, "body": request})
        ok = self.status_code == "Ok"
        statuses = [
            {
                "SerialNo": f"5000:10457106691570536578494996{len(self.accepted):02d}" if ok else "",
                "PhoneNumber": number,
                "Fee": 1 if ok else 0,
                "SessionContext": "",
                "Code": self.status_code,
                "Message": "send success" if ok else "the number has reached its daily limit",
                "IsoCode": "CN",
            }
            for number in numbers
        ]
        return self.reply(200, {"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}})


# --- WeChat stand-in --------------------------------------------------------------------------------------------


class FakeWeChat(Receiver):
    """api.weixin.qq.com: ``stable_token`` and ``subscribeMessage.send``, with the errcodes WeChat uses."""

    def __init__(self):
        super().__init__()
        self.valid: set[str] = set()
        self.expired: set[str] = set()
        self.token_requests = 0
        self.sends: list[dict] = []  # every send request that reached the message check
        self.delivered: list[dict] = []
        self.refused: set[str] = set()  # openids without a subscription: 43101
        self.expire_every_send = False

    def expire_tokens(self):
        self.expired |= self.valid
        self.valid = set()

    def answer(self, method, path, headers, body):
        url = urllib.parse.urlsplit(path)
        if method != "POST":
            return self.reply(200, {"errcode": 43002, "errmsg": "require POST method"})
        request = json.loads(body or b"{}")
        if url.path == "/cgi-bin/stable_token":
            if request.get("grant_type") != "client_credential":
                return self.reply(200, {"errcode": 40002, "errmsg": "invalid grant_type"})
            if request.get("appid") != WX_APP_ID:
                return self.reply(200, {"errcode": 40013, "errmsg": "invalid appid"})
            if request.get("secret") != WX_SECRET:
                return self.reply(200, {"errcode": 40125, "errmsg": "invalid appsecret"})
            self.token_requests += 1
            token = f"ACCESS_TOKEN_{self.token_requests}_{uuid.uuid4().hex}"
            self.valid.add(token)
            return self.reply(200, {"access_token": token, "expires_in": 7200})
        if url.path == "/cgi-bin/message/subscribe/send":
            token = urllib.parse.parse_qs(url.query).get("access_token", [""])[0]
            self.sends.append(request)
            if token in self.expired:
                return self.reply(200, {"errcode": 42001, "errmsg": "access_token expired rid: 6566"})
            if token not in self.valid:
                return self.reply(
                    200, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
                )
            if self.expire_every_send:
                self.expire_tokens()
                return self.reply(200, {"errcode": 42001, "errmsg": "access_token expired rid: 6567"})
            data = request.get("data")
            shape_ok = (
                isinstance(request.get("touser"), str)
                and request["touser"]
                and isinstance(request.get("template_id"), str)
                and request["template_id"]
                and isinstance(data, dict)
                and data
                and all(
                    isinstance(v, dict) and set(v) == {"value"} and isinstance(v["value"], str) for v in data.values()
                )
                and request.get("miniprogram_state") in ("developer", "trial", "formal")
                and request.get("lang") in ("zh_CN", "en_US", "zh_HK", "zh_TW")
                and isinstance(request.get("page", ""), str)
            )
            if not shape_ok:
                return self.reply(200, {"errcode": 47003, "errmsg": "argument invalid! data.value invalid"})
            if request["touser"] in self.refused:
                return self.reply(200, {"errcode": 43101, "errmsg": "user refuse to accept the msg rid: 6568"})
            self.delivered.append(request)
            return self.reply(200, {"errcode": 0, "errmsg": "ok", "msgid": 1988810812324364290 + len(self.delivered)})
        return self.reply(404, {"errcode": 404, "errmsg": "not found"})


class Moved(Receiver):
    """Answers every POST with a 302 to a page that would look like success, if a client followed it."""

    def answer(self, method, path, headers, body):
        if method == "POST":
            return 302, {"Location": f"{self.base}/landing"}, b""
        return self.reply(200, {"Code": "OK", "BizId": "followed", "errcode": 0, "access_token": "followed"})


@pytest.fixture
def aliyun():
    cloud = FakeAliyun()
    yield cloud
    cloud.close()


@pytest.fixture
def tencent():
    cloud = FakeTencent()
    yield cloud
    cloud.close()


@pytest.fixture
def wechat():
    cloud = FakeWeChat()
    yield cloud
    cloud.close()


@pytest.fixture
def moved():
    cloud = Moved()
    yield cloud
    cloud.close()

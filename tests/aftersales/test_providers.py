"""SMS (Alibaba Cloud, Tencent Cloud) and WeChat mini-program messages against local stand-ins for the clouds.

Each stand-in checks a request the way its cloud does, written from the published specs (not by calling the
module's signing functions): Aliyun recomputes the RPC HMAC-SHA1 signature from the received form fields,
Tencent rebuilds the TC3-HMAC-SHA256 canonical request from the received method, path, headers and body,
WeChat checks the access token and the message's JSON shape. A wrong signature gets the cloud's own refusal.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time
import types

import pytest
from django.core.exceptions import ImproperlyConfigured

from aftersales.notifications import providers
from aftersales.notifications.delivery import DeliveryError
from aftersales.notifications.providers import (
    AliyunSms,
    MiniProgramMessages,
    NotSubscribed,
    TencentSms,
    aliyun_percent_encode,
    aliyun_signature,
    e164_phone,
    mini_program,
    sms_provider,
    tencent_authorization,
)
from tests.cloud_receivers import (
    ALIYUN_ID,
    ALIYUN_SECRET,
    PARAMS,
    PHONE,
    SDK_APP_ID,
    TENCENT_ID,
    TENCENT_KEY,
    WX_APP_ID,
    WX_SECRET,
    Receiver,
    spec_rpc_signature,
)


def aliyun_sms(cloud, *, secret=ALIYUN_SECRET) -> AliyunSms:
    return AliyunSms(access_key_id=ALIYUN_ID, access_key_secret=secret, sign_name="售后服务", endpoint=f"{cloud.base}/")


def tencent_sms(cloud, *, key=TENCENT_KEY) -> TencentSms:
    return TencentSms(
        secret_id=TENCENT_ID, secret_key=key, sdk_app_id=SDK_APP_ID, sign_name="售后服务", endpoint=f"{cloud.base}/"
    )


def messages(cloud, *, secret=WX_SECRET) -> MiniProgramMessages:
    return MiniProgramMessages(app_id=WX_APP_ID, app_secret=secret, api_base=cloud.base)


class Tamper:
    """Stands in for the opener: changes the body after it was signed, then sends it on."""

    def __init__(self, opener, old: bytes, new: bytes):
        self.opener, self.old, self.new = opener, old, new

    def open(self, request, timeout):
        assert self.old in request.data
        request.data = request.data.replace(self.old, self.new)
        return self.opener.open(request, timeout=timeout)


# --- Published example vectors ----------------------------------------------------------------------------------


def test_aliyun_signature_matches_the_rpc_documentation_example():
    # Alibaba Cloud "Request signature" (RPC, signature version 1.0), section "Example": DescribeRegions, GET.
    params = {
        "Timestamp": "2016-02-23T12:46:24Z",
        "Format": "XML",
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }
    assert aliyun_signature(params, "testsecret", "GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    assert aliyun_signature({**params, "Signature": "ignored"}, "testsecret", "GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_signature_matches_the_sms_documentation_example():
    # Alibaba Cloud SMS "HTTP protocol and signature" example: SendSms with a Chinese SignName, GET, key testSecret&.
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature(params, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    # The same request POSTed signs differently: the method is part of the StringToSign.
    assert aliyun_signature(params, "testSecret") == spec_rpc_signature(params, "testSecret", "POST")
    assert aliyun_signature(params, "testSecret") != "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_aliyun_percent_encoding_is_rfc_3986_with_space_as_20():
    assert aliyun_percent_encode("a b*c~d/e+f=") == "a%20b%2Ac~d%2Fe%2Bf%3D"
    assert aliyun_percent_encode("已") == "%E5%B7%B2"
    assert aliyun_percent_encode("2016-02-23T12:46:24Z") == "2016-02-23T12%3A46%3A24Z"


def test_tencent_authorization_matches_the_signature_v3_documentation_example():
    # Tencent Cloud "Signature v3" worked example: CVM DescribeInstances, X-TC-Timestamp 1551113065.
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    assert hashlib.sha256(payload).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    authorization = tencent_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        host="cvm.tencentcloudapi.com",
        payload=payload,
        timestamp=1551113065,
        service="cvm",
    )
    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )  # 2019-02-25: the UTC date, though it is already the 26th in Beijing


# --- Alibaba Cloud ----------------------------------------------------------------------------------------------


def test_aliyun_send_is_accepted_by_the_receiver_and_returns_the_biz_id(aliyun):
    sms = aliyun_sms(aliyun)
    assert sms.send(phone=PHONE, template="SMS_465890123", params=PARAMS) == "90061974693649841^0"
    assert sms.send(phone=PHONE, template="SMS_465890123", params=PARAMS) == "90061974693649842^0"
    first, second = aliyun.accepted
    assert first["SignatureNonce"] != second["SignatureNonce"]
    assert (first["PhoneNumbers"], first["SignName"], first["TemplateCode"]) == (PHONE, "售后服务", "SMS_465890123")
    assert json.loads(first["TemplateParam"], object_pairs_hook=list) == list(PARAMS.items())
    assert first["RegionId"] == "cn-hangzhou"
    method, path, _headers, _body = aliyun.received[0]
    assert (method, path) == ("POST", "/")


def test_aliyun_refuses_a_wrong_secret(aliyun):
    with pytest.raises(DeliveryError, match="SignatureDoesNotMatch") as caught:
        aliyun_sms(aliyun, secret="not-the-secret").send(phone=PHONE, template="SMS_1", params=PARAMS)
    assert "not-the-secret" not in str(caught.value)
    assert not aliyun.accepted


def test_aliyun_refuses_a_body_changed_after_signing(aliyun, monkeypatch):
    monkeypatch.setattr(providers, "_OPENER", Tamper(providers._OPENER, PHONE.encode(), b"13900139000"))
    with pytest.raises(DeliveryError, match="SignatureDoesNotMatch"):
        aliyun_sms(aliyun).send(phone=PHONE, template="SMS_1", params=PARAMS)
    assert not aliyun.accepted


def test_aliyun_error_code_in_a_200_answer_raises(aliyun):
    aliyun.business_code = "isv.BUSINESS_LIMIT_CONTROL"
    with pytest.raises(DeliveryError, match=re.escape("isv.BUSINESS_LIMIT_CONTROL: 触发天级流控")):
        aliyun_sms(aliyun).send(phone=PHONE, template="SMS_1", params=PARAMS)


def test_aliyun_unknown_access_key_raises_with_the_providers_code(aliyun):
    sms = AliyunSms(access_key_id="LTAI-other", access_key_secret=ALIYUN_SECRET, sign_name="售后", endpoint=aliyun.base)
    with pytest.raises(DeliveryError, match=re.escape("InvalidAccessKeyId.NotFound")):
        sms.send(phone=PHONE, template="SMS_1", params={})


# --- Tencent Cloud ----------------------------------------------------------------------------------------------


def test_tencent_send_is_accepted_by_the_receiver_and_returns_the_serial_no(tencent):
    assert tencent_sms(tencent).send(phone=PHONE, template="1234567", params=PARAMS) == (
        "5000:1045710669157053657849499601"
    )
    (seen,) = tencent.accepted
    assert seen["headers"]["host"] == tencent.host  # with the port, as signed
    assert seen["headers"]["x-tc-region"] == "ap-guangzhou"
    assert seen["body"] == {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": SDK_APP_ID,
        "SignName": "售后服务",
        "TemplateId": "1234567",
        "TemplateParamSet": ["RMA-2024-0042", "已收货", "99.50 元", "*满减* ~ 1+1=2&"],
    }


def test_tencent_keeps_a_number_that_already_has_a_country_code(tencent):
    tencent_sms(tencent).send(phone="+85261234567", template="1", params={"code": "1"})
    assert tencent.accepted[0]["body"]["PhoneNumberSet"] == ["+85261234567"]
    assert e164_phone(" 13800138000 ") == "+8613800138000"
    assert e164_phone("+8613800138000") == "+8613800138000"


def test_tencent_refuses_a_wrong_key(tencent):
    with pytest.raises(DeliveryError, match=re.escape("AuthFailure.SignatureFailure")) as caught:
        tencent_sms(tencent, key="not-the-key").send(phone=PHONE, template="1", params=PARAMS)
    assert "not-the-key" not in str(caught.value)
    assert not tencent.accepted


def test_tencent_refuses_a_body_changed_after_signing(tencent, monkeypatch):
    monkeypatch.setattr(providers, "_OPENER", Tamper(providers._OPENER, PHONE.encode(), b"13900139000"))
    with pytest.raises(DeliveryError, match=re.escape("AuthFailure.SignatureFailure")):
        tencent_sms(tencent).send(phone=PHONE, template="1", params=PARAMS)
    assert not tencent.accepted


def test_tencent_refuses_a_request_signed_too_long_ago(tencent, monkeypatch):
    an_hour_ago = types.SimpleNamespace(time=lambda: time.time() - 3600)
    monkeypatch.setattr(providers, "time", an_hour_ago)
    with pytest.raises(DeliveryError, match=re.escape("AuthFailure.SignatureExpire")):
        tencent_sms(tencent).send(phone=PHONE, template="1", params=PARAMS)


def test_tencent_per_number_failure_raises(tencent):
    tencent.status_code = "LimitExceeded.PhoneNumberDailyLimit"
    with pytest.raises(DeliveryError, match=re.escape("LimitExceeded.PhoneNumberDailyLimit: the number has reached")):
        tencent_sms(tencent).send(phone=PHONE, template="1", params=PARAMS)


# --- WeChat mini-program ----------------------------------------------------------------------------------------


def test_wechat_fetches_the_token_once_and_reuses_it(wechat):
    client = messages(wechat)
    data = {"thing1": "退货申请 RMA-2024-0042", "phrase2": "已收货"}
    assert client.send(openid="o-buyer-1", template_id="TPL-progress", data=data, page="pages/case?id=42") == (
        "1988810812324364291"
    )
    assert client.send(openid="o-buyer-2", template_id="TPL-progress", data=data) == "1988810812324364292"
    assert wechat.token_requests == 1
    first, second = wechat.delivered
    assert first == {
        "touser": "o-buyer-1",
        "template_id": "TPL-progress",
        "page": "pages/case?id=42",
        "data": {"thing1": {"value": "退货申请 RMA-2024-0042"}, "phrase2": {"value": "已收货"}},
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    }
    assert "page" not in second


def test_wechat_token_is_fetched_again_shortly_before_it_expires(wechat, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(providers, "_now", lambda: clock[0])
    client = messages(wechat)
    client.send(openid="o-buyer", template_id="T", data={"thing1": "a"})
    clock[0] += 6800  # expires_in 7200: still good
    client.send(openid="o-buyer", template_id="T", data={"thing1": "a"})
    assert wechat.token_requests == 1
    clock[0] += 200  # 7000 s: within the last five minutes, renewed before sending
    client.send(openid="o-buyer", template_id="T", data={"thing1": "a"})
    assert wechat.token_requests == 2
    assert len(wechat.sends) == 3  # no send was wasted on a stale token


def test_wechat_expired_token_is_refreshed_and_the_send_retried_once(wechat):
    client = messages(wechat)
    client.send(openid="o-buyer", template_id="T", data={"thing1": "a"})
    wechat.expire_tokens()  # e.g. the token was renewed elsewhere
    assert client.send(openid="o-buyer", template_id="T", data={"thing1": "b"}) == "1988810812324364292"
    assert wechat.token_requests == 2
    assert len(wechat.sends) == 3  # one refused with 42001, then the retry


def test_wechat_retries_only_once(wechat):
    wechat.expire_every_send = True
    with pytest.raises(DeliveryError, match="errcode 42001") as caught:
        messages(wechat).send(openid="o-buyer", template_id="T", data={"thing1": "a"})
    assert not isinstance(caught.value, NotSubscribed)
    assert len(wechat.sends) == 2 and wechat.token_requests == 2


def test_wechat_customer_without_subscription_raises_not_subscribed(wechat):
    wechat.refused.add("o-unsubscribed")
    with pytest.raises(NotSubscribed, match="errcode 43101"):
        messages(wechat).send(openid="o-unsubscribed", template_id="T", data={"thing1": "a"})
    assert issubclass(NotSubscribed, DeliveryError)
    assert len(wechat.sends) == 1  # not retried


def test_wechat_wrong_secret_fails_at_the_token_without_showing_it(wechat):
    with pytest.raises(DeliveryError, match="stable_token: errcode 40125") as caught:
        messages(wechat, secret="not-the-secret").send(openid="o-buyer", template_id="T", data={"thing1": "a"})
    assert "not-the-secret" not in str(caught.value) and "not-the-secret" not in repr(messages(wechat))
    assert not wechat.sends


def test_wechat_malformed_message_is_refused(wechat):
    with pytest.raises(DeliveryError, match="errcode 47003"):
        messages(wechat).send(openid="o-buyer", template_id="T", data={})


# --- Transport --------------------------------------------------------------------------------------------------

SENDERS = {
    "aliyun": lambda base: aliyun_sms(types.SimpleNamespace(base=base)).send(phone=PHONE, template="S", params=PARAMS),
    "tencent": lambda base: tencent_sms(types.SimpleNamespace(base=base)).send(
        phone=PHONE, template="1", params=PARAMS
    ),
    "wechat": lambda base: messages(types.SimpleNamespace(base=base)).send(
        openid="o", template_id="T", data={"a": "b"}
    ),
}


@pytest.mark.parametrize("provider", SENDERS)
def test_a_redirect_is_not_followed(provider, moved):
    with pytest.raises(DeliveryError, match="HTTP 302"):
        SENDERS[provider](moved.base)
    assert [method for method, _path, _headers, _body in moved.received] == ["POST"]  # no GET to the Location


@pytest.mark.parametrize("provider", SENDERS)
def test_a_refused_connection_raises(provider):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryError, match="refused"):
        SENDERS[provider](f"http://127.0.0.1:{port}")


@pytest.mark.parametrize("provider", SENDERS)
def test_a_silent_server_times_out(provider, monkeypatch):
    monkeypatch.setattr(providers, "TIMEOUT", 0.3)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # connections are queued, never answered
        with pytest.raises(DeliveryError, match="timed out"):
            SENDERS[provider](f"http://127.0.0.1:{silent.getsockname()[1]}")


def test_an_http_error_without_json_raises():
    class Broken(Receiver):
        def answer(self, method, path, headers, body):
            return 502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>"

    broken = Broken()
    try:
        for send in SENDERS.values():
            with pytest.raises(DeliveryError, match="HTTP 502"):
                send(broken.base)
    finally:
        broken.close()


# --- From settings ----------------------------------------------------------------------------------------------

SETTING_NAMES = (
    "SMS_PROVIDER",
    "SMS_SIGN_NAME",
    "SMS_ACCESS_KEY_ID",
    "SMS_ACCESS_KEY_SECRET",
    "SMS_SDK_APP_ID",
    "SMS_REGION",
    "SMS_ENDPOINT",
    "MINIPROGRAM_APP_ID",
    "MINIPROGRAM_APP_SECRET",
    "MINIPROGRAM_API_BASE",
    "MINIPROGRAM_STATE",
)


@pytest.fixture
def bare_settings(settings):
    for name in SETTING_NAMES:
        delattr(settings, name)
    return settings


def test_nothing_configured_means_no_provider(bare_settings):
    assert sms_provider() is None
    assert mini_program() is None
    bare_settings.SMS_PROVIDER = ""
    bare_settings.MINIPROGRAM_APP_ID = ""
    assert sms_provider() is None
    assert mini_program() is None


def test_aliyun_from_settings(bare_settings):
    bare_settings.SMS_PROVIDER = "aliyun"
    bare_settings.SMS_ACCESS_KEY_ID = ALIYUN_ID
    bare_settings.SMS_ACCESS_KEY_SECRET = ALIYUN_SECRET
    bare_settings.SMS_SIGN_NAME = "售后服务"
    provider = sms_provider()
    assert isinstance(provider, AliyunSms)
    assert (provider.endpoint, provider.region, provider.sign_name) == (
        "https://dysmsapi.aliyuncs.com/",
        "cn-hangzhou",
        "售后服务",
    )
    assert ALIYUN_SECRET not in repr(provider)
    bare_settings.SMS_ENDPOINT = "https://dysmsapi.ap-southeast-1.aliyuncs.com/"
    assert sms_provider().endpoint == "https://dysmsapi.ap-southeast-1.aliyuncs.com/"


def test_tencent_from_settings(bare_settings):
    bare_settings.SMS_PROVIDER = "tencent"
    bare_settings.SMS_ACCESS_KEY_ID = TENCENT_ID
    bare_settings.SMS_ACCESS_KEY_SECRET = TENCENT_KEY
    bare_settings.SMS_SIGN_NAME = "售后服务"
    bare_settings.SMS_SDK_APP_ID = SDK_APP_ID
    bare_settings.SMS_REGION = "ap-beijing"
    provider = sms_provider()
    assert isinstance(provider, TencentSms)
    assert (provider.endpoint, provider.host, provider.region, provider.sdk_app_id) == (
        "https://sms.tencentcloudapi.com/",
        "sms.tencentcloudapi.com",
        "ap-beijing",
        SDK_APP_ID,
    )


def test_a_provider_without_its_credentials_is_a_configuration_error(bare_settings):
    bare_settings.SMS_PROVIDER = "tencent"
    bare_settings.SMS_ACCESS_KEY_ID = TENCENT_ID
    with pytest.raises(ImproperlyConfigured, match="SMS_ACCESS_KEY_SECRET, SMS_SDK_APP_ID, SMS_SIGN_NAME"):
        sms_provider()


def test_an_unknown_sms_provider_is_a_configuration_error(bare_settings):
    bare_settings.SMS_PROVIDER = "twilio"
    with pytest.raises(ImproperlyConfigured, match="SMS_PROVIDER"):
        sms_provider()


def test_mini_program_from_settings(bare_settings):
    bare_settings.MINIPROGRAM_APP_ID = WX_APP_ID
    bare_settings.MINIPROGRAM_APP_SECRET = WX_SECRET
    client = mini_program()
    assert isinstance(client, MiniProgramMessages)
    assert (client.app_id, client.api_base, client.state) == (WX_APP_ID, "https://api.weixin.qq.com", "formal")
    bare_settings.MINIPROGRAM_STATE = "trial"
    bare_settings.MINIPROGRAM_API_BASE = "http://127.0.0.1:9/"
    assert (mini_program().state, mini_program().api_base) == ("trial", "http://127.0.0.1:9")
    bare_settings.MINIPROGRAM_STATE = "beta"
    with pytest.raises(ImproperlyConfigured, match="MINIPROGRAM_STATE"):
        mini_program()
    bare_settings.MINIPROGRAM_STATE = "formal"
    bare_settings.MINIPROGRAM_APP_SECRET = ""
    with pytest.raises(ImproperlyConfigured, match="MINIPROGRAM_APP_SECRET"):
        mini_program()

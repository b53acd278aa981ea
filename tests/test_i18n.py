"""Chinese by default, English on request; the catalog is complete."""

from __future__ import annotations

from pathlib import Path

import polib
from django.urls import reverse
from django.utils import translation

from aftersales.models import CaseState

CATALOG = Path(__file__).resolve().parents[1] / "config" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _zh(message: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message)


def test_every_message_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(CATALOG))
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []


def test_state_labels_follow_the_active_language():
    with translation.override("zh-hans"):
        assert str(CaseState.PENDING_REVIEW.label) == "待审核"
        assert str(CaseState.CLOSED.label) == "已完成"
    with translation.override("en"):
        assert str(CaseState.PENDING_REVIEW.label) == "Pending review"


def test_pages_default_to_chinese_without_a_language_preference(client):
    response = client.get(reverse("admin:login"))
    assert response["Content-Language"] == "zh-hans"
    header = _zh("After-sales back office")
    assert header != "After-sales back office"
    assert header in response.content.decode()


def test_admin_switches_to_english_and_back(client, supervisor):
    supervisor.is_staff = True
    supervisor.save()
    client.force_login(supervisor)
    assert _zh("Supervisor console") in client.get(reverse("admin:index")).content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("admin:index")})
    assert response.status_code == 302
    page = client.get(reverse("admin:index"))
    assert page["Content-Language"] == "en"
    assert "Supervisor console" in page.content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert client.get(reverse("admin:index"))["Content-Language"] == "zh-hans"


ROOT = Path(__file__).resolve().parents[1]


def _source_messages() -> set[str]:
    """Messages marked in templates (``{% translate "…" %}``, ``{% blocktranslate %}…{% endblocktranslate %}``)
    and in Python (``_("…")``, one literal)."""
    import ast
    import re

    found: set[str] = set()
    tag = re.compile(r"""{%\s*(?:translate|trans)\s+(?:"([^"]+)"|'([^']+)')""")
    block = re.compile(r"{%\s*blocktrans(?:late)?\b(.*?)%}(.*?){%\s*endblocktrans(?:late)?\s*%}", re.S)
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for match in tag.finditer(text):
            # makemessages stores a template's literal % as %% (as the tag looks it up)
            found.add((match.group(1) or match.group(2)).replace("%", "%%"))
        for match in block.finditer(text):
            options, body = match.groups()
            for form in re.split(r"{%\s*plural\s*%}", body):  # singular, then plural
                message = re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", form.replace("%", "%%"))
                if "trimmed" in options:
                    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
                found.add(message)
    for app in ("aftersales", "customers", "reports", "config", "audit"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in {"_", "gettext", "gettext_lazy"}
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    found.add(node.args[0].value)
    return found


def test_every_message_in_the_sources_is_in_the_catalog():
    po = polib.pofile(str(CATALOG))
    translated = {entry.msgid for entry in po if entry.translated()}
    translated |= {entry.msgid_plural for entry in po if entry.translated() and entry.msgid_plural}
    missing = sorted(_source_messages() - translated)
    assert missing == [], f"run `make makemessages` and translate: {missing}"
    assert len(_source_messages()) > 300

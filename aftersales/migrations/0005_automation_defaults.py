"""Default SLA targets per colour, the risk thresholds row, and a starter emotion lexicon."""

from django.db import migrations

SLA = [
    # priority, first response (min), resolution (min)
    ("red", 15, 120),
    ("yellow", 60, 24 * 60),
    ("green", 4 * 60, 72 * 60),
]

LEXICON = [
    # word, kind, weight
    *[(w, "abusive", 3) for w in ["垃圾", "骗子", "傻逼", "混蛋", "王八蛋", "狗屎", "人渣", "去死", "黑心商家", "无耻", "坑人", "滚蛋"]],
    *[(w, "angry", 2) for w in ["气死", "愤怒", "恶心", "太差劲", "忍无可忍", "欺负人", "离谱", "搞什么", "什么破", "太过分", "失望透顶"]],
    *[(w, "threat", 2) for w in ["曝光", "12315", "消协", "工商局", "起诉", "律师", "媒体", "平台介入", "差评"]],
    ("投诉", "threat", 1),
    ("失望", "angry", 1),
    ("生气", "angry", 1),
]


def forwards(apps, schema_editor):
    SlaPolicy = apps.get_model("aftersales", "SlaPolicy")
    for priority, first, resolution in SLA:
        SlaPolicy.objects.get_or_create(
            priority=priority, defaults={"first_response_minutes": first, "resolution_minutes": resolution}
        )
    RiskThresholds = apps.get_model("aftersales", "RiskThresholds")
    if not RiskThresholds.objects.exists():
        RiskThresholds.objects.create()
    LexiconWord = apps.get_model("aftersales", "LexiconWord")
    for word, kind, weight in LEXICON:
        LexiconWord.objects.get_or_create(word=word, defaults={"kind": kind, "weight": weight})


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0004_automation")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

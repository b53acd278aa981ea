"""The emotion radar: segment the customer's text with jieba and listen for the lexicon's words.

Transparent on purpose: the result names every word it heard, its kind and
weight; the urgency it suggests is a fixed step function of the total weight.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from aftersales.models import LexiconWord

_lock = threading.Lock()


def _jieba():
    """jieba, quiet (it logs its dictionary loading at DEBUG level to stderr otherwise)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


_added: set[str] = set()


@dataclass(frozen=True)
class Radar:
    words: list[dict] = field(default_factory=list)  # [{"word", "kind", "weight"}]
    score: int = 0

    @property
    def abusive(self) -> bool:
        return any(hit["kind"] == LexiconWord.Kind.ABUSIVE for hit in self.words)

    @property
    def urgency(self) -> int:
        """1 calm; 3 upset; 4 angry; 5 furious (score ≥ 5)."""
        if self.score >= 5:
            return 5
        if self.score >= 3:
            return 4
        if self.score >= 1:
            return 3
        return 1


def _tokens(text: str, words: list[str]) -> set[str]:
    jieba = _jieba()
    with _lock:
        for word in words:
            if word not in _added:
                jieba.add_word(word, freq=200_000)
                _added.add(word)
    return set(jieba.lcut(text))


def analyse(text: str) -> Radar:
    """Hits of the active lexicon in ``text`` (one query for the lexicon)."""
    text = (text or "").strip()
    if not text:
        return Radar()
    lexicon = {
        word: (kind, weight)
        for word, kind, weight in LexiconWord.objects.filter(active=True).values_list("word", "kind", "weight")
    }
    if not lexicon:
        return Radar()
    tokens = _tokens(text, list(lexicon))
    hits = [
        {"word": word, "kind": kind, "weight": weight}
        for word, (kind, weight) in sorted(lexicon.items())
        if word in tokens
    ]
    return Radar(hits, sum(hit["weight"] for hit in hits))


#: Words that say nothing about a defect.
STOPWORDS = frozenset(
    [
        "收到",
        "一次",
        "一样",
        "申请",
        "售后",
        "要求",
        "问题",
        "还是",
        "就是",
        "已经",
        "没有",
        "什么",
        "一下",
        "麻烦",
        "谢谢",
        "商品",
        "东西",
        "我们",
        "你们",
        "我的",
        "这个",
        "那个",
        "现在",
        "今天",
        "昨天",
        "时候",
        "感觉",
        "怎么",
        "可以",
        "希望",
        "处理",
        "一直",
        "而且",
        "但是",
        "然后",
        "不是",
        "需要",
        "发现",
        "直接",
        "几天",
        "两次",
        "三天",
        "一周",
        "刚收",
        "一件",
        "两件",
        "下单",
        "不了",
        "新买",
        "刚买",
        "突然",
        "这次",
        "之后",
        "以后",
        "收货",
        "到货",
        "一个",
        "两个",
        "一点",
    ]
)


def catalogue_words(names: Iterable[str], skus: Iterable[str] = ()) -> frozenset[str]:
    """Words that name the goods, not what is wrong with them: product and category names, their jieba words,
    and the parts of SKUs (lower case)."""
    jieba = _jieba()
    words: set[str] = set()
    for name in names:
        name = (name or "").strip()
        if name:
            words.add(name)
            words |= {word for word in jieba.lcut(name) if len(word) > 1}
    for sku in skus:
        words |= {part.lower() for part in re.split(r"[-_/.\s]+", sku or "") if len(part) > 1}
    return frozenset(words)


def keywords(text: str, *, top: int = 6, exclude: frozenset[str] = frozenset()) -> list[str]:
    """The reason's keywords for the defect word cloud (jieba TF-IDF, without stopwords, digits, single characters
    and the words of ``exclude``: the goods' own names, from ``catalogue_words``)."""
    _jieba()
    import jieba.analyse

    text = (text or "").strip()
    if not text:
        return []
    words = jieba.analyse.extract_tags(text, topK=top + 6 + len(exclude))
    return [
        w
        for w in words
        if len(w) > 1
        and not w.isdigit()
        and w not in STOPWORDS
        and len(w) <= 30
        and w not in exclude
        and w.lower() not in exclude
    ][:top]

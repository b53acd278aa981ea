"""The emotion radar: segment the customer's text with jieba and listen for the lexicon's words.

Transparent on purpose: the result names every word it heard, its kind and
weight; the urgency it suggests is a fixed step function of the total weight.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from aftersales.models import LexiconWord

_lock = threading.Lock()
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
    import jieba

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
    lexicon = {word: (kind, weight) for word, kind, weight in LexiconWord.objects.filter(active=True).values_list("word", "kind", "weight")}
    if not lexicon:
        return Radar()
    tokens = _tokens(text, list(lexicon))
    hits = [
        {"word": word, "kind": kind, "weight": weight}
        for word, (kind, weight) in sorted(lexicon.items())
        if word in tokens
    ]
    return Radar(hits, sum(hit["weight"] for hit in hits))

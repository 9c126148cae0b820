"""The ask classifier `refbot serve` and `refbot socket` use: a logistic regression over the word classes of
a message, trained on `bot/shadow_data/` and shipped as `bot/shadow_data/model.json`.

Why this shape (issue 17): the phrase list in `bot/shadow.py` catches the asks it was tuned on and misses the
ones that use other words ("who can vouch?", "a champion who'd do 15 mins with procurement"). A linear model
learns from labelled messages which words and word pairs make an ask; reading each word as its class where it
has one (an industry, a region, a way to name a customer, to speak for us, to ask, our own staff, the past, a
company's name, …) lets it carry what it learnt to words it never saw in that place. The choice was made by
5-fold cross-validation on the training part only (see `bot.shadow_build`; recall at 1% false positives out
of fold, on the training part before its second fresh batch): word classes 0.87, raw word and character
n-grams 0.76, either with the phrase classifier's signals as extra features 0.77 (tuned on the original
corpus, they fire confidently on hard negatives), sentence embeddings from wordllama's in-wheel weights 0.45
alone and 0.80 beside the n-grams — for ~60 MB more per process and a loader that reaches for the network
(wordllama 0.4 looks for its shipped tokenizer in the wrong folder).

Scoring is a dictionary lookup per feature and a sum, in plain Python: no numpy, no scikit-learn, no network
and no download at run time. scikit-learn only *builds* the file (`python -m bot.shadow_build`, reproducible
from the data in the repository; `tests/test_shadow_model.py` checks the shipped file is what it builds).
The model is loaded once, by `create_app`, and reaches the listener through `Deps`: importing this module
does nothing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from bot import shadow
from bot.shadow import Signal, Verdict

MODEL_FILE = "model.json"
FORMAT = 1
EXPLAINED = 6  # the strongest features shown by `Verdict.explain()`

_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|\?")
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w&-]*)")

# Word classes: a message is read as a sequence of classes where a word has one ("a IND in REG who SPEAK to
# ORG"), so what is learnt from "a bank in Germany who'd talk to Allianz" carries over to "an insurer in Japan
# who could chat with MUFG". The words are the domain's, not the corpus's: industries and regions come from
# the guesser's own families; the rest are the small closed sets of ways to name a customer, to speak for us,
# to ask, and to talk about something else (our own staff, the past, how the program works).
_CLASS_WORDS: dict[str, str] = {
    "IND": (
        "insurer insurers carrier carriers operator operators telco telcos broadcaster broadcasters university "
        "universities college colleges hospital hospitals retailer retailers manufacturer manufacturers utility "
        "utilities council agency agencies studio studios firm firms brand brands company companies org orgs "
        "organisation organization bank banks trust neobank insurtech fintech pharma biotech"
    ),
    "REF": "reference references referenceable",
    "CUST": "customer customers client clients account accounts champion champions user users peer peers "
    "advocate advocates",
    "SPEAK": "talk talks talking speak speaks speaking chat chatting vouch hop jump call calls walk tell telling "
    "hear share compare spend meet intro introduce connect zoom phone",
    "VISIT": "visit visits host hosts tour floor in-person on-site onsite",
    "ASSET": "story stories case study studies testimonial testimonials quote quotes logo logos slide write-up "
    "written win published words sentence one-liner",
    "PUBLIC": "named name namecheck name-drop mention cleared approved allowed show announce co-announce "
    "announcement press release website blog ebook landing",
    "ANALYST": "analyst analysts gartner forrester idc mq wave marketscape journalist reporter podcast interview "
    "briefing",
    "ROLE": "cto ceo cfo cio ciso coo cmio vp head director",
    "STAFF": "legal product pm engineer engineers engineering support finance counsel marketing comms se csm sdr "
    "ae hr facilities",
    "PROSPECT": "prospect prospects buyer buyers procurement board",
    "WANT": "need needs needed looking want wants wanted asking asked asks insists request requesting require "
    "requires love help find line",
    "WHO": "who who's anyone anybody any someone somebody which names ideas thoughts suggestions volunteers "
    "takers nominate",
    "PAST": "was were went did gave had loved signed cancelled rescheduled done said",
    "META": "how why what where when ok okay process policy status",
    "NUM": "one two three four five couple few 1 2 3 4 5 6 7 8 9 10",
}
_NOT_POSSESSIVE = frozenset(
    ["who's", "it's", "that's", "what's", "there's", "let's", "he's", "she's", "here's", "where's"]
)


class AskClassifier(Protocol):
    """What the message listener needs: is this text a reference ask, and why."""

    def classify(self, text: str) -> Verdict: ...


def word_classes() -> dict[str, tuple[str, ...]]:
    """Each word's classes (built when a model is loaded: a few thousand entries)."""
    table: dict[str, list[str]] = {}
    for label, joined in _CLASS_WORDS.items():
        for word in joined.split():
            table.setdefault(word, []).append(label)
    for label, families in (("IND", shadow.INDUSTRIES), ("REG", shadow.REGIONS)):
        for family in families:
            for word in family.words:
                if " " not in word and word not in ("us", "na", "u.s.") and label not in table.get(word, []):
                    table.setdefault(word, []).append(label)
    return {word: tuple(labels) for word, labels in table.items()}


def _read(text: str, classes: Mapping[str, tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The message as a sequence of word classes (or the word itself, when it has none)."""
    original = shadow.readable(text[: shadow.MAX_CHARS])
    names = {m.group(1).lower() for m in _CAPITALISED.finditer(original)}
    sequence = []
    for token in _TOKEN.findall(shadow.words(text)):
        base = token.removesuffix("'s")
        found = list(classes.get(base, ()))
        if base != token and token not in _NOT_POSSESSIVE:
            found.append("POSS")
        if token in names or base in names:
            found.append("ORG")
        sequence.append(tuple(found) or (token,))
    return sequence


def features(text: str, classes: Mapping[str, tuple[str, ...]]) -> dict[str, float]:
    """The model's input for one message: unigrams and bigrams of its word classes, each 1/√n."""
    sequence = _read(text, classes)
    grams = {"u:" + a for alts in sequence for a in alts}
    for left, right in zip(sequence, sequence[1:], strict=False):
        grams.update(f"b:{a} {b}" for a in left for b in right)
    if not grams:
        return {}
    unit = 1.0 / math.sqrt(len(grams))
    return dict.fromkeys(grams, unit)


@dataclass(frozen=True)
class AskModel:
    """A trained linear model: weights by feature name, a bias, and the decision threshold on the logit."""

    weights: Mapping[str, float]
    bias: float
    threshold: float
    meta: Mapping[str, Any]
    classes: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AskModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"shadow model format {data.get('format')!r}, expected {FORMAT}")
        weights = {str(k): float(v) for k, v in data["weights"].items()}
        meta = dict(data.get("meta", {}))
        return cls(weights, float(data["bias"]), float(data["threshold"]), meta, word_classes())

    @classmethod
    def load(cls) -> AskModel:
        """The model shipped in the package (`bot/shadow_data/model.json`)."""
        raw = resources.files("bot").joinpath("shadow_data", MODEL_FILE).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(raw))

    def classify(self, text: str) -> Verdict:
        """An ask when the logit reaches the threshold; `score` is the logit, `signals` its strongest parts."""
        found = features(text, self.classes)
        contributions = [(name, self.weights[name] * value) for name, value in found.items() if name in self.weights]
        score = self.bias + sum(c for _, c in contributions)
        strongest = sorted(contributions, key=lambda nc: (-abs(nc[1]), nc[0]))[:EXPLAINED]
        signals = tuple(Signal(name, round(weight, 3), name.split(":", 1)[1].strip()) for name, weight in strongest)
        return Verdict(score >= self.threshold, round(score, 3), signals)


class PhraseClassifier:
    """The weighted-phrase classifier of `bot.shadow`, behind the same interface (the benchmark's baseline)."""

    def classify(self, text: str) -> Verdict:
        return shadow.classify(text)

"""Is this row the same company as that one? Normalised domains, company-name keys and the fuzzy test.

Two records are the same company when their normalised domains are equal, or — when their domains do
not contradict each other — when their names are: equal once case, punctuation, accents and legal
suffixes are folded away ("Acme, Inc." = "ACME Incorporated" = "Acme Inc"), or one typo apart
("Brightwave" = "Brigthwave"). A different distinguishing word is never a typo ("Acme Bank" ≠
"Acme Foods"), nor is a different number ("Acme 2" ≠ "Acme 3").

`NameClasses` finds the typo pairs without comparing every name with every other: each name is indexed
under itself and every one-character deletion of itself, and two names one edit apart (a substitution,
insertion, deletion or transposition) always share one of those keys. So the work grows with the number of
names times their length, not with its square, and rapidfuzz (OSA distance) then scores only the few names
a key shares.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import OSA


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Company-form words dropped from the end of a name: "Acme Corp" and "Acme Corporation" are one company.
LEGAL_SUFFIXES = _words(
    """
    inc incorporated corp corporation co cos company companies llc llp lp ltd limited plc pty pte pvt private
    gmbh mbh ag kg kgaa ohg ug ev se sa sas sasu sarl srl spa sl slu sau nv bv cv oy oyj ab as asa aps
    kk kft zrt sro spzoo zoo lda ltda sapi sab de
    """
)
# Long suffix words are recognised with one typo too ("Limted", "Corporaton").
_LONG_SUFFIXES = tuple(word for word in LEGAL_SUFFIXES if len(word) >= 6)
_CONNECTORS = frozenset({"and", "the", "of"})
# Addresses at these domains say nothing about the company (jane.doe@gmail.com is nobody's website).
FREEMAIL_DOMAINS = _words(
    """
    gmail.com googlemail.com outlook.com hotmail.com hotmail.co.uk live.com msn.com yahoo.com yahoo.co.uk
    ymail.com aol.com icloud.com me.com mac.com proton.me protonmail.com gmx.de gmx.net gmx.com web.de
    mail.com zoho.com yandex.ru mail.ru qq.com 163.com 126.com t-online.de orange.fr free.fr libero.it
    """
)

_NOT_A_HOST = re.compile(r"[\s\[\]\\]")  # spaces, an IPv6 literal's brackets, a Windows path
_JOINERS = re.compile(r"[.'’`´]")
_TOKEN = re.compile(r"[^\W_]+")

# Two different names are the same company only if `name_similarity` of their keys reaches this (0–100):
# one typo in a five-letter name (80) passes, one in a four-letter name (75) does not. Tuned on
# bench/generate_lists.py (see README "Performance").
NAME_SCORE_CUTOFF = 80.0


def name_key(name: str) -> str:
    """Lower-cased, whitespace-folded name: what `Customer.name_key` holds for exact look-ups."""
    return " ".join(name.lower().split())


def normalise_domain(value: str) -> str | None:
    """`https://www.Acme.com/about` → `acme.com`; an e-mail address gives its domain (not a webmail one)."""
    value = value.strip().lower()
    if not value:
        return None
    from_email = "@" in value
    if from_email:
        value = value.rsplit("@", 1)[1]
    scheme = value.find("://")
    if scheme >= 0:
        value = value[scheme + 3 :]
    for stop in ("/", "?", "#"):  # path, query, fragment
        cut = value.find(stop)
        if cut >= 0:
            value = value[:cut]
    host = value.split(":", 1)[0].removeprefix("www.").strip(".")  # without a port
    if from_email and host in FREEMAIL_DOMAINS:
        return None
    # "n/a", "-", "none": spreadsheet placeholders, not domains; two customers must not merge on them.
    if "." not in host or len(host) > 253 or _NOT_A_HOST.search(host):
        return None
    return host


def company_key(name: str) -> str:
    """The name with case, accents, punctuation and legal suffixes folded away: "Acme, Inc." → "acme"."""
    text = name.casefold()
    if not text.isascii():  # "Müller" → "muller", "Société" → "societe"
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = _JOINERS.sub("", text.replace("&", " and "))  # "A.C.M.E." → "acme", "O'Brien" → "obrien"
    tokens = _TOKEN.findall(text)
    while len(tokens) > 1 and tokens[0] == "the":
        tokens.pop(0)
    while len(tokens) > 1 and _is_dropped_at_end(tokens[-1]):
        tokens.pop()
    return " ".join(tokens) if tokens else name_key(name)


def _is_dropped_at_end(token: str) -> bool:
    """A legal form ("inc"), a connector left dangling by one ("smith and"), or a long form with a typo."""
    if token in LEGAL_SUFFIXES or token in _CONNECTORS:
        return True
    return len(token) >= 6 and any(OSA.distance(token, word, score_cutoff=1) <= 1 for word in _LONG_SUFFIXES)


def _typo_budget(length: int) -> int:
    """Edits a word of this length (the longer spelling) may carry and still be the same word."""
    if length <= 3:
        return 0
    return 1 if length <= 7 else 2


def name_similarity(a: str, b: str) -> float:
    """0–100: how alike two company keys are, a transposed pair of letters counting as one edit."""
    return OSA.normalized_similarity(a, b) * 100


def same_company_name(a: str, b: str, cutoff: float | None = None) -> bool:
    """True when two company keys name the same company: equal, spaced differently, or a typo apart.

    Word by word, because a different distinguishing word must never pass for a typo even when the rest
    of a long name makes the whole strings look alike ("acme bank" vs "acme foods"); words holding a
    digit must be equal ("acme 2" vs "acme 3"). The whole keys must also reach `cutoff`
    (default NAME_SCORE_CUTOFF), which keeps short names apart ("acme" vs "acne").
    """
    if a == b:
        return True
    if a.replace(" ", "") == b.replace(" ", ""):
        return True
    words_a, words_b = a.split(), b.split()
    if len(words_a) != len(words_b):
        return False
    edits = 0
    for x, y in zip(words_a, words_b, strict=True):
        if x == y:
            continue
        if any(ch.isdigit() for ch in x + y):
            return False
        distance = OSA.distance(x, y)
        if distance > _typo_budget(max(len(x), len(y))):
            return False
        edits += distance
    return edits <= 2 and name_similarity(a, b) >= (NAME_SCORE_CUTOFF if cutoff is None else cutoff)


def _deletion_keys(key: str) -> set[int]:
    probes = {hash(key)}
    for i in range(len(key)):
        probes.add(hash(key[:i] + key[i + 1 :]))
    return probes


class NameClasses:
    """Groups company keys that name the same company, each class around its most frequent spelling.

    Keys are added most frequent first. A new key joins the class of the closest earlier key it matches
    (`same_company_name`), provided it is also within the typo budget of that class's head, so a chain of
    typos cannot walk from one company's name to another's. A key that matches two classes whose heads
    are themselves within the typo budget of each other ("janre biotech" and "jandre biotehc", bridged by
    "jandre biotech") joins them into one. Ties go to the class with the more frequent head, so the result
    does not depend on the order of a hash.
    """

    def __init__(self) -> None:
        self._keys: list[str] = []
        self._class: list[int] = []  # per key: the index of the head key of the class it joined
        self._parent: list[int] = []  # per head: the head of the class it was joined into (itself if none)
        self._index: dict[int, int | list[int]] = {}
        self._number: dict[str, int] = {}

    def _root(self, head: int) -> int:
        parent = self._parent
        while parent[head] != head:
            parent[head] = parent[parent[head]]
            head = parent[head]
        return head

    def class_of(self, key: str) -> int:
        """The class of a key added before: the index of its head (equal for keys of one company)."""
        return self._root(self._class[self._number[key]])

    def add(self, key: str) -> None:
        """Put `key` in a class: an existing one when it matches one, else a new one it heads."""
        if key in self._number:
            return
        number = len(self._keys)
        probes = _deletion_keys(key) if len(key) >= 4 else set()
        matches: dict[int, float] = {}  # class root → best score of a key in it
        seen: set[int] = set()
        for probe in probes:
            found = self._index.get(probe)
            if found is None:
                continue
            for other in found if isinstance(found, list) else (found,):
                if other in seen:
                    continue
                seen.add(other)
                spelling, root = self._keys[other], self._root(self._class[other])
                if not same_company_name(key, spelling):
                    continue
                if root != other and not same_company_name(key, self._keys[root], cutoff=0):
                    continue
                score = name_similarity(key, spelling)
                if score > matches.get(root, -1.0):
                    matches[root] = score
        self._keys.append(key)
        self._number[key] = number
        self._parent.append(number)
        if not matches:
            self._class.append(number)
        else:
            best = max(matches, key=lambda root: (matches[root], -root))
            self._class.append(best)
            for root in sorted(matches):
                if root != best and same_company_name(self._keys[best], self._keys[root], cutoff=0):
                    self._parent[root] = best
        for probe in probes:
            found = self._index.get(probe)
            if found is None:
                self._index[probe] = number
            elif isinstance(found, list):
                found.append(number)
            else:
                self._index[probe] = [found, number]

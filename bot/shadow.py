"""Shadow-market capture: spot a reference ask in a watched channel, and guess what it asks for.

Reps often ask a channel ("anyone have a customer in healthcare we could use as a reference?") instead of
the program, and the customer they are handed was never checked (SPEC section 1). `words()` reads a message
as the classifiers see it. `classify()` is the original phrase classifier: weighted regular expressions over
those words, every verdict carrying its score and the phrases that fired. Since issue 17 the bot serves the
learnt model of `bot/shadow_model.py` instead (it generalises to asks in other words); `classify()` stays as
the baseline `bench/shadow_bench.py` measures the model against, on the data in `bot/shadow_data/`.

A message is an ask when it names something reference-like (a reference, a referenceable customer, a
customer who would talk to a prospect, a case study, a logo we may use, …) *and* its words add up past
`THRESHOLD` once ask phrasing ("anyone have", "need", "looking for", a question mark) is counted and the
ways people talk *about* references are subtracted ("for reference", "reference architecture", "was a
great reference", "the reference program", …).

`guess()` reads industry, region, kind of reference and prospect from the same words, to pre-fill the
request form; `align()` maps a guess onto the labels the customer list actually uses. The rest of the
module keeps the list of watched channels (`watch` / `unwatch`), each change in the audit log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.matching import Candidate, rank_candidates
from bot.requests import LIMITS
from bot.settings import Settings
from models import Customer, ReferenceRequest
from models.enums import RefType

# Only this much of a message is read: an ask is short, and a 40 000-character paste must stay cheap.
MAX_CHARS = 4000
# A message is an ask when its signals add up to this, and at least one of them names a reference-like need.
THRESHOLD = 3.0


# -- Slack text → words ------------------------------------------------------------------------------------

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([^|>]*)(?:\|([^>]*))?>")
_LINK = re.compile(r"<([a-z][a-z0-9+.-]*:[^|>]*)(?:\|([^>]*))?>")
_EMOJI = re.compile(r":[a-z0-9_+'-]{1,60}:")
_SPACES = re.compile(r"\s+")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def readable(text: str) -> str:
    """A Slack message as a person reads it: `<@U1>` → `@U1`, `<#C1|deals>` → `#deals`, a link → its label."""

    def special(m: re.Match[str]) -> str:
        if m.group(2):
            return m.group(2)
        return "@" + m.group(1).split("^")[0]

    text = _USER.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or "channel"), text)
    text = _SPECIAL.sub(special, text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return _unescape(text)


# Spelling variants folded before matching: "refrence", "referance", "refernce", "ref", "refs", "referencable".
_FOLDS = [
    (re.compile(r"\bref[ea]?r[ea]?n[cs]e?able\b"), "referenceable"),
    (re.compile(r"\bref[ea]?r[ea]?n[cs]es\b"), "references"),
    (re.compile(r"\bref[ea]?r[ea]?n[cs]e\b"), "reference"),
    (re.compile(r"\brefs\b"), "references"),
    (re.compile(r"\bref\b"), "reference"),
    (re.compile(r"\bcust(?:omer)?s\b"), "customers"),
    (re.compile(r"\bcust\b"), "customer"),
    (re.compile(r"\bw/"), "with "),
    (re.compile(r"\b(?:any1|anyone's)\b"), "anyone"),
    (re.compile(r"\bsome1\b"), "someone"),
    (re.compile(r"\b(?:pls|plz)\b"), "please"),
    (re.compile(r"\bwho'd\b"), "who would"),
    (re.compile(r"\bthat'd\b"), "that would"),
    (re.compile(r"\bwho's got\b"), "who has"),
]


def words(text: str) -> str:
    """The lower-case text the classifier matches: Slack markup decoded, links and emoji dropped, typos folded."""
    text = text[:MAX_CHARS]
    text = _LINK.sub(lambda m: f" {m.group(2)} " if m.group(2) else " ", text)
    text = _EMOJI.sub(" ", readable(text))
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("\u2014", " - ").replace("\u2013", " - ")
    text = _SPACES.sub(" ", text.lower()).strip()
    for pattern, replacement in _FOLDS:
        text = pattern.sub(replacement, text)
    return text


# -- the classifier ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    """One phrase feature that fired: its name, its weight and the words that matched."""

    name: str
    weight: float
    phrase: str


@dataclass(frozen=True)
class Verdict:
    is_ask: bool
    score: float
    signals: tuple[Signal, ...]

    def explain(self) -> str:
        """`ask 5: need(+1.5 "need") + reference_need(+2 "a reference") …`, for logs and test failures."""
        parts = " + ".join(f'{s.name}({s.weight:+g} "{s.phrase}")' for s in self.signals)
        return f"{'ask' if self.is_ask else 'not an ask'} {self.score:g}: {parts or 'no signal'}"


NEED = "need"  # names something reference-like: a reference, a customer who would talk, a logo we may use, …
ASK = "ask"  # phrased as an ask: "anyone have", "need", "looking for", "who can", a question mark, …
ABOUT = "about"  # talk *about* references: "for reference", "reference architecture", "was a great reference", …


@dataclass(frozen=True)
class _Feature:
    name: str
    weight: float
    pattern: re.Pattern[str]
    kinds: frozenset[str]


def _f(kind: str | tuple[str, ...], name: str, weight: float, pattern: str) -> _Feature:
    return _Feature(name, weight, re.compile(pattern), frozenset((kind,) if isinstance(kind, str) else kind))


_CUSTOMER = r"(?:customers?|clients?|accounts?|users?|logos?|peers?)"
_SPEAK = (
    r"(?:talk|speak|chat|vouch|host|hop on|jump on|get on|put in touch|connect with|hear from|"
    r"take (?:a|the|our|their) (?:[\w-]+ ){0,2}(?:call|meeting)|take a reference|"
    r"do (?:a|the) (?:[\w-]+ )?(?:reference|call|site visit|case study|webinar)|give (?:a|us a) (?:quote|reference)|"
    r"be (?:a |our )?reference|be quoted|meet (?:with )?(?:a |the |our )?prospect|"
    r"share (?:their|its) (?:experience|story))"
)
_WILLING = r"(?:who|that|to|i can|we can|i could|we could|willing to|happy to|up for|able to|open to|comfortable)"
_ASSET = r"(?:case stud(?:y|ies)|customer stor(?:y|ies)|success stor(?:y|ies)|logos?|deck|slides?)"
_WHEN = r"(?:tomorrow|yesterday|today|this morning|earlier|last week|on (?:monday|tuesday|wednesday|thursday|friday))"

# One plainly named phrase family per feature. Tuned on the even lines of the corpora, checked on the odd ones
# and on fresh batches (see tests/test_shadow.py for the measured rates).
FEATURES: tuple[_Feature, ...] = (
    # NEED: something reference-like is wanted.
    _f(
        NEED,
        "reference_need",
        2.0,
        r"\b(?:a|an|any|some|another|one|two|three|four|five|[2-9]|quick|peer|customer|client|analyst|happy|"
        r"solid|strong|relevant|similar)\s+(?:[a-z&-]+\s+){0,2}?references?\b",
    ),
    _f(NEED, "reference_kind", 2.0, r"\breferences? (?:call|customer|account|logo|partner|candidate)s?\b"),
    _f(
        (NEED, ASK),
        "reference_wanted",
        2.5,
        r"\breferences? (?:call )?(?:needed|wanted|required|asap|(?:ask|request)\s*:)|"
        r"^references? (?:needed|request)\b",
    ),
    _f(NEED, "reference_for", 1.5, r"\breferences? (?:in|for|from|at|with|on)\b"),
    _f(NEED, "referenceable", 2.0, r"\breferenceable\b"),
    _f(
        NEED,
        "be_a_reference",
        2.0,
        r"\b(?:be|serve as|act as|use (?:them |it |him |her )?as|could use as|can use as) "
        r"(?:a |our |the )?references?\b",
    ),
    _f(
        NEED,
        "reference_for_prospect",
        1.0,
        r"\b(?:reference|referral) (?:customer )?for (?:a |an |our |the |my )?prospect",
    ),
    _f(NEED, "reference_verb", 1.5, r"\b(?:we could|we can|i can|i could) reference\b"),
    _f(
        NEED,
        "customer_who_would_talk",
        2.5,
        rf"\b{_CUSTOMER}\b[^.?!]{{0,60}}?\b{_WILLING}\b[^.?!,;]{{0,40}}?\b{_SPEAK}",
    ),
    _f(
        NEED,
        "someone_who_would_talk",
        1.5,
        rf"\b(?:(?:who|that) (?:would|could|can|will|might|may)|willing to|happy to|up for|open to)\b"
        rf"[^.?!,;]{{0,40}}?\b{_SPEAK}",
    ),
    _f(NEED, "happy_customer", 2.0, rf"\b(?:happy|satisfied|friendly|existing|current) {_CUSTOMER}\b"),
    _f(
        NEED,
        "talk_to_a_customer",
        2.0,
        r"\b(?:talk|speak|chat|hear from|meet)(?:s|ing)? (?:to |with |from )?(?:a |an |another |one of our |some |any "
        r"|current |existing |a current |an existing )?(?:customers?|peers?|clients?)\b",
    ),
    _f(
        NEED,
        "customer_who_has_done_it",
        2.0,
        r"\b(?:customers?|clients?|someone|somebody|a company|another company)\b (?:who|that)(?:'s| has| have| is)? "
        r"(?:already )?(?:done|gone through|been through|migrated|moved|switched|replaced|rolled out|implemented|"
        r"deployed|using|used|uses|went live|gone live|live on)\b",
    ),
    _f(
        NEED,
        "introduce_me",
        2.0,
        r"\b(?:connect|introduce|intro|put)(?: me| us)?(?: in touch)? (?:to|with) (?:a |an |one of our |any |some )?"
        r"(?:[\w-]+ )?(?:customers?|clients?)\b",
    ),
    _f(NEED, "talk_to_prospect", 1.5, r"\b(?:talk|speak|chat)\w* (?:to|with) (?:a |our |my |the )?prospect\b"),
    _f(
        NEED,
        "customer_in_vertical",
        1.5,
        rf"\b{_CUSTOMER} (?:in|from) (?:the )?(?:[a-z&-]+ ){{0,3}}(?:space|industry|sector|vertical|[a-z]+)\b"
        r"(?=[^.?!]{0,80}(?:\?|for a|for an|for the|for our|to (?:talk|speak|host|do|be|vouch)|who|that would"
        r"|prospect|reference|call|visit))",
    ),
    _f(
        NEED,
        "customer_for",
        2.0,
        rf"\b{_CUSTOMER} (?:for|to (?:do|be in|feature in|star in)) (?:a |an |the |our |my )?(?:[\w-]+ ){{0,2}}?"
        r"(?:press release|case study|webinar|panel|launch|announcement|podcast|interview|quote|testimonial|"
        r"site visit|reference|analyst briefing|call|meeting)\b",
    ),
    _f(
        NEED,
        "site_visit",
        2.0,
        r"\b(?:site visit|visit a customer|customer site|on-?site visit|"
        r"host (?:them|a visit|the prospect|a prospect))\b",
    ),
    _f(NEED, "name_drop", 2.0, r"\bname[- ]?drop\b"),
    _f(
        NEED,
        "marketing_asset",
        1.5,
        r"\b(?:case stud(?:y|ies)|customer stor(?:y|ies)|success stor(?:y|ies)|testimonials?|customer quotes?|"
        r"logo slide|logo consent)\b|\blogos? (?:we|i) (?:can|could|may) (?:use|show|put)|"
        r"\blogos? (?:to (?:put|use|show)|for (?:a|the|my|our) (?:[a-z-]+ )?(?:deck|slide|pitch|website|landing page))",
    ),
    _f(
        NEED,
        "be_quoted",
        2.0,
        r"\b(?:quoted in|give (?:a|us a) quote|quote (?:from|for) (?:a |our )?customer|"
        r"customer (?:to|who) (?:be quoted|give a quote))\b",
    ),
    _f(
        NEED,
        "analyst_or_media",
        1.5,
        r"\b(?:analyst|gartner|forrester|idc|journalist|reporter|media interview|podcast)\b[^.?!]{0,50}"
        r"\b(?:customers?|references?)\b|\b(?:customers?|references?)\b[^.?!]{0,50}"
        r"\b(?:analyst|gartner|forrester|idc|journalist|reporter|media interview)\b",
    ),
    _f(NEED, "peer_call", 2.0, r"\bpeer (?:call|reference|conversation)\b"),
    # ASK: phrased as an ask (one of these must fire too). A relayed ask ("prospect wants a reference") is both.
    _f(
        (NEED, ASK),
        "prospect_asks",
        1.5,
        r"\b(?:prospect|they|client)\b[^.?!]{0,30}\b(?:wants?|would like|asked|asking|needs?)\b[^.?!]{0,20}"
        r"\b(?:to (?:talk|speak|chat|visit)|for (?:a |an |one |two |some |\d )?(?:[\w-]+ )?(?:references?|logos?|"
        r"case stud(?:y|ies))|a references?|references?)\b",
    ),
    _f(
        ASK,
        "anyone",
        1.5,
        r"\b(?:anyone|anybody|someone|somebody|any takers|any ideas|any suggestions|any recommendations)\b|"
        r"\b(?:ideas|suggestions|thoughts|recommendations|takers)\s*\?|\bcomes? to mind\b",
    ),
    _f(
        ASK,
        "do_we_have",
        1.5,
        r"\b(?:do we have|do you have|do you know|does (?:any|some)(?:one|body) (?:have|know)|is there|are there|"
        r"have we got|we got any|who has|who have|who(?: is|'s) got|who(?:'s| is| would be| will be) (?:the |a |our )?"
        r"(?:best|right|good|ideal)|who can|who could|who would|who might|who do (?:we|i)|who should i|"
        r"which customers|got any|any chance|can we use any)\b",
    ),
    _f(
        ASK,
        "need",
        1.5,
        r"\b(?:i need|we need|need(?:s|ed)?|looking for|searching for|trying to (?:find|line up|get)|in search of|"
        r"help (?:me )?find(?:ing)?|hunting for|requesting|request:|could use|would love|can (?:i|we) get|"
        r"could (?:i|we) get|can (?:someone|anyone|you) (?:help|find|recommend|suggest|point|connect|share|set)|"
        r"could (?:someone|anyone|you) (?:help|find|recommend|suggest|point|connect|share)|recommend|suggest|"
        r"intro to)\b",
    ),
    _f(ASK, "question", 0.5, r"\?"),
    # ABOUT: talk about references, not an ask for one.
    _f(
        ABOUT,
        "for_reference",
        -4.0,
        r"\b(?:(?<!looking )(?<!searching )for (?:your |future |our |my )?reference\b"
        r"(?! (?:calls?|customers?|accounts?)\b)|for reference purposes|just for reference|as a reference point|"
        r"as a reference[,:]|^as a reference\b|point of reference|frame of reference|reference point|for reference:)",
    ),
    _f(
        ABOUT,
        "reference_thing",
        -4.0,
        r"\b(?:references? (?:architecture|implementation|design|guide|docs?|documentation|manual|numbers?|ids?|"
        r"field|section|data|card|pricing|price|model|template|material|details|criteria|form|slides|"
        r"customer (?:list|criteria))|(?:api|quick|code|sdk) references?|cross-?reference|"
        r"reference (?:check|letter)s?|(?:professional|personal|job|candidate) references?|"
        r"references? checked out|checking references|"
        r"references? (?:for|on) (?:the |a |my )?(?:candidate|hire|new hire|reseller|vendor)|vendor reference)\b",
    ),
    _f(
        ABOUT,
        "program_talk",
        -2.5,
        r"\b(?:references? (?:program|team|dashboard|digest|request form|wiki|page|newsletter|okrs|budget|policy|"
        r"process|calls this)|refbot|/reference|customer references page|(?:in|of) the program|"
        r"log (?:your|the|an?) (?:references?|outcome)|record (?:the )?outcome|outcome logged|"
        r"logged (?:it|the outcome))\b",
    ),
    _f(
        ABOUT,
        "past_reference",
        -3.0,
        r"\b(?:(?:was|were|been|is|are) (?:a |such a |an )?(?:great|good|amazing|fantastic|excellent|awesome|terrific|"
        r"perfect) references?|gave (?:us )?a reference|did a reference|(?:used|using) \w+ as a reference|"
        rf"references? (?:calls? )?(?:went|was cancelled|didn't happen|happened|with \w+ went|is set|is scheduled|"
        rf"make|made|helped|{_WHEN})|reference (?:request )?(?:was|were) (?:approved|declined)|"
        r"submitted a reference request|(?:agreed|happy|willing) to (?:be|do|serve as) a reference "
        r"(?:after|again|anytime)|thank(?:s| you)[^.?!]{0,40}references?)\b",
    ),
    _f(
        ABOUT,
        "existing_asset",
        -2.5,
        rf"\b(?:link to|copy of|pdf of|send me|where(?:'s| is| are)) (?:the |a |our )?(?:[a-z0-9&-]+ ){{0,2}}{_ASSET}\b"
        r"|\b(?:case study|customer story) (?:pdf|link)\b",
    ),
    _f(
        ABOUT,
        "how_it_works",
        -2.0,
        r"\b(?:what(?:'s| is) the difference|how (?:do|does|can|should) (?:i|we|you|it)|how long|how many|"
        r"why (?:can't|does|do|is)|who (?:decides|owns|runs|approves|handles)|remind me|"
        r"(?:standard|best|good|right) (?:answer|response|reply)|what (?:do|should) (?:we|i) say|"
        r"how (?:to|do we|should i|should we) (?:answer|respond|reply)|"
        r"what(?:'s| is| are) (?:the|our) (?:process|policy|limit|rules?|criteria))\b",
    ),
    _f(
        ABOUT,
        "do_not_use",
        -3.0,
        r"\b(?:don't|do not|never|stop|not to|shouldn't|can't|cannot) (?:use|contact|ask|approach|reach out to|put)\b"
        r"[^.?!]{0,30}\b(?:as a reference|for references?|references?)\b",
    ),
    _f(ABOUT, "joke", -1.5, r"\b(?:lol|haha+|jk|lmao)\b"),
    _f(
        ABOUT,
        "not_a_customer",
        -2.0,
        r"\b(?:not a customer|talk to our (?:ceo|cto|cfo|product team|security team|architects)|"
        r"with our (?:ceo|cto|cfo|product team|security team|architects|implementation partner))\b",
    ),
)


def classify(text: str) -> Verdict:
    """Is this message asking for a customer reference? Deterministic; the verdict says why."""
    normal = words(text)
    signals: list[Signal] = []
    kinds: set[str] = set()
    for feature in FEATURES:
        found = feature.pattern.search(normal)
        if found is None:
            continue
        signals.append(Signal(feature.name, feature.weight, found.group(0).strip()[:80]))
        kinds |= feature.kinds
    score = round(sum(s.weight for s in signals), 2)
    return Verdict({NEED, ASK} <= kinds and score >= THRESHOLD, score, tuple(signals))


# -- guessing what the ask is for ------------------------------------------------------------------------------


# Words that name a region only when written in capitals ("US", "NA"), never the pronoun "us".
_CASED_WORDS = frozenset({"us", "na", "u.s."})


def _any_of(words: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = sorted(words, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in alternatives) + r")(?![\w-])")


@dataclass(frozen=True)
class _Family:
    label: str
    words: tuple[str, ...]
    lower: re.Pattern[str] | None  # matched in the folded lower-case words
    cased: re.Pattern[str] | None  # matched in capitals in the original text

    def found_in(self, normal: str, original: str) -> bool:
        return bool(
            (self.lower is not None and self.lower.search(normal))
            or (self.cased is not None and self.cased.search(original))
        )


def _families(table: dict[str, str]) -> tuple[_Family, ...]:
    """`{label: "word|other words|…"}` → families, in order."""
    out = []
    for label, joined in table.items():
        words = tuple(joined.split("|"))
        lower = _any_of(w for w in words if w not in _CASED_WORDS)
        cased = _any_of(w.upper() for w in words if w in _CASED_WORDS)
        out.append(_Family(label, words, lower, cased))
    return tuple(out)


# The first family whose words appear wins, so the more specific come first ("fintech" before "bank").
INDUSTRIES = _families(
    {
        "Fintech": "fintech|fin-tech|neobank|payments company|payment provider",
        "Insurance": "insurance|insurer|insurtech|reinsurance",
        "Banking": "bank|banks|banking|credit union|lender|lending|financial services|finserv|fsi",
        "Healthcare": (
            "healthcare|health care|hospital|hospitals|health system|clinic|medical|health payer|healthcare payer|nhs|"
            "pharmacy|pharmacies"
        ),
        "Life sciences": "pharma|pharmaceutical|biotech|life sciences|life-sciences",
        "Retail": "retail|retailer|retailers|grocery|ecommerce|e-commerce|consumer goods|cpg",
        "Automotive": "automotive|car manufacturer|carmaker|auto maker|automaker",
        "Manufacturing": "manufacturing|manufacturer|industrial|factory|factories|chemicals|chemical",
        "Public sector": "public sector|government|gov|federal|state agency|municipality|council|defense|defence",
        "Education": "education|higher ed|university|universities|college|k-12|school|edtech|e-learning|elearning",
        "Telecom": "telecom|telco|telecommunications|carrier|mobile operator",
        "Energy": "energy|utilities|utility|oil and gas|oil & gas|power company",
        "Logistics": "logistics|supply chain|shipping|freight|transportation|transport|warehouse|warehousing",
        "Media": "media|entertainment|publisher|broadcaster|streaming",
        "Software": "saas|software company|software vendor|tech company|technology company",
        "Hospitality": "hospitality|hotel|hotels|travel industry|travel company|airline|aviation",
        "Real estate": "real estate|proptech|property management",
        "Legal": "legal industry|legal sector|legal space|law firm|law firms",
        "Nonprofit": "nonprofit|non-profit|charity|ngo",
        "Gaming": "gaming|game studio|games",
        "Construction": "construction",
        "Agriculture": "agriculture|agritech|farming",
        "Food & beverage": "food and beverage|food & beverage|f&b|beverage|food industry|food company",
    }
)

REGIONS = _families(
    {
        "EMEA": (
            "emea|europe|european|eu|uk|united kingdom|britain|dach|germany|german|france|french|spain|"
            "spanish|italy|italian|nordics|nordic|sweden|norway|denmark|finland|benelux|netherlands|"
            "dutch|belgium|switzerland|swiss|austria|poland|cee|ireland|middle east|uae|dubai|israel|"
            "africa|munich|berlin|london|paris|frankfurt|amsterdam|milan|madrid|stockholm|zurich|"
            "vienna"
        ),
        "North America": (
            "north america|north american|na|us|usa|u.s.|united states|canada|canadian|east coast|west coast|midwest|"
            "ohio|texas|california|nyc|new york|boston|chicago|toronto|seattle|san francisco|atlanta"
        ),
        "APAC": (
            "apac|asia|asia pacific|anz|australia|australian|new zealand|japan|singapore|india|korea|"
            "hong kong|china|sydney|melbourne|tokyo"
        ),
        "LATAM": "latam|latin america|south america|brazil|mexico|argentina|chile|colombia",
    }
)


# The kinds of reference, most specific first; a call is the default.
_TYPE_WORDS: tuple[tuple[RefType, str], ...] = (
    (RefType.PRESS_RELEASE, r"\b(?:press release|joint announcement|pr announcement)\b"),
    (RefType.ANALYST, r"\b(?:analysts?|gartner|forrester|idc|magic quadrant|mq|forrester wave|marketscape)\b"),
    (
        RefType.MEDIA,
        r"\b(?:media interview|journalist|reporter|podcast|press interview|interview with|techcrunch|the ft)\b",
    ),
    (
        RefType.CASE_STUDY,
        r"\b(?:case stud(?:y|ies)|customer stor(?:y|ies)|success stor(?:y|ies)|write-?up|written-?up win|"
        r"published win)\b",
    ),
    (RefType.LOGO, r"\b(?:logos?|logo slide|logo wall|brands? (?:we|i) (?:can|could|may) (?:show|use))\b"),
    (
        RefType.QUOTE,
        r"\b(?:testimonials?|customer quotes?|quoted|give (?:a|us a) quote|"
        r"quote (?:from|for) (?:a |our |the )?(?:customer|press|website|launch|landing|ebook|blog)|quote from an? |"
        r"a few words|one-liner|a sentence or two)\b",
    ),
    (
        RefType.SITE_VISIT,
        r"\b(?:site visit|visit (?:a|the|their|our) (?:customer|site)|on-?site|customer site|visit|"
        r"host (?:them|a visit|the prospect|a prospect)|in person|walk the floor|come see)\b",
    ),
    (
        RefType.NAME_DROP,
        r"\b(?:name[- ]?drop|drop (?:their|a|the) name|mention (?:them|their name)|name-?check|"
        r"mention [\w&-]+(?: [\w&-]+)? as a customer|(?:allowed|ok|okay) to name|(?:can|may) we name)\b",
    ),
)


@dataclass(frozen=True)
class Guess:
    """What an ask seems to want, to pre-fill the request form (every field may be wrong; the rep edits)."""

    ref_type: RefType = RefType.CALL
    industry: str = ""
    region: str = ""
    prospect: str = ""


def _find_family(normal: str, original: str, families: tuple[_Family, ...]) -> str:
    return next((family.label for family in families if family.found_in(normal, original)), "")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Capitalised words that start a sentence or name a region, a day, a product or a role, not a prospect company.
_NOT_A_PROSPECT = _wordset(
    "a ai america an any anybody anyone apac api april asap asia august can ceo cfo cio coo crm cto "
    "customer dach december do does emea english enterprise eod eow epic erp eu europe february final "
    "first forrester french friday ft gartner gdpr german guidewire hello help hey hi hipaa hiya i idc "
    "ideally is it january july june latam looking march marketscape may mid-market midwest monday mq "
    "msa na need nordics north november october okta ops our preferably prospect q1 q2 q3 q4 quick ref "
    "reference references request rfp saas salesforce sap saturday scim september soc spanish sso sunday "
    "techcrunch thanks the their they thursday thx tuesday uk us usa vp we wednesday who who's workday"
)
_NAME = r"([A-Z][\w&'-]*(?:\.[A-Za-z]+)*(?:\s+(?:of\s+|&\s+)?[A-Z][\w&'-]*(?:\.[A-Za-z]+)*){0,2})"
_PROSPECT_CUES = (
    re.compile(r"\b(?:prospect|deal|pitch|rfp|call|meeting)\s+(?:is\s+|with\s+|for\s+|to\s+)?(?:the\s+)?" + _NAME),
    re.compile(r"\b(?:for|with|to)\s+(?:the\s+)?" + _NAME + r"(?:'s)?"),
    re.compile(r"(?:^|[.!?:]\s+|—\s+|-\s+)" + _NAME + r"(?:'s\s+\w+)?\s+(?:wants|is asking|asked|needs|would like)\b"),
)


def _guess_prospect(original: str) -> str:
    for cue in _PROSPECT_CUES:
        for found in cue.finditer(original):
            tokens = found.group(1).split()
            owner = next((i for i, token in enumerate(tokens) if token.endswith("'s")), None)
            if owner is not None:  # "Globex's CISO" → Globex
                tokens = tokens[: owner + 1]
                tokens[-1] = tokens[-1].removesuffix("'s")
            while tokens and tokens[-1].lower().removesuffix("'s") in _NOT_A_PROSPECT | {"of", "&"}:
                tokens.pop()
            while tokens and tokens[0].lower() in _NOT_A_PROSPECT:
                tokens.pop(0)
            if not tokens:
                continue
            name = " ".join(tokens).removesuffix("'s")
            if any(name.lower() in family.words for family in INDUSTRIES + REGIONS):
                continue
            if name.lower() in _NOT_A_PROSPECT or len(name) < 2:
                continue
            return name[: LIMITS["prospect"]]
    return ""


# Phrases holding an industry word that name something else ("a media interview" is a kind of reference).
_NOT_INDUSTRY = re.compile(r"\b(?:media interview|social media|media kit|insurance policy|energy level)\b")


def guess(text: str) -> Guess:
    """Industry, region, kind of reference and prospect, read from the message's own words."""
    original = readable(text[:MAX_CHARS])
    normal = words(text)
    ref_type = next((kind for kind, pattern in _TYPE_WORDS if re.search(pattern, normal)), RefType.CALL)
    return Guess(
        ref_type=ref_type,
        industry=_find_family(_NOT_INDUSTRY.sub(" ", normal), original, INDUSTRIES),
        region=_find_family(normal, original, REGIONS),
        prospect=_guess_prospect(original),
    )


def align(label: str, known: Iterable[str], families: tuple[_Family, ...]) -> str:
    """`label` as the customer list spells it: a known label naming the same family ("Banking" → "Financial
    Services" when that is what the list uses), or `label` itself when the list has none."""
    if not label:
        return ""
    labels = [k.strip() for k in known if k.strip()]
    family = next((f for f in families if f.label == label), None)
    aliases = {label.lower()} | set(family.words if family else ())
    for wanted in (lambda name: name == label.lower(), lambda name: name in aliases):
        found = next((k for k in labels if wanted(k.lower())), None)
        if found is not None:
            return found
    inside = _any_of(a for a in aliases if len(a) > 3)
    found = next((k for k in labels if inside is not None and inside.search(k.lower())), None)
    return found if found is not None else label


def known_labels(session: Session) -> tuple[list[str], list[str]]:
    """The industries and regions the referenceable customers are filed under (a few dozen at most)."""
    industries = session.scalars(select(Customer.industry).where(Customer.referenceable.is_(True)).distinct()).all()
    regions = session.scalars(select(Customer.region).where(Customer.referenceable.is_(True)).distinct()).all()
    return [i for i in industries if i], [r for r in regions if r]


def suggest(
    session: Session, settings: Settings, text: str, requester: str, now: datetime, limit: int = 3
) -> tuple[Guess, list[Candidate]]:
    """What an ask wants, in the customer list's own labels, and the customers that fit it best.

    Matching runs on a transient request (never added to the session), exactly as the manager's card would
    rank it; when the words gave an industry or region, customers fitting neither are left out.
    """
    found = guess(text)
    industries, regions = known_labels(session)
    found = replace(
        found, industry=align(found.industry, industries, INDUSTRIES), region=align(found.region, regions, REGIONS)
    )
    request = ReferenceRequest(
        requester_id=requester,
        prospect=found.prospect,
        ref_type=found.ref_type.value,
        industry=found.industry,
        region=found.region,
        segment="",
        products=[],
        topics=[],
    )
    candidates = rank_candidates(session, settings, request, now, limit=limit)
    if found.industry or found.region:
        candidates = [c for c in candidates if c.score > 0]
    return found, candidates


# -- the button's value: the guess, carried compactly and read back with suspicion ---------------------------

VALUE_LIMIT = 2000  # Slack's limit for a button's value


@dataclass(frozen=True)
class Prefill:
    """What the "Turn this into a request" button opens the form with."""

    guess: Guess
    notes: str = ""

    def to_value(self) -> str:
        data = {
            "t": self.guess.ref_type.value,
            "i": self.guess.industry[: LIMITS["industry"]],
            "r": self.guess.region[: LIMITS["region"]],
            "p": self.guess.prospect[: LIMITS["prospect"]],
            "n": "",
        }
        room = VALUE_LIMIT - len(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        notes = self.notes[: LIMITS["notes"]]
        # Each character may take up to 6 in JSON (\uXXXX escapes); cut until it fits.
        while notes and len(json.dumps(notes, ensure_ascii=False)) - 2 > room:
            notes = notes[: max(0, len(notes) - max(1, len(notes) // 10))]
        data["n"] = notes
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_value(cls, value: object) -> Prefill:
        """Anything a client sends back: fields of the wrong type, too long or unknown are dropped or cut."""
        if not isinstance(value, str) or len(value) > VALUE_LIMIT:
            return cls(Guess())
        try:
            data = json.loads(value)
        except ValueError:
            return cls(Guess())
        if not isinstance(data, dict):
            return cls(Guess())

        def text(key: str, limit: int) -> str:
            item = data.get(key)
            return item.strip()[:limit] if isinstance(item, str) else ""

        try:
            ref_type = RefType(data.get("t"))
        except ValueError:
            ref_type = RefType.CALL
        return cls(
            Guess(
                ref_type=ref_type,
                industry=text("i", LIMITS["industry"]),
                region=text("r", LIMITS["region"]),
                prospect=text("p", LIMITS["prospect"]),
            ),
            notes=text("n", LIMITS["notes"]),
        )


def ask_notes(text: str, limit: int = 1500) -> str:
    """The ask as the form's notes: readable text, cut to `limit`."""
    body = _SPACES.sub(" ", readable(text)).strip()
    body = body if len(body) <= limit else body[: limit - 1] + "…"
    return f"Asked in Slack: {body}"

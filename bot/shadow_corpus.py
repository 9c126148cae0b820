"""The labelled messages shadow-market capture is trained and judged on, and the fixed train / held-out split.

The files live in `bot/shadow_data/` (see its README.md): reference asks labelled with the kind of reference,
industry and region their words name, and ordinary sales-channel messages that are not asks. Each comes in two
batches: the original corpus, and a fresh one written for issue 17 after the phrase classifier had been tuned.

The split is decided by the text alone, so it never moves when lines are added, reordered or relabelled: a
message is held out when the first eight bytes of the SHA-256 of its line's text (as stored, UTF-8), read as a
big-endian integer, are divisible by 3 — about a third of each file. Nothing is ever tuned on the held-out part.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from models.enums import RefType

Part = Literal["train", "held_out"]
Batch = Literal["original", "fresh"]

ASK_FILES: dict[Batch, str] = {"original": "asks.tsv", "fresh": "asks_fresh.tsv"}
CHATTER_FILES: dict[Batch, str] = {"original": "chatter.txt", "fresh": "chatter_fresh.txt"}
HELD_OUT_MODULUS = 3


@dataclass(frozen=True)
class Example:
    """One labelled message. `ref_type`, `industry` and `region` are the gold labels of an ask ("" for none)."""

    text: str
    is_ask: bool
    batch: Batch
    ref_type: RefType | None = None
    industry: str = ""
    region: str = ""

    @property
    def part(self) -> Part:
        return part_of(self.text)


def part_of(text: str) -> Part:
    """The documented split rule: held out when the text's SHA-256, first 8 bytes, is divisible by 3."""
    digest = hashlib.sha256(_stored(text).encode("utf-8")).digest()
    return "held_out" if int.from_bytes(digest[:8], "big") % HELD_OUT_MODULUS == 0 else "train"


def _stored(text: str) -> str:
    """The text as written on its line (a line break inside a message is stored as a literal `\\n`)."""
    return text.replace("\n", "\\n")


def _lines(name: str) -> list[str]:
    raw = resources.files("bot").joinpath("shadow_data", name).read_text(encoding="utf-8")
    return [line for line in raw.splitlines() if line.strip() and not line.startswith("#")]


def _label(field: str) -> str:
    return "" if field == "-" else field


def asks(batch: Batch) -> list[Example]:
    out = []
    for line in _lines(ASK_FILES[batch]):
        kind, industry, region, text = line.split("\t", 3)
        out.append(Example(text.replace("\\n", "\n"), True, batch, RefType(kind), _label(industry), _label(region)))
    return out


def chatter(batch: Batch) -> list[Example]:
    return [Example(line.replace("\\n", "\n"), False, batch) for line in _lines(CHATTER_FILES[batch])]


def examples(part: Part | None = None, batch: Batch | None = None) -> list[Example]:
    """Every labelled message, asks first, optionally only one part of the split and/or one batch."""
    batches: tuple[Batch, ...] = (batch,) if batch else ("original", "fresh")
    everything = [e for b in batches for e in asks(b)] + [e for b in batches for e in chatter(b)]
    return [e for e in everything if part is None or e.part == part]

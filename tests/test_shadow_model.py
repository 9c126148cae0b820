"""The shadow-market ask model: the fixed split, the reproducible build, and how the bot loads it.

The behaviour of the served classifier (its guard rails on the held-out part, the issue's examples, watch mode
end to end) is in tests/test_shadow.py; this file is about where the model comes from.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot import shadow_build, shadow_corpus
from bot.app import Refbot
from bot.shadow import INDUSTRIES, REGIONS
from bot.shadow_model import FORMAT, AskModel, features, word_classes

ROOT = Path(__file__).resolve().parent.parent
DATA_README = ROOT / "bot" / "shadow_data" / "README.md"


def test_the_split_is_the_documented_hash_rule() -> None:
    for example in shadow_corpus.examples():
        stored = example.text.replace("\n", "\\n")
        number = int.from_bytes(hashlib.sha256(stored.encode("utf-8")).digest()[:8], "big")
        assert example.part == ("held_out" if number % 3 == 0 else "train")
    # The rule reads the text alone: the same message lands in the same part whatever file or order it is in.
    assert shadow_corpus.part_of("need a reference call for a bank in EMEA") == shadow_corpus.part_of(
        "need a reference call for a bank in EMEA"
    )


def test_the_data_readme_states_the_parts_as_they_are() -> None:
    """The table in bot/shadow_data/README.md is the split as it is (update it when adding messages)."""
    counts = []
    for part in ("train", "held_out"):
        row = []
        for batch in ("original", "fresh"):
            examples = shadow_corpus.examples(part, batch)  # type: ignore[arg-type]
            row.append(sum(e.is_ask for e in examples))
        for batch in ("original", "fresh"):
            examples = shadow_corpus.examples(part, batch)  # type: ignore[arg-type]
            row.append(sum(not e.is_ask for e in examples))
        counts.append(row)
    readme = DATA_README.read_text(encoding="utf-8")
    for label, row in zip(("training", "held out"), counts, strict=True):
        assert f"| {label} | " + " | ".join(map(str, row)) + " |" in readme, (label, row)


def test_asks_carry_gold_labels_from_the_guessers_vocabulary() -> None:
    industries, regions = {f.label for f in INDUSTRIES}, {f.label for f in REGIONS}
    asks = [e for e in shadow_corpus.examples() if e.is_ask]
    assert all(e.ref_type is not None for e in asks)
    assert {e.industry for e in asks} - {""} <= industries
    assert {e.region for e in asks} - {""} <= regions
    assert len({e.ref_type for e in asks}) == 9  # every kind of reference is asked for somewhere


def test_the_shipped_model_is_what_the_build_produces() -> None:
    shipped = (ROOT / "bot" / "shadow_data" / "model.json").read_text(encoding="utf-8")
    assert shadow_build.dumps(shadow_build.build()) == shipped, "run `python -m bot.shadow_build` and commit"


def test_the_build_learns_from_the_training_part_only() -> None:
    train = shadow_corpus.examples("train")
    meta = AskModel.load().meta
    assert meta["trained_on"] == {"asks": sum(e.is_ask for e in train), "chatter": sum(not e.is_ask for e in train)}
    # The build is sensitive to what it is given, so had the held-out part been in it, it would show: the
    # shipped model (what `build()` gives, see above) differs from one built with held-out messages added.
    added = shadow_build.build(train + shadow_corpus.examples("held_out"))
    assert added["meta"]["trained_on"] != meta["trained_on"] and added["weights"] != dict(AskModel.load().weights)


def test_the_check_flag_tells_a_stale_model_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "model.json"
    stale.write_text(json.dumps({"format": FORMAT, "bias": 0, "threshold": 0, "weights": {}}), encoding="utf-8")
    fresh = {"format": FORMAT, "bias": -1.0, "threshold": 0.5, "meta": {}, "weights": {"u:CUST": 2.0}}
    monkeypatch.setattr(shadow_build, "SHIPPED", stale)
    monkeypatch.setattr(shadow_build, "build", lambda: fresh)  # the training itself is tested above
    assert shadow_build.main(["--check"]) == 1
    assert shadow_build.main([]) == 0
    assert shadow_build.main(["--check"]) == 0
    assert AskModel.from_dict(json.loads(stale.read_text(encoding="utf-8"))).weights == {"u:CUST": 2.0}


def test_a_model_file_of_another_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        AskModel.from_dict({"format": FORMAT + 1, "bias": 0, "threshold": 0, "weights": {}})


def test_features_read_words_as_their_classes() -> None:
    classes = word_classes()
    one = features("any insurer in Germany willing to jump on a call with Allianz?", classes)
    other = features("any bank in Japan willing to hop on a call with Mizuho?", classes)
    assert "b:IND in" in one and "b:in REG" in one and "u:ORG" in one
    assert set(one) == set(other)  # different words, the same reading
    assert features("", classes) == {} and features(":tada:", classes) == {}


def test_importing_the_model_module_loads_nothing() -> None:
    """No import-time side effect: the model is read when create_app asks for it, not on import."""
    probe = (
        "import importlib.resources as r, sys\n"
        "opened = []\n"
        "real = r.files\n"
        "r.files = lambda *a, **k: opened.append(a) or real(*a, **k)\n"
        "import bot.shadow_model, bot.app, handlers.watch\n"
        "print(len(opened))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0", out.stderr


def test_create_app_hands_the_model_to_the_listeners(refbot: Refbot) -> None:
    assert isinstance(refbot.deps.asks, AskModel)
    assert refbot.deps.asks.classify("any insurer in Germany willing to jump on a call with Allianz?").is_ask


def test_the_threshold_answers_no_more_chatter_than_allowed() -> None:
    chatter = [float(i) for i in range(1000)]  # 0.5% of 1000 is 5: the scores 995..999 may pass, 994 may not
    scores, labels = chatter + [2000.0], [0] * 1000 + [1]
    threshold = shadow_build.threshold_for(scores, labels)
    assert sum(s >= threshold for s in chatter) == 5 and 994.0 < threshold <= 994.00001
    tied = [1.0] * 1000  # ties: all or nothing, so nothing
    assert sum(s >= shadow_build.threshold_for(tied + [3.0], [0] * 1000 + [1]) for s in tied) == 0

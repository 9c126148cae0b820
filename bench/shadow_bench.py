"""Shadow-market capture: the shipped ask model beside the phrase classifier, on the held-out messages.

    .venv/bin/python bench/shadow_bench.py [--repeat 20]

Prints, for both classifiers in the same run: recall and false-positive rate on the held-out part of
`bot/shadow_data/` (see its README.md for the split) with 95% Wilson intervals, overall and per batch (the
original corpus, which the phrase classifier was tuned on, and the fresh batch, new to both); classification
latency per message (p50/p95 over every held-out message, `--repeat` times); and the resident memory a
process gains by loading the model and classifying with it (measured in a fresh interpreter). Then the
industry / region / kind-of-reference guesses on the held-out asks. Targets (issue 17): recall >= 0.95 with
false positives <= 1%, p95 <= 2 ms, <= 100 MB more RSS.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import shadow, shadow_corpus  # noqa: E402
from bot.shadow_corpus import Example  # noqa: E402
from bot.shadow_model import AskClassifier, AskModel, PhraseClassifier  # noqa: E402

TARGET_RECALL = 0.95
TARGET_FP = 0.01
TARGET_P95_MS = 2.0
TARGET_RSS_MB = 100.0
Z95 = 1.959964
# The commit issue 17 started from: its `bot/shadow.py` is the baseline for the guesses.
BASELINE_COMMIT = "53679bc4e5ee1e38accd676dcbe5424b2ec95ad7"


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion: honest near 0 and 1, where the normal one is not."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate(successes: int, trials: int) -> str:
    low, high = wilson(successes, trials)
    share = successes / trials if trials else 0.0
    return f"{share:6.1%} ({successes:>3}/{trials:<3}) [{low:5.1%}, {high:5.1%}]"


def rates(classifier: AskClassifier, examples: Sequence[Example]) -> tuple[str, str]:
    asks = [e for e in examples if e.is_ask]
    chatter = [e for e in examples if not e.is_ask]
    hits = sum(classifier.classify(e.text).is_ask for e in asks)
    alarms = sum(classifier.classify(e.text).is_ask for e in chatter)
    return rate(hits, len(asks)), rate(alarms, len(chatter))


def latencies_ms(classify: Callable[[str], object], texts: Sequence[str], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        for text in texts:
            started = time.perf_counter_ns()
            classify(text)
            samples.append((time.perf_counter_ns() - started) / 1e6)
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[94]


_RSS_PROBE = """
import sys
sys.path.insert(0, {root!r})
def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
from bot import shadow, shadow_corpus
texts = [e.text for e in shadow_corpus.examples()]
for t in texts:
    shadow.classify(t)
before = rss_kb()
from bot.shadow_model import AskModel
model = AskModel.load()
for t in texts:
    model.classify(t)
print(rss_kb() - before)
"""


def rss_increase_mb() -> float:
    """VmRSS after loading the model and classifying every message, minus before, in a fresh interpreter that
    had already imported the bot's shadow module and run the phrase classifier (the baseline's own cost)."""
    root = str(Path(__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE.format(root=root)], check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip()) / 1024


def baseline_guesser() -> Callable[[str], shadow.Guess] | None:
    """`guess` as it was before issue 17, loaded from git, so both are measured in this run (None without git)."""
    root = Path(__file__).resolve().parent.parent
    shown = subprocess.run(
        ["git", "-C", str(root), "show", f"{BASELINE_COMMIT}:bot/shadow.py"], capture_output=True, text=True
    )
    if shown.returncode != 0:
        return None
    module = types.ModuleType("shadow_before_issue_17")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(shown.stdout, f"bot/shadow.py@{BASELINE_COMMIT[:7]}", "exec"), module.__dict__)
    return module.guess


def guess_accuracy(guesser: Callable[[str], shadow.Guess], asks: Sequence[Example]) -> dict[str, str]:
    found = [guesser(e.text) for e in asks]
    scores = {
        "kind": sum(g.ref_type == e.ref_type for g, e in zip(found, asks, strict=True)),
        "industry": sum(g.industry == e.industry for g, e in zip(found, asks, strict=True)),
        "region": sum(g.region == e.region for g, e in zip(found, asks, strict=True)),
        "all three": sum(
            (g.ref_type, g.industry, g.region) == (e.ref_type, e.industry, e.region)
            for g, e in zip(found, asks, strict=True)
        ),
    }
    return {name: rate(n, len(asks)) for name, n in scores.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="passes over the held-out messages for latency")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    model = AskModel.load()
    load_ms = (time.perf_counter() - started) * 1000
    classifiers: dict[str, AskClassifier] = {"phrases (baseline)": PhraseClassifier(), "model (shipped)": model}
    held_out = shadow_corpus.examples("held_out")
    print("Shadow-market ask classifier, held-out part of bot/shadow_data/ (split by SHA-256 of the text)")
    print("(shared 2-core machine: latency and memory are indicative)\n")
    print("rates with 95% Wilson intervals")
    for label, part in (
        ("all held-out", held_out),
        ("original batch", [e for e in held_out if e.batch == "original"]),
        ("fresh batch", [e for e in held_out if e.batch == "fresh"]),
    ):
        print(f"  {label}:")
        for name, classifier in classifiers.items():
            recall, fp = rates(classifier, part)
            print(f"    {name:<19} recall {recall}   false positives {fp}")

    texts = [e.text for e in held_out]
    print(f"\nlatency per message, {len(texts)} messages x {args.repeat}")
    for name, classifier in classifiers.items():
        p50, p95 = latencies_ms(classifier.classify, texts, args.repeat)
        print(f"    {name:<19} p50 {p50:.3f} ms   p95 {p95:.3f} ms")
    print(f"\nmodel load (once per process, in create_app): {load_ms:.0f} ms, {len(model.weights)} weights")
    print(f"resident memory added by the model, per process: {rss_increase_mb():.1f} MB")

    asks = [e for e in held_out if e.is_ask]
    print(f"\nguesses on the {len(asks)} held-out asks (exact match with the hand labels, 95% Wilson intervals)")
    before = baseline_guesser()
    new = guess_accuracy(shadow.guess, asks)
    old = guess_accuracy(before, asks) if before else dict.fromkeys(new, "(needs git)")
    for field in new:
        print(f"    {field:<10} before {old[field]}   now {new[field]}")
    print(
        f"\ntargets: recall >= {TARGET_RECALL:.0%} with false positives <= {TARGET_FP:.0%}, "
        f"p95 <= {TARGET_P95_MS:g} ms, <= {TARGET_RSS_MB:g} MB more RSS"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

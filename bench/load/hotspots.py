"""Where a server's time went, from a py-spy profile recorded by `run.py --py-spy DIR [--py-spy-gil]`.

    .venv/bin/python bench/load/hotspots.py DIR/refbot_postgresql_c20.folded.txt [--top 40] [--match bot/]

Prints each function's inclusive share of the samples (a function counted once per sample however deep it
recurses), the project's own functions first when `--match` is given. py-spy writes "raw" profiles as
collapsed stacks, one line per distinct stack: `frame;frame;…;frame COUNT`, each frame
`function (file:line)`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def frames(stack: str) -> list[str]:
    """`function (file)` for each frame, line numbers dropped so one function is one entry."""
    out = []
    for frame in stack.split(";"):
        match = FRAME.match(frame.strip())
        out.append(f"{match['function']} ({match['file']})" if match else frame.strip())
    return out


def inclusive(lines: list[str]) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        for name in set(frames(stack)):
            counts[name] += samples
    return counts, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="", help="only functions whose file contains this (e.g. bot/)")
    args = parser.parse_args(argv)
    counts, total = inclusive(args.profile.read_text().splitlines())
    if not total:
        print("no samples", file=sys.stderr)
        return 1
    print(f"{total} samples")
    shown = [(name, n) for name, n in counts.most_common() if args.match in name]
    for name, n in shown[: args.top]:
        print(f"{100 * n / total:6.1f} %  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Hostile input through the experiment loader: N mutated documents, each must end valid or `invalid`.

Seeds are the shipped experiments (``experiments/``, ``examples/shop/experiments/``). Each document gets one
mutation class, chosen in turn: random byte damage (flips, deletions, insertions, duplications, non-UTF-8 bytes),
alias bombs (levels x fanout), recursive aliases, deep nesting (flow and block), huge integers, non-finite and
overflowing floats, nonsense durations, long lists, long strings, and many keys. Each document goes through
``read_document`` + ``validate_document`` (what ``chaoskit validate`` does) in this process.

Measured per document: wall time (the slowest is the headline; target < 2 s) and the outcome (valid, invalid, or a
traceback: any exception other than ValidationFailed; target 0). Peak memory: the process's max RSS at the end
(target < 500 MB). The peer, side by side on the same bytes: PyYAML's C loader alone (``yaml.load`` with
``CSafeLoader``, parse only, its exceptions counted but not failures) -- what the loader costs on top of parsing.

    .venv/bin/python bench/fuzz_loader.py                 # 10,000 documents
    .venv/bin/python bench/fuzz_loader.py --count 2000 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from chaoskit.errors import ValidationFailed
from chaoskit.loader import read_document, validate_document

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted([*(ROOT / "experiments").glob("*.yaml"), *(ROOT / "examples" / "shop" / "experiments").glob("*.yaml")])
HANG_S = 30


def damage(rng: random.Random, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.randint(1, 12)):
        pos = rng.randrange(max(1, len(data)))
        op = rng.randrange(5)
        if op == 0:
            data[pos : pos + 1] = bytes([rng.randrange(256)])
        elif op == 1:
            del data[pos : pos + rng.randint(1, 40)]
        elif op == 2:
            token = rng.choice(
                [
                    b"&a ",
                    b"*a ",
                    b"[",
                    b"{",
                    b"]",
                    b"}",
                    b"\xff\xfe",
                    b"\xc3",
                    b": ",
                    b"\n- ",
                    b"\t",
                    b"!!binary ",
                    b"!!python/object:os.system ",
                    b"<<: ",
                    b"---\n",
                    b"'",
                    b'"',
                    b"%",
                ]
            )
            data[pos:pos] = token
        elif op == 3:
            start = rng.randrange(max(1, len(data)))
            data[pos:pos] = data[start : start + rng.randint(1, 300)]
        else:
            data[pos:pos] = rng.choice([b"1e999", b".nan", b"-.inf", b"9" * 400, b"99999999999h", b"nan", b"1e3s"])
    return bytes(data)


def alias_bomb(rng: random.Random, _seed: bytes) -> bytes:
    levels, fanout = rng.randint(3, 14), rng.randint(2, 12)
    lines = [f"a0: &a0 [{', '.join(['lol'] * fanout)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fanout)}]" for i in range(1, levels)]
    target = rng.choice(["method", "title", "configuration", "steady_state"])
    return ("\n".join(lines) + f"\ntitle: bomb\nmethod: [{{pause: 1s}}]\n{target}: *a{levels - 1}\n").encode()


def recursive_alias(rng: random.Random, _seed: bytes) -> bytes:
    return rng.choice(
        [
            b"title: x\nmethod: &m [{pause: 1s}, *m]\n",
            b"title: x\nmethod: [&s {pause: 1s, with: *s}]\n",
            b"a: &a {b: &b {c: *a, d: *b}}\ntitle: x\nmethod: [{pause: 1s}]\n",
            b"title: &t [*t]\nmethod: [{pause: 1s}]\n",
            b"title: x\nmethod: [{pause: *undefined}]\n",
        ]
    )


def deep(rng: random.Random, _seed: bytes) -> bytes:
    depth = rng.choice([50, 65, 200, 999, 1001, 5000, 50_000])
    if rng.random() < 0.5:
        return b"title: x\nmethod: " + b"[" * depth + b"]" * depth + b"\n"
    depth = min(depth, 2000)
    return ("title: x\nmethod:\n" + "".join("  " * i + "- \n" for i in range(depth))).encode()


def numbers(rng: random.Random, seed: bytes) -> bytes:
    bad = rng.choice(
        [
            "1" + "0" * rng.randint(16, 20_000),
            "-" + "9" * rng.randint(16, 400),
            f"1.0e{rng.randint(300, 5000)}",
            ".inf",
            "-.inf",
            ".nan",
            '"nan"',
            '"inf"',
            '"1e999"',
            '"99999999999h"',
            '"-1s"',
            "0x" + "f" * 300,
        ]
    )
    text = seed.decode("utf-8", errors="replace")
    for key in ("duration:", "within:", "latency_ms:", "max_duration:", "interval:", "users:", "timeout:"):
        if key in text and rng.random() < 0.6:
            head, _, tail = text.partition(key)
            rest = tail.split("\n", 1)
            text = f"{head}{key} {bad}" + ("\n" + rest[1] if len(rest) > 1 else "")
    return (text + f"\nextra_number: {bad}\n").encode()


def big(rng: random.Random, _seed: bytes) -> bytes:
    kind = rng.randrange(3)
    if kind == 0:
        return b"title: x\nmethod:\n" + b"- {pause: 0}\n" * rng.choice([9_000, 10_001, 50_000])
    if kind == 1:
        return b"title: " + b"x" * rng.choice([10_000, 1_000_000, 1_100_000]) + b"\nmethod: [{pause: 0}]\n"
    return b"title: x\nmethod: [{pause: 0}]\nconfiguration:\n" + b"".join(
        f"  k{i}: {i}\n".encode() for i in range(rng.choice([1_000, 30_000]))
    )


MUTATIONS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "damage": damage,
    "alias-bomb": alias_bomb,
    "recursive-alias": recursive_alias,
    "deep": deep,
    "numbers": numbers,
    "big": big,
}
WEIGHTS = {"damage": 5, "alias-bomb": 1, "recursive-alias": 1, "deep": 1, "numbers": 2, "big": 1}


class Hang(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise Hang


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    seeds = [p.read_bytes() for p in SEEDS]
    order = [name for name, weight in WEIGHTS.items() for _ in range(weight)]
    outcomes: Counter[str] = Counter()
    per_class: dict[str, Counter[str]] = defaultdict(Counter)
    slowest: dict[str, float] = defaultdict(float)
    peer_time: dict[str, float] = defaultdict(float)
    own_time: dict[str, float] = defaultdict(float)
    tracebacks: list[str] = []
    signal.signal(signal.SIGALRM, _alarm)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exp.yaml"
        for i in range(args.count):
            kind = order[i % len(order)]
            raw = MUTATIONS[kind](rng, rng.choice(seeds))
            path.write_bytes(raw)
            signal.alarm(HANG_S)
            t0 = time.perf_counter()
            try:
                data, lines = read_document(path)
                validate_document(data, lines, str(path))
                result = "valid"
            except ValidationFailed:
                result = "invalid"
            except Hang:
                result = "hang"
            except BaseException as exc:
                result = "traceback"
                tracebacks.append(f"{kind} #{i}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
            finally:
                signal.alarm(0)
            elapsed = time.perf_counter() - t0
            own_time[kind] += elapsed
            slowest[kind] = max(slowest[kind], elapsed)
            outcomes[result] += 1
            per_class[kind][result] += 1
            t0 = time.perf_counter()
            with contextlib.suppress(Exception):
                yaml.load(raw, Loader=yaml.CSafeLoader)
            peer_time[kind] += time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report: dict[str, Any] = {
        "documents": args.count,
        "outcomes": dict(outcomes),
        "slowest_s": round(max(slowest.values()), 3),
        "peak_rss_mb": round(peak_mb, 1),
        "per_class": {
            k: {
                **per_class[k],
                "slowest_s": round(slowest[k], 3),
                "chaoskit_total_s": round(own_time[k], 2),
                "pyyaml_c_parse_total_s": round(peer_time[k], 2),
            }
            for k in MUTATIONS
        },
    }
    print(
        f"{'class':16} {'docs':>6} {'valid':>6} {'invalid':>7} {'tb':>4} {'slowest s':>9} "
        f"{'chaoskit s':>10} {'pyyaml-C s':>10}"
    )
    for k, row in report["per_class"].items():
        docs = sum(v for key, v in row.items() if key in ("valid", "invalid", "traceback", "hang"))
        print(
            f"{k:16} {docs:6} {row.get('valid', 0):6} {row.get('invalid', 0):7} "
            f"{row.get('traceback', 0) + row.get('hang', 0):4} {row['slowest_s']:9.3f} "
            f"{row['chaoskit_total_s']:10.2f} {row['pyyaml_c_parse_total_s']:10.2f}"
        )
    print(
        f"\n{args.count} documents: {dict(outcomes)}; slowest {report['slowest_s']} s (target < 2 s); "
        f"peak RSS {report['peak_rss_mb']} MB (target < 500 MB)"
    )
    for text in tracebacks[:5]:
        print("\n" + text)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    ok = not tracebacks and outcomes["hang"] == 0 and report["slowest_s"] < 2 and peak_mb < 500
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Hostile experiment files (alias bombs, recursive aliases, deep nesting, huge and non-finite numbers,
non-UTF-8 bytes, long lists, random byte damage) end as valid or `invalid` (exit 5), never a traceback.

Bounded: a fixed number of hypothesis examples; every case is small (the limits make it so)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaoskit.document import MAX_BYTES
from chaoskit.errors import ValidationFailed
from chaoskit.loader import read_document, validate_document
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = sorted((ROOT / "experiments").glob("*.yaml"))
BASE = "title: fuzz\nmethod:\n  - pause: {pause}\nrecovery: {{within: {within}}}\n"


def alias_bomb(levels: int, fanout: int) -> str:
    lines = [f"a0: &a0 [{', '.join(['x'] * fanout)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fanout)}]")
    return "\n".join(lines) + f"\ntitle: bomb\nmethod: *a{levels - 1}\n"


recursive = st.sampled_from(
    [
        "title: x\nmethod: &m [{pause: 1s}, *m]\n",
        "title: x\nmethod: [&s {pause: 1s, with: *s}]\n",
        "a: &a {b: &b {c: *a}}\ntitle: x\nmethod: [{pause: 1s}]\n",
        "title: x\nmethod: [{pause: *nowhere}]\n",
    ]
)
bombs = st.builds(alias_bomb, st.integers(2, 12), st.integers(2, 10))
deep = st.builds(
    lambda depth, flow: (
        "title: x\nmethod: " + "[" * depth + "]" * depth + "\n"
        if flow
        else "title: x\nmethod:\n" + "".join("  " * i + "- \n" for i in range(depth))
    ),
    st.integers(40, 3000),
    st.booleans(),
)
numbers = st.one_of(
    st.integers(15, 6000).map(lambda n: "9" * n),
    st.integers(300, 400).map(lambda e: f"1.0e{e}"),
    st.sampled_from([".inf", "-.inf", ".nan", ".NaN", '"nan"', '"inf"', '"1e999"', '"99999999999h"', '"1e3s"', "-0"]),
)
numbered = st.builds(lambda a, b: BASE.format(pause=a, within=b), numbers, numbers | st.just("5s"))
long_lists = st.integers(9_990, 12_000).map(lambda n: "title: x\nmethod:\n" + "- {pause: 0}\n" * n)


def damage(seed: int) -> bytes:
    rng = random.Random(seed)
    data = bytearray(rng.choice(CATALOGUE).read_bytes())
    for _ in range(rng.randint(1, 8)):
        pos = rng.randrange(len(data))
        op = rng.randrange(4)
        if op == 0:
            data[pos] = rng.randrange(256)  # also invalid UTF-8
        elif op == 1:
            del data[pos : pos + rng.randint(1, 20)]
        elif op == 2:
            data[pos:pos] = rng.choice([b"&a ", b"*a ", b"[", b"{", b"\xff\xfe", b": ", b"\n- ", b"!!binary ", b"\t"])
        else:
            start = rng.randrange(len(data))
            data[pos:pos] = data[start : start + rng.randint(1, 200)]
    return bytes(data)


texts = st.one_of(recursive, bombs, deep, numbered, long_lists).map(str.encode)
hostile = st.one_of(texts, st.integers(0, 2**32).map(damage), st.binary(max_size=300))


def check_file(path: Path) -> None:
    try:
        data, lines = read_document(path)
        validate_document(data, lines, str(path))
    except ValidationFailed as exc:
        assert exc.problems and all(p.message for p in exc.problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile)
def test_hostile_files_are_valid_or_invalid(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "exp.yaml"
    path.write_bytes(raw)
    check_file(path)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (alias_bomb(9, 8).encode(), "", "more than 100,000 values"),
        (b"title: x\nmethod: &m [{pause: 1s}, *m]\n", "method[1]", "recursive alias"),
        (b"title: x\nmethod: " + b"[" * 100 + b"]" * 100, "method", "nested deeper than 64"),
        (BASE.format(pause="1" + "0" * 4000, within="1s").encode(), "method[0].pause", "too large"),
        (BASE.format(pause=".nan", within="1s").encode(), "method[0].pause", "not a finite number"),
        (BASE.format(pause='"nan"', within="1s").encode(), "method[0].pause", "invalid duration"),
        (BASE.format(pause='"99999999999h"', within="1s").encode(), "method[0].pause", "at most 7 days"),
        (b"title: caf\xe9\nmethod: [{pause: 1s}]\n", "", "not UTF-8"),
        (b"title: x\nmethod:\n" + b"- {pause: 0}\n" * 10_001, "method", "at most 10,000 items"),
        (b"title: x\nmethod: [{pause: 1s}]\n" + b"#" * MAX_BYTES, "", "the limit is 1,048,576"),
    ],
    ids=[
        "alias-bomb",
        "recursive-alias",
        "deep",
        "huge-int",
        "nan",
        "nan-text",
        "huge-duration",
        "utf8",
        "list",
        "size",
    ],
)
def test_each_limit_names_what_and_where(tmp_path: Path, text: bytes, where: str, message: str) -> None:
    path = tmp_path / "exp.yaml"
    path.write_bytes(text)
    with pytest.raises(ValidationFailed) as info:
        data, lines = read_document(path)
        validate_document(data, lines, str(path))
    problem = info.value.problems[0]
    assert message in problem.message, info.value
    assert problem.path.startswith(where)
    assert problem.line is not None or message.startswith("the limit")


def test_cli_exits_5_on_the_alias_bomb_and_deep_nesting(tmp_path: Path) -> None:
    for name, text in [("bomb", alias_bomb(9, 8)), ("deep", "title: x\nmethod:" + " [" * 5000)]:
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        for command in ("validate", "run"):
            result = run_cli(command, str(path), timeout=30)
            assert result.returncode == 5, result.stderr
            assert "Traceback" not in result.stderr and str(path) in result.stderr

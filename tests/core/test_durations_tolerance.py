from __future__ import annotations

import pytest

from chaoskit.durations import format_duration, parse_duration
from chaoskit.model.tolerance import Check, Expect, Observation


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("30s", 30), ("2m", 120), ("1h30m", 5400), ("1m30s", 90), (5, 5.0), (0.5, 0.5), ("1.5", 1.5)],
)
def test_durations_parse(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "fast", "10 parsecs", "5x", "-1s", -3, True, None, [1], "s"])
def test_bad_durations_are_rejected_with_a_hint(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_format_duration() -> None:
    assert format_duration(0.25) == "250ms"
    assert format_duration(30) == "30s"
    assert format_duration(90) == "1m30s"


def test_equality_range_one_of_regex() -> None:
    assert Check(equals=200).evaluate(200).ok
    assert not Check(equals=200).evaluate(500).ok
    assert Check(equals=None).evaluate(None).ok  # an explicit null is a check, not "unset"
    assert Check(min=1, max=5).evaluate(5).ok
    assert not Check(min=1, max=5).evaluate(5.01).ok
    assert not Check(max=5).evaluate("3").ok  # strings are not numbers
    assert not Check(max=5).evaluate(True).ok  # nor booleans
    assert Check(one_of=[200, 204]).evaluate(204).ok
    assert Check(regex="^up").evaluate("upstream").ok
    assert not Check(regex="^up").evaluate(None).ok


def test_failing_reason_names_value_and_bound() -> None:
    verdict = Check(max=300).evaluate(450, "latency_ms")
    assert not verdict.ok
    assert verdict.reason == "latency_ms 450 > max 300"


def test_no_data_and_a_status_that_is_text_are_said_plainly() -> None:
    verdict = Check(max=0.02).evaluate(None)
    assert not verdict.ok
    assert verdict.reason == "value None is not a number (no data; for a load probe: no request in its window)"
    with pytest.raises(ValueError, match=r"status is an HTTP status code \(200\) or a list of them .*not '200'"):
        Expect.model_validate({"status": "200"})


def test_min_above_max_is_invalid() -> None:
    with pytest.raises(ValueError, match=r"min .* is greater than max"):
        Check(min=5, max=1)


def test_a_two_item_list_is_never_a_range() -> None:
    with pytest.raises(ValueError):
        Expect.model_validate({"equals": 1, "range": [1, 2]})
    expect = Expect.model_validate({"one_of": [1, 10]})
    assert not expect.evaluate_observation(Observation(5)).ok


def test_http_status_latency_and_jsonpath() -> None:
    obs = Observation(200, {"status": 200, "latency_ms": 12.5, "json": {"db": {"state": "up"}, "n": 3}})
    assert Expect(status=[200], latency_ms=Check(max=100)).evaluate_observation(obs).ok
    assert Expect.model_validate({"status": 200}).status == [200]
    assert not Expect.model_validate({"status": [201, 204]}).evaluate_observation(obs).ok
    assert Expect.model_validate({"jsonpath": "$.db.state", "equals": "up"}).evaluate_observation(obs).ok
    miss = Expect.model_validate({"jsonpath": "$.nope", "equals": 1}).evaluate_observation(obs)
    assert not miss.ok and "matched nothing" in miss.reason
    slow = Expect.model_validate({"latency_ms": {"max": 10}}).evaluate_observation(obs)
    assert not slow.ok and slow.reason == "latency_ms 12.5 > max 10"


def test_expect_needs_a_check_and_jsonpath_needs_a_value_check() -> None:
    with pytest.raises(ValueError, match="at least one check"):
        Expect.model_validate({})
    with pytest.raises(ValueError, match="add a check"):
        Expect.model_validate({"jsonpath": "$.a", "status": 200})
    with pytest.raises(ValueError, match="invalid JSONPath"):
        Expect.model_validate({"jsonpath": "$[[[", "equals": 1})
    with pytest.raises(ValueError, match="invalid regular expression"):
        Expect.model_validate({"regex": "("})

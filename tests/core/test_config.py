from __future__ import annotations

import pytest

from chaoskit.config import parse_var, resolve_document


def doc(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "title": "t",
        "configuration": {"port": 8080, "host": {"env": "CK_HOST", "default": "127.0.0.1"}},
        "secrets": {"token": {"env": "CK_TOKEN"}},
        "method": [{"action": "process", "with": {"command": ["echo", "${token}"], "url": "http://${host}:${port}/"}}],
    }
    base.update(extra)
    return base


def test_env_default_override_and_substitution() -> None:
    res = resolve_document(doc(), overrides={"port": 9090}, env={"CK_TOKEN": "hunter22"})
    assert not res.problems
    step = res.document["method"][0]["with"]
    assert step["url"] == "http://127.0.0.1:9090/"
    assert step["command"] == ["echo", "hunter22"]
    assert res.configuration == {"port": 9090, "host": "127.0.0.1"}
    assert res.secrets == {"token": "hunter22"}


def test_whole_reference_keeps_the_type() -> None:
    res = resolve_document(doc(safety={"max_duration": "${port}"}), env={"CK_TOKEN": "x"})
    assert res.document["safety"]["max_duration"] == 8080


def test_secrets_are_redacted_everywhere_in_the_redacted_copy() -> None:
    res = resolve_document(doc(), env={"CK_TOKEN": "hunter22"})
    assert "hunter22" not in repr(res.redacted)
    assert res.redacted["method"][0]["with"]["command"] == ["echo", "***"]
    assert res.redacted["secrets"] == {"token": "***"}


def test_env_without_default_unknown_reference_and_unknown_var_are_problems() -> None:
    d = doc()
    d["title"] = "${nope}"
    res = resolve_document(d, overrides={"prot": 1}, env={})
    messages = {p.path: p.message for p in res.problems}
    assert messages["secrets.token"] == "environment variable CK_TOKEN is not set and there is no default"
    assert messages["title"].startswith("${nope} is not defined in configuration or secrets")
    assert "--var prot: no such configuration value" in messages["configuration"]


def test_escaped_reference_stays_literal() -> None:
    res = resolve_document(doc(description="costs $${port} dollars, port ${port}"), env={"CK_TOKEN": "x"})
    assert res.document["description"] == "costs ${port} dollars, port 8080"


@pytest.mark.parametrize(
    ("text", "name", "value"),
    [
        ("users=10", "users", 10),
        ("url=http://x:1/", "url", "http://x:1/"),
        ("flag=true", "flag", True),
        ("empty=", "empty", ""),
    ],
)
def test_parse_var(text: str, name: str, value: object) -> None:
    assert parse_var(text) == (name, value)


def test_parse_var_needs_equals() -> None:
    with pytest.raises(ValueError, match="expected name=value"):
        parse_var("users")

"""``chaoskit import``: a CTK experiment as the equivalent native chaoskit experiment (YAML).

Every construct whose meaning changes, or that has no native equivalent, gets a ``# ctk:`` comment next to
it (and the file a header saying what changes for the whole run). The result is validated like any
experiment; what cannot be expressed natively is left out with a comment saying so, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from chaoskit.ctk.model import Activity, CtkExperiment, HttpProvider, ProcessProvider, PythonProvider
from chaoskit.ctk.values import substitute

HEADER = """\
# Imported from a Chaos Toolkit experiment by `chaoskit import` ({source}).
# What changes for the whole run (chaoskit's rules, not CTK's):
# - the steady state is checked before the method (a miss: outcome baseline-not-met, exit 2, nothing runs)
#   and, after the faults are reverted, polled until it holds again within recovery.within; CTK checks it
#   once after the method, before the rollbacks;
# - faults are reverted automatically (last in, first out) on every path; rollbacks that only undid them
#   are dropped (see the comments below); the remaining rollbacks run after recovery;
# - a failing method step ends the run with outcome error (CTK records it and goes on);
# - exit codes are chaoskit's: 0 passed, 1 deviated, 2 baseline-not-met, 3 aborted, 4 error, 5 invalid.
"""

# chaostoxi/chaosk8s action -> (native fault, argument -> parameter); rollbacks that undo them are dropped
FAULTS: dict[str, tuple[str, dict[str, str]]] = {
    "chaostoxi.toxic.actions.create_latency_toxic": (
        "toxiproxy.latency",
        {"for_proxy": "proxy", "latency": "latency_ms", "jitter": "jitter_ms"},
    ),
    "chaostoxi.toxic.actions.create_bandwith_degradation_toxic": (
        "toxiproxy.bandwidth",
        {"for_proxy": "proxy", "rate": "rate_kbps"},
    ),
    "chaostoxi.toxic.actions.create_slow_connection_close_toxic": (
        "toxiproxy.slow_close",
        {"for_proxy": "proxy", "delay": "delay_ms"},
    ),
    "chaostoxi.toxic.actions.create_timeout_toxic": (
        "toxiproxy.timeout",
        {"for_proxy": "proxy", "timeout": "timeout_ms"},
    ),
    "chaostoxi.toxic.actions.create_limiter_toxic": (
        "toxiproxy.limit_data",
        {"for_proxy": "proxy", "bytes_limit": "bytes"},
    ),
    "chaostoxi.proxy.actions.disable_proxy": ("toxiproxy.down", {"proxy_name": "proxy"}),
    "chaosk8s.deployment.actions.scale_deployment": (
        "k8s.deployment_scale",
        {"name": "name", "replicas": "replicas", "ns": "namespace"},
    ),
    "chaosk8s.node.actions.cordon_node": ("k8s.node_cordon", {"label_selector": "label_selector"}),
    "chaosk8s.node.actions.drain_nodes": ("k8s.node_drain", {"label_selector": "label_selector"}),
    "chaosk8s.pod.actions.terminate_pods": ("k8s.pod_kill", {"label_selector": "label_selector", "ns": "namespace"}),
}
UNDO = {
    "chaostoxi.toxic.actions.delete_toxic",
    "chaostoxi.proxy.actions.enable_proxy",
    "chaosk8s.node.actions.uncordon_node",
    "chaosk8s.deployment.actions.scale_deployment",
}


@dataclass
class Item:
    step: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)


def import_experiment(exp: CtkExperiment, source: str) -> str:
    """The native experiment, as YAML text with comments."""
    refs = exp.activities_by_name()
    top: dict[str, Any] = {"title": exp.title}
    if exp.description:
        top["description"] = exp.description
    if exp.tags:
        top["tags"] = exp.tags
    notes: dict[str, list[str]] = {}
    config, config_notes = _configuration(exp)
    if config:
        top["configuration"] = config
    notes["configuration"] = config_notes
    secrets, secret_notes = _secrets(exp)
    if secrets:
        top["secrets"] = secrets
    notes["secrets"] = secret_notes
    for key, value in (
        ("controls", exp.controls),
        ("extensions", exp.extensions),
        ("contributions", exp.contributions),
    ):
        if value:
            notes.setdefault("title", []).append(f"ctk: `{key}` is not imported (no native equivalent)")
    rollback_strategy, strategy = exp.strategies()
    probes = [_probe(p, refs) for p in (exp.steady_state_hypothesis.probes if exp.steady_state_hypothesis else [])]
    steady: dict[str, Any] = {}
    steady_notes = []
    if strategy == "skip" or not probes:
        steady["strategy"] = "skip"
    elif strategy == "before-method-only":
        steady["strategy"] = "before"
    elif strategy == "continuously":
        steady["strategy"] = "continuous"
    elif strategy != "default":
        steady_notes.append(f"ctk: hypothesis strategy {strategy!r} has no native equivalent; the default is used")
    if rollback_strategy != "default":
        steady_notes.append(f"ctk: rollback strategy {rollback_strategy!r}: chaoskit always runs rollbacks")
    method = [_step(a, refs, rollback=False) for a in exp.method]
    rollbacks = [_step(a, refs, rollback=True) for a in exp.rollbacks]
    out = [HEADER.format(source=source)]
    out += _block(top, notes)
    out.append(_list_block("steady_state", probes, steady, steady_notes, "probes"))
    out.append(_list_block("method", method, None, [], None))
    if any(i.step is not None for i in rollbacks) or rollbacks:
        out.append(_list_block("rollbacks", rollbacks, None, [], None))
    return "\n".join(part for part in out if part)


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=110).rstrip("\n")


def _block(top: dict[str, Any], notes: dict[str, list[str]]) -> list[str]:
    out = []
    for key, value in top.items():
        out += [f"# {n}" for n in notes.get(key, [])]
        out.append(_dump({key: value}))
    for key in ("configuration", "secrets"):
        if key not in top:
            out += [f"# {n}" for n in notes.get(key, [])]
    return out


def _list_block(key: str, items: list[Item], head: dict[str, Any] | None, notes: list[str], inner: str | None) -> str:
    lines = [f"# {n}" for n in notes]
    indent = "  " if inner else ""
    if inner:
        lines.append(f"{key}:")
        lines += [f"  {line}" for line in _dump(head).splitlines()] if head else []
        lines.append(f"  {inner}:" + ("" if any(i.step for i in items) else " []"))
    else:
        lines.append(f"{key}:" + ("" if any(i.step for i in items) else " []"))
    for item in items:
        lines += [f"{indent}# {n}" for n in item.notes]
        if item.step is not None:
            text = _dump([item.step])
            lines += [f"{indent}{line}" for line in text.splitlines()]
    return "\n".join(lines)


def _configuration(exp: CtkExperiment) -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = {}
    notes = []
    for name, value in exp.configuration.items():
        if isinstance(value, dict) and value.get("type") == "env":
            out[name] = {"env": value["key"], **({"default": value["default"]} if "default" in value else {})}
            if "env_var_type" in value:
                notes.append(
                    f"ctk: {name}: env_var_type {value['env_var_type']} is dropped (the value is read as text)"
                )
        elif isinstance(value, dict) and value.get("type") == "probe":
            notes.append(f"ctk: {name} is a dynamic (probe) value in CTK; not imported: set it with --var {name}=...")
        else:
            out[name] = value
    return out, notes


def _secrets(exp: CtkExperiment) -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = {}
    notes = []
    for scope, values in exp.secrets.items():
        for name, value in values.items():
            if name in out:
                notes.append(f"ctk: secret {name} is defined in several scopes; the one of scope {scope!r} is dropped")
                continue
            out[name] = {"env": value["key"]} if isinstance(value, dict) and value.get("type") == "env" else value
    if out:
        notes.append("ctk: secret scopes are flattened: every secret is a ${name} of its own")
    return out, notes


def _resolve(activity: Activity, refs: dict[str, Activity]) -> tuple[Activity, list[str]]:
    if activity.ref is None:
        return activity, []
    return refs[activity.ref], [f"ctk: ref {activity.ref!r} is written out in full"]


def _plugin(activity: Activity) -> tuple[str, dict[str, Any], list[str]]:
    """(plugin, with, notes) for a probe or an ad-hoc action."""
    p = activity.provider
    if isinstance(p, HttpProvider):
        params: dict[str, Any] = {"url": p.url}
        if p.method.upper() != "GET":
            params["method"] = p.method.upper()
        if p.headers:
            params["headers"] = {k: str(v) for k, v in p.headers.items()}
        if p.arguments is not None and p.method.upper() != "GET":
            params["json"] = p.arguments
        notes: list[str] = []
        if isinstance(p.arguments, dict) and p.arguments and p.method.upper() == "GET":
            query = "&".join(f"{k}={v}" for k, v in p.arguments.items())
            params["url"] = p.url + ("&" if "?" in p.url else "?") + query
        if isinstance(p.timeout, int | float):
            params["timeout"] = f"{p.timeout:g}s"
        if not p.verify_tls:
            params["verify_tls"] = False
        return "http", params, notes
    if isinstance(p, ProcessProvider):
        args = p.arguments
        if isinstance(args, str):
            command: Any = f"{p.path} {args}"
        elif isinstance(args, dict):
            command = [p.path, *(str(x) for kv in args.items() for x in kv)]
        else:
            command = [p.path, *(str(a) for a in args if a not in (None, ""))]
        params = {"command": command}
        if isinstance(p.timeout, int | float):
            params["timeout"] = f"{p.timeout:g}s"
        return "process", params, []
    assert isinstance(p, PythonProvider)
    params = {"function": f"{p.module}:{p.func}"}
    if p.arguments:
        params["kwargs"] = p.arguments
    notes = ["ctk: configuration/secrets are not passed to the function (native python steps take kwargs only)"]
    return "python", params, notes if p.secrets else []


def _expect(tolerance: Any, plugin: str) -> tuple[dict[str, Any] | None, list[str]]:
    if isinstance(tolerance, (bool, str)):  # on http, name the target: a bare check is invalid there
        return ({"body": {"equals": tolerance}} if plugin == "http" else {"equals": tolerance}), []
    if isinstance(tolerance, int):
        return ({"status": tolerance} if plugin == "http" else {"equals": tolerance}), []
    if isinstance(tolerance, list):
        if plugin == "http":
            return {"status": tolerance}, []
        if len(tolerance) == 2 and all(isinstance(t, int | float) and not isinstance(t, bool) for t in tolerance):
            return {"min": tolerance[0], "max": tolerance[1]}, ["ctk: a two-item list is a range in CTK: min/max"]
        return {"one_of": tolerance}, []
    if isinstance(tolerance, dict):
        kind, target = tolerance.get("type"), tolerance.get("target")
        if target not in (None, "body") or (target == "body" and plugin != "http"):
            return None, [f"ctk: a {kind} tolerance on {target!r} has no native equivalent; write the expect by hand"]
        if kind == "range":
            low, high = tolerance["range"]
            return {"min": low, "max": high}, []
        if kind == "regex":
            if plugin == "http":
                return {"jsonpath": "$", "regex": tolerance["pattern"]}, ["ctk: the regex applies to the JSON body"]
            return {"regex": tolerance["pattern"]}, []
        if kind == "jsonpath" and "expect" in tolerance and not isinstance(tolerance["expect"], list):
            return {"jsonpath": tolerance["path"], "equals": tolerance["expect"]}, [
                "ctk: jsonpath compares the first match here (CTK: every match)"
            ]
        return None, [f"ctk: this {kind} tolerance has no native equivalent; write the expect by hand"]
    return None, ["ctk: this tolerance has no native equivalent"]


def _probe(activity: Activity, refs: dict[str, Activity]) -> Item:
    tolerance = activity.tolerance
    activity, notes = _resolve(activity, refs)
    name = (
        f"{activity.provider.module}.{activity.provider.func}" if isinstance(activity.provider, PythonProvider) else ""
    )
    if name.startswith(("chaosk8s", "chaostoxi")):
        return Item(None, [f"ctk: probe {activity.label!r} ({name}) is not imported: use a k8s.*/toxiproxy.* probe"])
    plugin, params, more = _plugin(activity)
    expect, expect_notes = _expect(tolerance, plugin)
    if expect is None:
        return Item(None, [f"ctk: probe {activity.label!r} is left out:", *notes, *more, *expect_notes])
    step = {"name": activity.label, "probe": plugin, "with": params, "expect": expect}
    return Item(step, notes + more + expect_notes)


def _step(activity: Activity, refs: dict[str, Activity], rollback: bool) -> Item:
    activity, notes = _resolve(activity, refs)
    p = activity.provider
    name = f"{p.module}.{p.func}" if isinstance(p, PythonProvider) else ""
    if rollback and name in UNDO:
        return Item(None, [f"ctk: rollback {activity.label!r} ({name}) is dropped: chaoskit reverts the fault itself"])
    if name in FAULTS and not rollback:
        plugin, names = FAULTS[name]
        args = substitute(dict(p.arguments), {}, {}) if isinstance(p, PythonProvider) else {}
        params = {names[k]: v for k, v in args.items() if k in names}
        if name.endswith(("cordon_node", "drain_nodes")) and args.get("name"):
            params = {"names": [args["name"]], "mode": "all"}
        dropped = sorted(set(args) - set(names) - {"name"})
        step: dict[str, Any] = {"name": activity.label, "fault": plugin, "with": params}
        more = [f"ctk: {name} is the native fault {plugin}; it holds until the method ends, then is reverted"]
        if dropped:
            more.append(f"ctk: arguments {', '.join(dropped)} have no native equivalent and are dropped")
        return Item(step, notes + more)
    if name.startswith(("chaosk8s", "chaostoxi")):
        return Item(None, [f"ctk: {activity.label!r} ({name}) has no native equivalent and is left out"])
    plugin, params, more = _plugin(activity)
    kind = "probe" if activity.type == "probe" or plugin == "http" else "action"
    if plugin == "http" and activity.type == "action":
        more.append("ctk: an http action becomes an http probe step (the request is made and recorded)")
    if kind == "probe" and rollback:
        return Item(None, [f"ctk: rollback {activity.label!r} is a probe; rollbacks hold actions only: left out"])
    step = {"name": activity.label, kind: plugin, "with": params}
    if activity.background:
        step["background"] = True
    items = []
    pauses = activity.pauses
    if pauses and pauses.before:
        items.append(f"pause before: {pauses.before}s")
    if pauses and pauses.after:
        items.append(f"pause after: {pauses.after}s")
    if items:
        more.append("ctk: pauses are not imported (" + ", ".join(items) + "); add pause steps where needed")
    if activity.type == "action" and plugin == "process":
        more.append("ctk: a non-zero exit fails this native step (CTK records the exit code and goes on)")
    return Item(step, notes + more)

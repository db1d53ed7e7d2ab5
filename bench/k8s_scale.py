"""Kubernetes at scale: chaoskit's pod kill and recovery check at N pods, with kubectl as the peer.

For each N (default 500, 2,000, 5,000) on the project's local control plane (kube-apiserver, etcd,
controller-manager, scheduler, kwok nodes; ``scripts/K8S.md``), in a namespace of its own holding 20
Deployments (label ``group=scale``) of N pods in all:

1. ``chaoskit run`` (a child process) of an experiment whose steady state is ``k8s.pods_ready`` (all N Ready,
   ``wait: 60s``) and whose method is ``k8s.pod_kill`` of 10 % of the pods; recovery is polled every 250 ms.
   Measured: the inject time (the fault's own ``took_s``), the reported time to recovery (journal ``ttr_s``),
   chaoskit's peak RSS (the child's ``VmHWM``, see :func:`run_chaoskit`), the journal size and the size of one
   ``pods_ready`` observation record in it.
2. The real recovery, two ways: an independent watch in this process (its own raw watch of the namespace;
   the moment the Ready count got back to N after the kill) and the pods' own ``Ready`` condition
   ``lastTransitionTime`` (the latest one; 1 s resolution). Both are reported relative to the start of the
   recovery phase, like ``ttr_s``.
3. Peers: ``kubectl delete pod --wait=false`` of as many pods (chosen with the same seed), timed; the floor:
   ``curl --parallel`` (HTTP/1.1, as many connections as chaoskit's ``concurrency``) sending the same number of
   raw DELETEs (other pods), timed; then ``k8s.node_drain`` (in-process, timed inject) of one node against
   ``kubectl drain`` of another.

Each kwok node is given room for 1,000 pods (10 nodes by default: a drain evicts N/10 pods). The
controller-manager's and scheduler's client QPS are raised (``CHAOSKIT_K8S_CLIENT_QPS``, default 500
here) so that the control plane, not its client rate limits, sets the pace. Run from the repo root::

    .venv/bin/python bench/k8s_scale.py [--sizes 500,2000,5000] [--nodes 10] [--concurrency C] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from calendar import timegm
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from chaoskit_kubernetes.bulk import DEFAULT_CONCURRENCY  # noqa: E402
from k8s_cluster import bin_dir, local_cluster  # noqa: E402

DEPLOYMENTS = 20
KILL_PERCENT = 10
SEED = 7
NODE_PODS = 1000


class ReadyWatch:
    """An independent record of when pods were Ready: a raw watch of the namespace in a thread, keeping the
    Ready count and the times it changed (bounded by the bench's own duration)."""

    def __init__(self, core: Any, namespace: str) -> None:
        self.core, self.namespace = core, namespace
        self.ready: set[str] = set()
        self.timeline: list[tuple[float, int]] = []  # (wall time, ready count) at every change
        self.lock = threading.Lock()
        self.stop = threading.Event()
        listed = core.list_namespaced_pod(namespace, label_selector="group=scale", _preload_content=False)
        data = json.loads(listed.data)
        for item in data["items"]:
            self._apply("ADDED", item)
        self.version = data["metadata"]["resourceVersion"]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        meta, status = obj["metadata"], obj.get("status") or {}
        ok = (
            kind != "DELETED"
            and "deletionTimestamp" not in meta
            and any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        )
        with self.lock:
            before = len(self.ready)
            (self.ready.add if ok else self.ready.discard)(meta["name"])
            if len(self.ready) != before:
                self.timeline.append((time.time(), len(self.ready)))

    def _run(self) -> None:
        from kubernetes.watch.watch import iter_resp_lines

        while not self.stop.is_set():
            resp = self.core.list_namespaced_pod(
                self.namespace, label_selector="group=scale", watch=True, resource_version=self.version,
                allow_watch_bookmarks=True, timeout_seconds=30, _preload_content=False,
            )  # fmt: skip
            for line in iter_resp_lines(resp):
                if self.stop.is_set():
                    break
                event = json.loads(line)
                self.version = event["object"]["metadata"].get("resourceVersion", self.version)
                if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    self._apply(event["type"], event["object"])

    def count(self) -> int:
        with self.lock:
            return len(self.ready)

    def wait_all(self, n: int, timeout: float) -> None:
        end = time.monotonic() + timeout
        while self.count() < n:
            if time.monotonic() > end:
                raise SystemExit(f"only {self.count()} of {n} pods Ready after {timeout:.0f}s")
            time.sleep(0.2)

    def recovered_at(self, n: int, after: float) -> float | None:
        """Wall time the Ready count last came back to n after ``after`` (None: it never dropped)."""
        with self.lock:
            timeline = [(t, c) for t, c in self.timeline if t >= after]
        dropped = [i for i, (_, c) in enumerate(timeline) if c < n]
        if not dropped:
            return None
        back = [t for t, c in timeline[dropped[-1] :] if c >= n]
        return back[0] if back else None


def deployments(apps: Any, namespace: str, n: int) -> None:
    per, extra = divmod(n, DEPLOYMENTS)
    for i in range(DEPLOYMENTS):
        labels = {"app": f"scale-{i}", "group": "scale"}
        body = {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"scale-{i}", "labels": labels},
            "spec": {"replicas": per + (1 if i < extra else 0), "selector": {"matchLabels": {"app": f"scale-{i}"}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "example.invalid/app:1"}]}}},
        }  # fmt: skip
        apps.create_namespaced_deployment(namespace, body, _request_timeout=30)


def experiment(path: Path, kubeconfig: Path, namespace: str, n: int, concurrency: int) -> None:
    kill = -(-n * KILL_PERCENT // 100)
    doc = {
        "title": f"{n} pods survive losing {KILL_PERCENT} %",
        "kubernetes": {"kubeconfig": str(kubeconfig), "namespaces": [namespace], "max_targets": n},
        "steady_state": {"probes": [{
            "name": "all pods ready", "probe": "k8s.pods_ready",
            "with": {"namespace": namespace, "label_selector": "group=scale", "min_ready": n, "wait": "60s"},
            "expect": {"min": n}, "timeout": "90s",
        }]},
        "method": [{
            "fault": "k8s.pod_kill", "timeout": "60s",
            "with": {"namespace": namespace, "label_selector": "group=scale", "mode": "count", "count": kill,
                     "seed": SEED, "force": True, "concurrency": concurrency},
        }],
        "recovery": {"within": "120s", "interval": "250ms"},
        "safety": {"max_duration": "10m"},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def run_chaoskit(exp: Path, out: Path) -> tuple[int, float, int]:
    """Exit code, wall seconds and peak RSS (KiB) of ``chaoskit run``: its ``VmHWM`` (the peak since its exec),
    read every 20 ms while it runs. Not ``wait4``'s ``ru_maxrss``: Linux carries the pre-exec peak of a forked
    child into it, so that reports this bench process's own size (a watch of N pods) whenever it is larger."""
    cmd = [str(ROOT / ".venv" / "bin" / "chaoskit"), "run", str(exp), "--out", str(out), "-q"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # returns after the exec
    status, peak = Path(f"/proc/{proc.pid}/status"), 0
    while proc.poll() is None:
        with contextlib.suppress(OSError):  # gone meanwhile (a zombie has no VmHWM line: nothing read)
            hwm = [int(x.split()[1]) for x in status.read_text().splitlines() if x.startswith("VmHWM:")]
            peak = max([peak, *hwm])
        time.sleep(0.02)
    _, err = proc.communicate()
    if proc.returncode not in (0, 1):
        sys.stderr.write(err.decode())
    return proc.returncode, time.perf_counter() - t0, peak


def last_ready_transition(core: Any, namespace: str) -> float:
    raw = core.list_namespaced_pod(namespace, label_selector="group=scale", _preload_content=False)
    latest = 0.0
    for pod in json.loads(raw.data)["items"]:
        for c in (pod.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready" and c.get("status") == "True" and c.get("lastTransitionTime"):
                latest = max(latest, float(timegm(time.strptime(c["lastTransitionTime"], "%Y-%m-%dT%H:%M:%SZ"))))
    return latest


def kubectl(kubeconfig: Path, *args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(bin_dir() / "kubectl"), f"--kubeconfig={kubeconfig}", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=900)  # fmt: skip
    return time.perf_counter() - t0


def curl_deletes(kubeconfig: Path, namespace: str, victims: list[str], concurrency: int) -> float:
    """Seconds for ``curl --parallel`` to send one raw DELETE (grace period 0) per victim, ``concurrency`` at a
    time over HTTP/1.1 (one connection each, like chaoskit's pool). The token goes in a config file, not argv."""
    doc = yaml.safe_load(kubeconfig.read_text())
    server, token = doc["clusters"][0]["cluster"]["server"], doc["users"][0]["user"]["token"]
    config = kubeconfig.with_name("curl-deletes.cfg")
    lines = [f'header = "Authorization: Bearer {token}"', 'header = "Content-Type: application/json"']
    lines += [f'url = "{server}/api/v1/namespaces/{namespace}/pods/{v}"\noutput = "/dev/null"' for v in victims]
    config.touch(mode=0o600)
    config.write_text("\n".join(lines) + "\n")
    ca = kubeconfig.with_name("pki") / "ca.crt"
    cmd = ["curl", "-sS", "--http1.1", "--parallel", "--parallel-max", str(concurrency), "-X", "DELETE",
           "--cacert", str(ca), "-d", '{"gracePeriodSeconds":0}', "-w", "%{http_code}\\n",
           "-K", str(config)]  # fmt: skip
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    finally:
        config.unlink()
    took = time.perf_counter() - t0
    codes = done.stdout.split()
    if done.returncode or len(codes) != len(victims) or set(codes) - {"200", "404"}:  # 404: gone already
        raise SystemExit(f"curl deletes failed ({done.returncode}): codes {sorted(set(codes))} {done.stderr[-2000:]}")
    return took


def drains(kubeconfig: Path, core: Any, namespace: str, watch: ReadyWatch, n: int, nodes: list[str]) -> dict[str, Any]:
    from chaoskit_kubernetes.nodes import DrainParams, NodeDrainFault
    from chaoskit_kubernetes.section import KubernetesSection

    from chaoskit.plugin import Context

    sec = KubernetesSection(kubeconfig=str(kubeconfig), namespaces=[namespace], max_targets=1, request_timeout=30)
    ctx = Context(sections={"kubernetes": sec}, timeout=600)
    fault = NodeDrainFault()
    params = DrainParams(names=[nodes[0]], timeout=300)
    info = fault.plan(params, ctx)
    t0 = time.perf_counter()
    try:
        fault.inject(params, info, ctx)
        ours = time.perf_counter() - t0
    finally:
        fault.revert(info, ctx)
    watch.wait_all(n, 600)
    on_peer = sum(1 for p in core.list_namespaced_pod(namespace, field_selector=f"spec.nodeName={nodes[1]}").items)
    peer = kubectl(kubeconfig, "drain", nodes[1], "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=600s")
    kubectl(kubeconfig, "uncordon", nodes[1])
    watch.wait_all(n, 600)
    return {"chaoskit_drain_pods": len(info["pods"]), "chaoskit_drain_s": round(ours, 2),
            "kubectl_drain_pods": on_peer, "kubectl_drain_s": round(peer, 2)}  # fmt: skip


def one_size(kubeconfig: Path, api: Any, n: int, work: Path, nodes: list[str], concurrency: int) -> dict[str, Any]:
    from kubernetes import client

    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    namespace = f"scale-{n}"
    core.create_namespace({"metadata": {"name": namespace}})
    while not core.list_namespaced_service_account(namespace).items:
        time.sleep(0.2)
    t0 = time.perf_counter()
    deployments(apps, namespace, n)
    watch = ReadyWatch(core, namespace)
    watch.wait_all(n, 1200)
    print(f"  {n} pods Ready in {time.perf_counter() - t0:.1f}s", flush=True)
    exp = work / f"scale-{n}.yaml"
    experiment(exp, kubeconfig, namespace, n, concurrency)
    started = time.time()
    code, wall, rss_kib = run_chaoskit(exp, work / "runs")
    journal_path = max((work / "runs").glob("*/journal.json"), key=lambda p: p.stat().st_mtime)
    journal = json.loads(journal_path.read_text())
    watch.wait_all(n, 600)
    recovery = next(p for p in journal["phases"] if p["name"] == "recovery")
    last_ready = last_ready_transition(core, namespace)
    real = watch.recovered_at(n, started)
    fault = journal["faults"][0]
    obs = [o for o in journal["observations"] if o["plugin"] == "k8s.pods_ready"]
    result = {
        "pods": n,
        "outcome": journal["outcome"],
        "exit": code,
        "killed": len(fault["revert_info"].get("killed", [])),
        "inject_s": fault["revert_info"].get("took_s"),
        "ttr_s": journal["ttr_s"],
        "real_ttr_watch_s": round(max(0.0, real - recovery["started_at"]), 3) if real else 0.0,
        "real_ttr_ready_timestamps_s": round(max(0.0, last_ready - recovery["started_at"]), 1),
        "chaoskit_wall_s": round(wall, 2),
        "chaoskit_peak_rss_mb": round(rss_kib / 1024, 1),
        "journal_kb": round(journal_path.stat().st_size / 1024, 1),
        "pods_ready_observation_bytes": max(len(json.dumps(o)) for o in obs),
        "pods_ready_observations": len(obs),
    }  # fmt: skip
    names = sorted(p.metadata.name for p in core.list_namespaced_pod(namespace, label_selector="group=scale").items)
    victims = random.Random(SEED).sample(names, result["killed"] or 1)
    result["kubectl_delete_s"] = round(
        kubectl(kubeconfig, "-n", namespace, "delete", "pod", "--wait=false", *victims), 2
    )
    result["kubectl_delete_pods"] = len(victims)
    watch.wait_all(n, 600)
    names = sorted(p.metadata.name for p in core.list_namespaced_pod(namespace, label_selector="group=scale").items)
    victims = random.Random(SEED + 1).sample(names, result["killed"] or 1)
    result["curl_delete_s"] = round(curl_deletes(kubeconfig, namespace, victims, concurrency), 2)
    result["concurrency"] = concurrency
    watch.wait_all(n, 600)
    result.update(drains(kubeconfig, core, namespace, watch, n, nodes))
    watch.stop.set()
    core.delete_namespace(namespace)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000,5000")
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--qps", type=int, default=500, help="client QPS of controller-manager and scheduler")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="k8s.pod_kill's (and curl's)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ["CHAOSKIT_K8S_CLIENT_QPS"] = str(args.qps)
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="k8s-scale-") as tmp,
        local_cluster(Path(tmp) / "k8s", nodes=args.nodes) as kc,
    ):
        from kubernetes import client, config

        api = config.new_client_from_config(config_file=str(kc))
        api.configuration.connection_pool_maxsize = 8
        nodes = [f"kwok-node-{i}" for i in range(args.nodes)]
        core = client.CoreV1Api(api)
        for name in nodes:  # kwok nodes hold 110 pods each by default: room for N pods (and a drain) on few nodes
            pods = {"pods": str(NODE_PODS)}
            core.patch_node_status(name, {"status": {"capacity": pods, "allocatable": pods}})
        for n in (int(s) for s in args.sizes.split(",")):
            print(f"N = {n}", flush=True)
            result = one_size(kc, api, n, Path(tmp), nodes, args.concurrency)
            print(json.dumps(result), flush=True)
            results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    keys = list(results[0]) if results else []
    print("\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for r in results:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()

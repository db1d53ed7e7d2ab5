"""``keep: true`` proxies survive the run: a game day's second experiment still has the dependency path the first
one declared (real Toxiproxy, real TCP echo upstream, the real CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaoskit_toxiproxy import ToxiproxyClient

from chaoskit.ports import free_port
from tests.toxiproxy.toxinet import EchoServer, median_rtt_ms


def test_a_kept_proxy_survives_two_experiments(
    toxiproxy: ToxiproxyClient, echo: EchoServer, tmp_path: Path, cli: Any
) -> None:
    kept, scratch = free_port(), free_port()
    tcp = {"name": "db reachable", "probe": "tcp", "with": {"port": kept}, "expect": {"equals": True}}
    first = {
        "title": "first declares the path",
        "toxiproxy": {
            "url": toxiproxy.url,
            "proxies": [
                {"name": "shop-db", "listen": f"127.0.0.1:{kept}", "upstream": echo.address, "keep": True},
                {"name": "scratch", "listen": f"127.0.0.1:{scratch}", "upstream": echo.address},
            ],
        },
        "steady_state": {"probes": [tcp]},
        "method": [{"fault": "toxiproxy.latency", "with": {"proxy": "shop-db", "latency_ms": 50}, "duration": "300ms"}],
        "recovery": {"within": "5s", "interval": "100ms"},
    }
    # The second experiment does not declare the proxy: it only works if the first one left it in place.
    second = {
        "title": "second relies on it",
        "toxiproxy": {"url": toxiproxy.url},
        "steady_state": {"probes": [tcp]},
        "method": [{"fault": "toxiproxy.down", "with": {"proxy": "shop-db"}, "duration": "300ms"}],
        "recovery": {"within": "5s", "interval": "100ms"},
    }
    folder = tmp_path / "gameday"
    folder.mkdir()
    (folder / "1-first.yaml").write_text(json.dumps(first))
    (folder / "2-second.yaml").write_text(json.dumps(second))
    result = cli("run", str(folder), "--out", str(tmp_path / "runs"), "--json", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    runs = json.loads(result.stdout)["runs"]
    assert [r["outcome"] for r in runs] == ["passed", "passed"], runs

    proxies = toxiproxy.proxies()
    assert list(proxies) == ["shop-db"]  # kept; the other declared proxy was deleted as usual
    assert toxiproxy.find_proxy("shop-db") is not None
    assert toxiproxy.toxics("shop-db") == []  # the faults on it were reverted all the same
    assert median_rtt_ms(kept) < 50  # and it still carries traffic to the dependency

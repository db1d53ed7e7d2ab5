"""Every experiment that applies to the demo shop resolves its targets against the running shop (``--dry-run``:
Toxiproxy proxies found, pidfiles read; nothing injected, no load started)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from shop.launcher import Shop, find_toxiproxy

from .conftest import ROOT, missing_plugins


@pytest.fixture(scope="module")
def shop_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    missing = missing_plugins()
    if missing:
        pytest.skip(f"needs plugins that are not installed: {', '.join(missing)}")
    try:
        find_toxiproxy()
    except Exception as exc:
        pytest.skip(f"toxiproxy-server is not installed (scripts/setup-toxiproxy.sh): {exc}")
    shop = Shop(tmp_path_factory.mktemp("shop"))
    shop.start()
    yield shop.env()
    shop.stop()


def test_the_game_day_dry_runs_against_the_shop(
    cli: Callable[..., CompletedProcess[str]], shop_env: dict[str, str], tmp_path: Path
) -> None:
    result = cli(
        "run", str(ROOT / "examples/shop/experiments"), "--dry-run", "--json", "--out", str(tmp_path), env=shop_env
    )
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)["runs"]
    experiments = sorted((ROOT / "examples/shop/experiments").glob("*.yaml"))
    assert [r["outcome"] for r in runs] == ["dry-run"] * len(experiments), [r["reason"] for r in runs]
    assert all(r["dry_run"] is True for r in runs)
    journals = [json.loads(Path(r["journal"]).read_text()) for r in runs]
    kill = next(f for j in journals for f in j["faults"] if f["plugin"] == "host.kill")
    pid = int(Path(shop_env["INVENTORY_1_PIDFILE"]).read_text())
    assert str(pid) in json.dumps(kill["revert_info"])  # the pidfile was read
    os.kill(pid, 0)  # resolved, not killed


def test_the_catalogue_partition_dry_runs_against_the_shop(
    cli: Callable[..., CompletedProcess[str]], shop_env: dict[str, str], tmp_path: Path
) -> None:
    result = cli(
        "run",
        str(ROOT / "experiments/network-partition.yaml"),
        "--dry-run",
        "--out",
        str(tmp_path),
        "--var",
        "proxy=payments",
        "--var",
        f"service_url={shop_env['SHOP_URL']}/health",
        env=shop_env,
    )
    assert result.returncode == 0, result.stderr
    missing = cli(
        "run",
        str(ROOT / "experiments/network-partition.yaml"),
        "--dry-run",
        "--out",
        str(tmp_path),
        "--var",
        "proxy=no-such-proxy",
        env=shop_env,
    )
    assert missing.returncode != 0 and "no-such-proxy" in missing.stderr

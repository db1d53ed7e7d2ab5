"""Which requests a rule hits: matching (method, path glob/regex, host, headers), `percent`, `first`, rate_limit;
with real clients: requests, httpx, and urllib3's own retry policy."""

from __future__ import annotations

import math
import time

import httpx
import requests
import urllib3
from chaoskit_httpfault import HttpFaultClient
from chaoskit_httpfault.faults import AbortFault, RateLimitFault

from tests.httpfault.conftest import Inject


def test_match_on_method_and_path_glob(proxy: str, inject: Inject) -> None:
    inject(AbortFault(), match={"methods": ["post"], "path": "/pay*"})
    with requests.Session() as s:
        assert s.post(f"{proxy}/payments", timeout=10).status_code == 503
        assert s.post(f"{proxy}/pay/ments?x=1", timeout=10).status_code == 503  # * spans '/'; query ignored
        assert s.get(f"{proxy}/payments", timeout=10).status_code == 200
        assert s.post(f"{proxy}/orders/payments", timeout=10).status_code == 200


def test_match_on_path_regex_host_and_headers(proxy: str, inject: Inject) -> None:
    inject(AbortFault(), status=500, match={"path_regex": r"^/users/\d+$"})
    inject(AbortFault(), status=502, match={"host": "*.internal"})
    inject(AbortFault(), status=504, match={"headers": {"X-Tenant": "beta-*"}})
    with requests.Session() as s:
        assert s.get(f"{proxy}/users/42", timeout=10).status_code == 500
        assert s.get(f"{proxy}/users/42/orders", timeout=10).status_code == 200
        assert s.get(f"{proxy}/x", headers={"Host": "api.internal:8080"}, timeout=10).status_code == 502
        assert s.get(f"{proxy}/x", headers={"Host": "api.example"}, timeout=10).status_code == 200
        assert s.get(f"{proxy}/x", headers={"X-Tenant": "beta-7"}, timeout=10).status_code == 504
        assert s.get(f"{proxy}/x", headers={"X-Tenant": "prod"}, timeout=10).status_code == 200


def test_percent_hits_a_share_within_statistical_bounds(proxy: str, inject: Inject, httpfault: HttpFaultClient) -> None:
    n, p = 1000, 0.30
    info = inject(AbortFault(), percent=p * 100, match={"path": "/json"})
    with httpx.Client(timeout=10) as client:  # keep-alive: one connection for all of them
        failed = sum(client.get(f"{proxy}/json").status_code == 503 for _ in range(n))
    sd = math.sqrt(n * p * (1 - p))
    assert abs(failed - n * p) < 5 * sd, f"{failed} of {n} hit, expected about {n * p:.0f} (sd {sd:.1f})"
    rule = httpfault.rule(info["rule"])
    assert rule is not None and rule["hits"] == {"matched": n, "applied": failed}


def test_percent_zero_and_seeded_rules(proxy: str, inject: Inject) -> None:
    inject(AbortFault(), percent=0, match={"path": "/json"})
    a = inject(AbortFault(), percent=50, seed=7, match={"path": "/echo"})
    with requests.Session() as s:
        assert all(s.get(f"{proxy}/json", timeout=10).status_code == 200 for _ in range(50))
        first = [s.get(f"{proxy}/echo", timeout=10).status_code for _ in range(40)]
    assert 0 < first.count(503) < 40
    assert a["rule"].startswith("chaoskit-t-")


def test_first_n_hits_exactly_the_first_matching_requests(proxy: str, inject: Inject) -> None:
    inject(AbortFault(), first=3, match={"path": "/json"})
    with requests.Session() as s:
        s.get(f"{proxy}/echo", timeout=10)  # does not match: not counted
        codes = [s.get(f"{proxy}/json", timeout=10).status_code for _ in range(6)]
    assert codes == [503, 503, 503, 200, 200, 200]


def test_rate_limit_answers_429_with_retry_after_beyond_the_rate(proxy: str, inject: Inject) -> None:
    inject(RateLimitFault(), rps=5, match={"path": "/json"})
    with requests.Session() as s:
        start = time.monotonic()
        responses = [s.get(f"{proxy}/json", timeout=10) for _ in range(12)]
        took = time.monotonic() - start
    assert took < 1.0, "the burst must fit in one second for this check"
    assert [r.status_code for r in responses[:5]] == [200] * 5
    assert {r.status_code for r in responses[5:]} == {429}
    assert all(int(r.headers["Retry-After"]) >= 1 for r in responses[5:])


def test_urllib3_retry_policy_gets_through_a_rate_limit_and_a_flaky_upstream(proxy: str, inject: Inject) -> None:
    inject(RateLimitFault(), rps=2, match={"path": "/json"})
    inject(AbortFault(), status=503, first=2, match={"path": "/echo"})
    retry = urllib3.Retry(total=5, status_forcelist=[429, 503], backoff_factor=0.05, respect_retry_after_header=True)
    with urllib3.PoolManager(retries=retry, timeout=10) as pool:
        start = time.monotonic()
        codes = [pool.request("GET", f"{proxy}/json").status for _ in range(4)]
        waited = time.monotonic() - start
        assert pool.request("GET", f"{proxy}/echo").status == 200  # two 503s retried away
    assert codes == [200] * 4
    assert waited >= 0.9, "the client waited as Retry-After asked"

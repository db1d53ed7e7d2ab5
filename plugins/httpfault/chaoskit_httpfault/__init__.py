"""chaoskit-httpfault: HTTP-level faults through a proxy -- errors, delays, resets, broken bodies, rate limits.

Importing this package is cheap: standard library and chaoskit only. The proxy engine (mitmproxy, in its own
virtualenv) runs in its own process; :mod:`chaoskit_httpfault.engine` is its addon and is never imported here.
"""

from chaoskit_httpfault.client import (
    AddressInUse,
    AlreadyExists,
    HttpFaultClient,
    HttpFaultError,
    NotFound,
    ServerUnavailable,
)
from chaoskit_httpfault.section import HttpFaultSection, ProxySpec
from chaoskit_httpfault.server import HttpFaultServer, find_engine_python

__all__ = [
    "AddressInUse",
    "AlreadyExists",
    "HttpFaultClient",
    "HttpFaultError",
    "HttpFaultSection",
    "HttpFaultServer",
    "NotFound",
    "ProxySpec",
    "ServerUnavailable",
    "find_engine_python",
]

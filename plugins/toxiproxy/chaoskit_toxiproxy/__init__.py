"""chaoskit-toxiproxy: TCP network faults through Toxiproxy (latency, bandwidth, timeouts, resets, outages).

Importing this package is cheap: standard library and chaoskit only.
"""

from chaoskit_toxiproxy.client import (
    AddressInUse,
    AlreadyExists,
    Proxy,
    ProxyNotFound,
    ServerUnavailable,
    Toxic,
    ToxicNotFound,
    ToxiproxyClient,
    ToxiproxyError,
)
from chaoskit_toxiproxy.section import ProxySpec, ToxiproxySection
from chaoskit_toxiproxy.server import ToxiproxyServer, find_server_binary

__all__ = [
    "AddressInUse",
    "AlreadyExists",
    "Proxy",
    "ProxyNotFound",
    "ProxySpec",
    "ServerUnavailable",
    "Toxic",
    "ToxicNotFound",
    "ToxiproxyClient",
    "ToxiproxyError",
    "ToxiproxySection",
    "ToxiproxyServer",
    "find_server_binary",
]

"""Real servers for the extension mapping tests: Toxiproxy (tests/toxiproxy) and the local Kubernetes control
plane (tests/kubernetes), through their own fixtures."""

from tests.kubernetes.conftest import api, apps, core, kubeconfig, namespace
from tests.toxiproxy.conftest import echo, toxiproxy, toxiproxy_server

__all__ = ["api", "apps", "core", "echo", "kubeconfig", "namespace", "toxiproxy", "toxiproxy_server"]

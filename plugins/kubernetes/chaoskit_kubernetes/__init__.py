"""chaoskit-kubernetes: faults and probes for Kubernetes through the official ``kubernetes`` client.

Importing this package (or any entry point module) does not import the client: it is imported when a
Kubernetes plugin first talks to a cluster.
"""

from chaoskit_kubernetes.section import KubernetesSection

__all__ = ["KubernetesSection"]

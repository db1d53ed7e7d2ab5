#!/usr/bin/env bash
# Builds the local Kubernetes control plane the kubernetes plugin's tests run against (see scripts/K8S.md):
# kube-apiserver, controller-manager, scheduler, kubectl (k8s v1.36.3), etcd v3.6.8 and kwok v0.8.0, from the
# Go module proxy into ${CHAOSKIT_CACHE:-~/.cache/chaoskit}/k8s/. Idempotent: cached binaries make it a no-op
# (0.07 s); a cold build takes ~26 min on a 2-core machine.
set -euo pipefail
exec bash "$(dirname "$0")/k8s-control-plane.sh" build

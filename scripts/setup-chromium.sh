#!/usr/bin/env bash
# Installs Debian's chromium for the headless-browser report tests. Idempotent: does nothing when it is there.
# Prints the browser's path on stdout. CHROMIUM overrides the binary to use.
set -euo pipefail
find_chromium() {
  for name in "${CHROMIUM:-}" chromium chromium-browser; do
    [ -n "$name" ] && command -v "$name" >/dev/null 2>&1 && { command -v "$name"; return 0; }
  done
  return 1
}
if path="$(find_chromium)"; then
  echo "$path"
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-chromium: chromium is missing; install Debian's 'chromium' package (apt-get install chromium)" >&2
  exit 1
fi
echo "› installing chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
find_chromium

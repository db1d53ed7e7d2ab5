#!/usr/bin/env bash
# Installs the HTTP fault proxy engine (mitmproxy, pinned) into its own virtualenv in the chaoskit cache.
# Its own virtualenv because mitmproxy pins its dependencies tightly (h11<=0.14, flask<=3.1.0, cryptography<44.1...)
# and those clash with what chaoskit's own environment holds (httpx needs h11>=0.16); the engine runs as a child
# process anyway, so it needs none of chaoskit's packages. Idempotent: a second run finds it and does nothing.
# Prints the engine's python on stdout.
#   HTTPFAULT_MITMPROXY_VERSION   mitmproxy version (default 11.0.2, the last one that runs on Python 3.11)
#   CHAOSKIT_CACHE                cache root (default ~/.cache/chaoskit)
# chaoskit_httpfault.server finds the engine at the same place (or $HTTPFAULT_PYTHON).
set -euo pipefail
VERSION="${HTTPFAULT_MITMPROXY_VERSION:-11.0.2}"
CACHE="${CHAOSKIT_CACHE:-$HOME/.cache/chaoskit}"
DIR="$CACHE/httpfault/mitmproxy-$VERSION"
PY="$DIR/bin/python"

if [ -x "$PY" ] && [ -e "$DIR/.complete" ]; then
  echo "$PY"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"  # with_progress: a line every 30 s on a slow download
echo "› installing mitmproxy $VERSION into $DIR (its own virtualenv)" >&2
rm -rf "$DIR"
mkdir -p "$CACHE/httpfault"
if [ -n "${UV:-}" ] && [ -x "$UV" ]; then
  "$UV" venv --quiet --python "$(command -v python3)" "$DIR" >&2
  with_progress "installing mitmproxy" "$UV" pip install --quiet --python "$PY" "mitmproxy==$VERSION" >&2
else
  python3 -m venv "$DIR" >&2
  with_progress "installing mitmproxy" "$DIR/bin/pip" install --quiet --disable-pip-version-check \
    "mitmproxy==$VERSION" >&2
fi
"$PY" -c "import mitmproxy.version as v; print('mitmproxy', v.VERSION)" >&2
touch "$DIR/.complete"  # last: its presence means the install is complete
echo "$PY"

#!/usr/bin/env bash
# Installs the HTTP fault proxy engine (mitmproxy, pinned) into its own virtualenv in the chaoskit cache.
# Its own virtualenv because mitmproxy pins its dependencies tightly (h11<=0.14, flask<=3.1.0, cryptography<44.1...)
# and those clash with what chaoskit's own environment holds (httpx needs h11>=0.16); the engine runs as a child
# process anyway, so it needs none of chaoskit's packages. Idempotent: a second run finds it and does nothing.
# Concurrent runs (several checkouts sharing the cache) take turns on a lock. Prints the engine's python on stdout.
#   HTTPFAULT_MITMPROXY_VERSION   mitmproxy version (default 11.0.2, the last one that runs on Python 3.11)
#   CHAOSKIT_CACHE                cache root (default ~/.cache/chaoskit)
# chaoskit_httpfault.server finds the engine at the same place (or $HTTPFAULT_PYTHON).
set -euo pipefail
VERSION="${HTTPFAULT_MITMPROXY_VERSION:-11.0.2}"
CACHE="${CHAOSKIT_CACHE:-$HOME/.cache/chaoskit}"
DIR="$CACHE/httpfault/mitmproxy-$VERSION"
PY="$DIR/bin/python"

if [ -x "$PY" ] && [ -e "$DIR/.ready" ]; then
  echo "$PY"
  exit 0
fi
mkdir -p "$CACHE/httpfault"
exec {LOCK}>"$CACHE/httpfault/.lock"
flock "$LOCK"  # another checkout may be installing it right now: wait for it, then look again
if [ -x "$PY" ] && [ -e "$DIR/.ready" ]; then
  echo "$PY"
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"  # with_progress: a line every 30 s on a slow download
if [ -x "$PY" ] && [ -e "$DIR/.complete" ]; then
  # installed by an earlier version of this script, without bytecode: compile it in place
  echo "› compiling the installed mitmproxy $VERSION ($DIR)" >&2
  with_progress "compiling mitmproxy" "$PY" -m compileall -q "$DIR/lib" >/dev/null || true
else
  echo "› installing mitmproxy $VERSION into $DIR (its own virtualenv)" >&2
  rm -rf "$DIR"
  if [ -n "${UV:-}" ] && [ -x "$UV" ]; then
    "$UV" venv --quiet --python "$(command -v python3)" "$DIR" >&2
    # --compile-bytecode: without .pyc files every engine start compiles mitmproxy's modules again (~5 s here)
    with_progress "installing mitmproxy" "$UV" pip install --quiet --compile-bytecode --python "$PY" \
      "mitmproxy==$VERSION" >&2
  else
    python3 -m venv "$DIR" >&2
    with_progress "installing mitmproxy" "$DIR/bin/pip" install --quiet --disable-pip-version-check \
      "mitmproxy==$VERSION" >&2
  fi
fi
"$PY" -c "import mitmproxy.version as v; print('mitmproxy', v.VERSION)" >&2
touch "$DIR/.complete"  # what earlier versions of this script look for
touch "$DIR/.ready"  # last: its presence means the install is complete
echo "$PY"

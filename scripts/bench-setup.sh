#!/usr/bin/env bash
# Make the reference pipelines in crates/cli/bench runnable (Pillow venv, sharp
# node project, image corpus), all under a cache dir outside the repo.
#
# Usage: scripts/bench-setup.sh [CORPUS_DIR]
#   IMGFLOW_BENCH_CACHE  cache dir (default ~/.cache/imgflow-bench)
#   CORPUS_DIR           where the corpus goes (default $IMGFLOW_BENCH_CACHE/corpus)
#
# Needs only the PyPI, npm and Debian registries.  Progress goes to stderr;
# stdout is exactly four KEY=VALUE lines (PYTHON, SHARP_SCRIPT, CORPUS,
# HEIC_CORPUS: three corpus photos as HEIC, in $IMGFLOW_BENCH_CACHE/corpus-heic), e.g.
#   eval "$(scripts/bench-setup.sh)"
# Idempotent: a second run installs nothing and prints only those lines.
set -euo pipefail

log() { printf 'bench-setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPT_DIR")
REF=$REPO_ROOT/crates/cli/bench
for f in requirements.txt package.json pillow_pipeline.py sharp_pipeline.mjs make_corpus.sh make_heic.py; do
  [ -f "$REF/$f" ] || die "missing $REF/$f"
done
CACHE=${IMGFLOW_BENCH_CACHE:-$HOME/.cache/imgflow-bench}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

# ---------------------------------------------------------------- Python ----
# Exit 0 iff every line of the requirements file is installed in the
# interpreter running it: `name==version` at exactly that version, a bare
# `name` at any version.
REQ_CHECK='
import re, sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\s*==\s*(\S+))?", line)
    if not m:
        sys.exit(1)          # not a plain pin or name: let pip decide
    try:
        have = version(m[1])
    except PackageNotFoundError:
        sys.exit(1)
    if m[2] and have != m[2]:
        sys.exit(1)
'
req_ok() { [ -x "$1" ] && "$1" -c "$REQ_CHECK" "$REF/requirements.txt" 2>/dev/null; }

VENV=$CACHE/venv
TARGET=$CACHE/pytarget            # fallback when the venv module is unusable
PYTHON=
if req_ok "$VENV/bin/python"; then
  PYTHON=$VENV/bin/python
elif [ ! -x "$VENV/bin/python" ] && req_ok "$TARGET/python"; then
  PYTHON=$TARGET/python
else
  command -v python3 >/dev/null || die "python3 not found (apt-get install python3)"
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    PYTHON=$VENV/bin/python       # venv exists, requirements missing/outdated
  else
    rm -rf "$VENV"
    log "creating venv $VENV"
    if python3 -m venv "$VENV" >&2 && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
      PYTHON=$VENV/bin/python
    else
      # e.g. Debian without python3-venv: a half-made venv is left behind.
      rm -rf "$VENV"
      python3 -m pip --version >/dev/null 2>&1 \
        || die "neither 'python3 -m venv' nor pip works (apt-get install python3-venv or python3-pip)"
      log "venv unavailable; falling back to pip install --target $TARGET"
      mkdir -p "$TARGET"
      PY3=$(python3 -c 'import sys; print(sys.executable)')
      # Wrapper so callers still get one interpreter path to run.
      cat > "$TARGET/python" <<EOF
#!/bin/sh
PYTHONPATH="$TARGET/lib\${PYTHONPATH:+:\$PYTHONPATH}" exec "$PY3" "\$@"
EOF
      chmod +x "$TARGET/python"
      PYTHON=$TARGET/python
    fi
  fi
  log "installing $(sed 's/#.*//' "$REF/requirements.txt" | xargs)"
  if [ "$PYTHON" = "$VENV/bin/python" ]; then
    "$PYTHON" -m pip install -q --disable-pip-version-check -r "$REF/requirements.txt" >&2
  else
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --upgrade \
      --target "$TARGET/lib" -r "$REF/requirements.txt" >&2
  fi
  req_ok "$PYTHON" || die "requirements still not satisfied in $PYTHON"
fi

# ------------------------------------------------------------------ node ----
command -v node >/dev/null || die "node not found (apt-get install nodejs npm)"
NODE_DIR=$CACHE/node
mkdir -p "$NODE_DIR"
cmp -s "$REF/package.json" "$NODE_DIR/package.json" \
  || install -m 0644 "$REF/package.json" "$NODE_DIR/package.json"
# ESM resolves 'sharp' relative to the script's own folder, so the runtime copy
# of the script must sit next to node_modules (never committed anywhere).
cmp -s "$REF/sharp_pipeline.mjs" "$NODE_DIR/sharp_pipeline.mjs" \
  || install -m 0644 "$REF/sharp_pipeline.mjs" "$NODE_DIR/sharp_pipeline.mjs"

pkg_field() { # file js-expression-on-p
  node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
           const v=('"$2"'); process.stdout.write(v==null?"":String(v))' "$1" 2>/dev/null || true
}
SHARP_WANT=$(pkg_field "$NODE_DIR/package.json" 'p.dependencies && p.dependencies.sharp')
SHARP_HAVE=$(pkg_field "$NODE_DIR/node_modules/sharp/package.json" 'p.version')
if [ -z "$SHARP_HAVE" ] || [ "$SHARP_HAVE" != "$SHARP_WANT" ]; then
  command -v npm >/dev/null || die "npm not found (apt-get install npm)"
  log "installing sharp@$SHARP_WANT in $NODE_DIR"
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error >&2)
  if ! (cd "$NODE_DIR" && node --input-type=module -e "await import('sharp')" >/dev/null 2>&1); then
    die "sharp does not load with node $(node --version) (sharp needs node $(pkg_field \
"$NODE_DIR/node_modules/sharp/package.json" 'p.engines && p.engines.node'))"
  fi
fi
SHARP_SCRIPT=$NODE_DIR/sharp_pipeline.mjs

# ---------------------------------------------------------------- corpus ----
CORPUS=${1:-$CACHE/corpus}
# Expected file names: the ones make_corpus.sh builds and checksums.
mapfile -t WANT < <(bash "$REF/make_corpus.sh" --list)
[ "${#WANT[@]}" -gt 0 ] || die "could not read the corpus file list from $REF/make_corpus.sh"
missing=0
for f in "${WANT[@]}"; do [ -s "$CORPUS/$f" ] || missing=1; done
if [ "$missing" = 1 ]; then
  log "building corpus in $CORPUS (downloads ~470 MB of packages once)"
  bash "$REF/make_corpus.sh" "$CORPUS" >&2
  for f in "${WANT[@]}"; do [ -s "$CORPUS/$f" ] || die "corpus still lacks $CORPUS/$f"; done
fi
CORPUS=$(cd "$CORPUS" && pwd)

# HEIC: a few corpus photos saved as phones save them (pillow-heif, from the
# requirements above); a folder of their own, since sharp cannot read them.
HEIC_CORPUS=$CACHE/corpus-heic
"$PYTHON" "$REF/make_heic.py" "$CORPUS" "$HEIC_CORPUS" >&2

printf 'PYTHON=%s\nSHARP_SCRIPT=%s\nCORPUS=%s\nHEIC_CORPUS=%s\n' "$PYTHON" "$SHARP_SCRIPT" "$CORPUS" "$HEIC_CORPUS"

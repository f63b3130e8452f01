#!/usr/bin/env bash
# Build imgflow's benchmark corpus: 12 real photos and renders (0.25-17.9 MP;
# baseline and progressive JPEG, PNG RGB and RGBA, some with ICC/EXIF) taken
# out of public packages, each checked against a recorded SHA-256.
#
# Usage: make_corpus.sh OUTDIR     build (or complete) the corpus in OUTDIR
#        make_corpus.sh --list     print the corpus file names, one a line
#
# Sources: four Debian 12 (bookworm) packages fetched with `apt-get download`
# and the scikit-image wheel fetched with `pip download`.  Nothing is
# installed: only the needed members are read out with dpkg-deb / unzip.
# Downloads (~470 MB, once) are kept in
#   $IMGFLOW_CORPUS_CACHE  (default ${XDG_CACHE_HOME:-$HOME/.cache}/imgflow-corpus)
# Files already in OUTDIR with the right checksum are left alone.  A checksum
# mismatch (the package changed upstream) is an error, unless
# IMGFLOW_CORPUS_ALLOW_MISMATCH=1, which keeps the file with a warning.
# Needs: apt-get (bookworm sources), python3 -m pip (or pip), dpkg-deb, tar,
# unzip, sha256sum.
set -euo pipefail

SKIMAGE_VERSION=0.26.0

# source  member-inside-the-package  output-name  sha256
#   source: deb:<package> or wheel (the scikit-image wheel)
MANIFEST='
wheel                       skimage/data/astronaut.png                                   s1_astronaut.png     88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
wheel                       skimage/data/coffee.png                                      s2_coffee.png        cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7
wheel                       skimage/data/rocket.jpg                                      s3_rocket.jpg        c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c
deb:mate-backgrounds        usr/share/backgrounds/mate/nature/RainDrops.jpg              m1_raindrops.jpg     3e4ea9671c28c90a86cf67b3db9daf18c4741587c596333a7529ca589aaa0c16
deb:stellarium-data         usr/share/stellarium/landscapes/mars/mars.png                m2_mars_rgba.png     c9f2fece30a6839dbb7ff15b4224940646539d41e5487a61b778dda0f6751f5a
deb:plasma-workspace-wallpapers usr/share/wallpapers/Path/contents/images/2560x1600.jpg  m3_path.jpg          7477457d7f17b736259f1b021864778ad4ba802cf3214e6728181ff29126bba8
deb:plasma-workspace-wallpapers usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg m4_eveningglow.jpg 586682dcb362b9f620068f10138f87d0d3649939aef238adc5807cb951976a7a
deb:plasma-workspace-wallpapers usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg m5_colorfulcups.jpg 6e0f3a72feb5a4a9fec191b77e34874c3c69e2d93040deb3f07773e73385023d
deb:stellarium-data         usr/share/stellarium/textures/moon_4k.jpg                    l1_moon.jpg          a71deba23c5e7b3945b5f7a33105975beb605b67486b38fa13e8246cbfdfaa93
deb:kstars-data             usr/share/kstars/kstarslite/qml/images/splash_bg@4x.jpeg     l2_nightsky.jpg      1472cc4060cd339c40d41b16da0c49f4bf9f093ea4beab04390b651457178b9e
deb:plasma-workspace-wallpapers usr/share/wallpapers/Canopee/contents/images/3840x2160.png l3_canopee.png     c538a5a7f7f78fbc129006b889acd8580e088f070df83509a1a7a7af9681ae43
deb:mate-backgrounds        usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg  l4_elephants.jpg     7ab602cd55aedd107743973353e58771860d1a74a0cd0701e8351096535edde8
'

say() { printf 'make_corpus: %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }
entries() { printf '%s\n' "$MANIFEST" | awk 'NF == 4'; }

case "${1:-}" in
  --list) entries | awk '{print $3}'; exit 0 ;;
  ""|-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; [ -n "${1:-}" ]; exit ;;
esac

mkdir -p "$1"
OUT=$(cd "$1" && pwd)
CACHE=${IMGFLOW_CORPUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imgflow-corpus}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
for tool in sha256sum dpkg-deb tar unzip; do
  command -v "$tool" >/dev/null || fail "$tool not found"
done

sum_ok() { # file sha256
  [ -s "$1" ] && [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$2" ]
}

# Which sources are needed for what is still missing?
need_src=()
while read -r src member name sum; do
  sum_ok "$OUT/$name" "$sum" && continue
  case " ${need_src[*]-} " in *" $src "*) ;; *) need_src+=("$src") ;; esac
done < <(entries)
if [ "${#need_src[@]}" -eq 0 ]; then
  say "all $(entries | wc -l) files present in $OUT"
  exit 0
fi

# Path of the cached download for a source, fetching it when absent.
fetch() { # source -> prints path
  local src=$1 f
  case "$src" in
    deb:*)
      local pkg=${src#deb:}
      f=$(find "$CACHE" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n 1)
      if [ -z "$f" ]; then
        say "downloading $pkg"
        (cd "$CACHE" && apt-get download -q "$pkg" >&2) || fail "apt-get download $pkg failed"
        f=$(find "$CACHE" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n 1)
        [ -n "$f" ] || fail "no ${pkg}_*.deb in $CACHE after download"
      fi ;;
    wheel)
      f=$(find "$CACHE" -maxdepth 1 -name "scikit_image-${SKIMAGE_VERSION}-*.whl" | sort | head -n 1)
      if [ -z "$f" ]; then
        local pip
        if python3 -m pip --version >/dev/null 2>&1; then pip="python3 -m pip"
        elif command -v pip >/dev/null; then pip=pip
        else fail "pip not found (apt-get install python3-pip)"; fi
        say "downloading scikit-image==$SKIMAGE_VERSION wheel"
        # The data files are the same in every wheel; when none fits this
        # Python, take the CPython 3.12 manylinux x86_64 one.
        $pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
            -d "$CACHE" "scikit-image==$SKIMAGE_VERSION" >&2 \
          || $pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
            --platform manylinux_2_17_x86_64 --python-version 3.12 --implementation cp \
            -d "$CACHE" "scikit-image==$SKIMAGE_VERSION" >&2 \
          || fail "pip download scikit-image==$SKIMAGE_VERSION failed"
        f=$(find "$CACHE" -maxdepth 1 -name "scikit_image-${SKIMAGE_VERSION}-*.whl" | sort | head -n 1)
        [ -n "$f" ] || fail "no scikit-image wheel in $CACHE after download"
      fi ;;
    *) fail "unknown source $src" ;;
  esac
  printf '%s\n' "$f"
}

# apt-get download needs package lists that know the packages.
for src in "${need_src[@]}"; do
  case "$src" in deb:*) ;; *) continue ;; esac
  pkg=${src#deb:}
  find "$CACHE" -maxdepth 1 -name "${pkg}_*.deb" | grep -q . && continue
  command -v apt-get >/dev/null || fail "apt-get not found (a Debian bookworm system is needed for $pkg)"
  if ! apt-cache show "$pkg" >/dev/null 2>&1; then
    say "package lists do not know $pkg: running apt-get update"
    apt-get update -qq >&2 || fail "apt-get update failed (run it once as root)"
    break
  fi
done

declare -A archive
for src in "${need_src[@]}"; do archive[$src]=$(fetch "$src"); done

bad=0
while read -r src member name sum; do
  sum_ok "$OUT/$name" "$sum" && continue
  a=${archive[$src]}
  tmp="$OUT/.$name.part"
  case "$src" in
    deb:*) dpkg-deb --fsys-tarfile "$a" | tar -xOf - "./$member" > "$tmp" ;;
    wheel) unzip -p "$a" "$member" > "$tmp" ;;
  esac
  [ -s "$tmp" ] || { rm -f "$tmp"; fail "$member not found in $(basename "$a")"; }
  mv -f "$tmp" "$OUT/$name"
  if sum_ok "$OUT/$name" "$sum"; then
    say "ok  $name  (from $(basename "$a"))"
  elif [ "${IMGFLOW_CORPUS_ALLOW_MISMATCH:-}" = 1 ]; then
    say "WARNING: $name does not match its recorded sha256 (package $(basename "$a") changed?); kept"
  else
    say "checksum mismatch: $name from $(basename "$a") (package changed upstream?)"
    rm -f "$OUT/$name"
    bad=1
  fi
done < <(entries)
[ "$bad" = 0 ] || fail "corpus incomplete (set IMGFLOW_CORPUS_ALLOW_MISMATCH=1 to keep mismatching files)"
say "corpus ready in $OUT"

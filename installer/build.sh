#!/usr/bin/env bash
# Build Apportion's desktop bundle and its tarball: bash installer/build.sh [--dist DIR] [--work DIR]
#
#   DIST/apportion/                               the one-folder bundle (apportion + _internal/)
#   DIST/apportion-VERSION-linux-x86_64.tar.gz    the bundle, apportion.desktop, the icons,
#                                                 install.sh and the scheduler's systemd unit
#
# Needs the project and PyInstaller installed in the Python it uses: PYTHON, else .venv/bin/python,
# else python3 (`pip install -e ".[test]"` brings PyInstaller). DIST defaults to dist/, the
# PyInstaller work directory (its cache: a second build is faster) to build/pyinstaller/.
# Prints the bundle's size and the build time; fails if the built bundle cannot say its version.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

DIST=$ROOT/dist
WORK=$ROOT/build/pyinstaller
while [ $# -gt 0 ]; do
  case "$1" in
    --dist) DIST=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    --work) WORK=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
started=$(date +%s)

version=$("$PYTHON" - <<'EOF'
import tomllib
with open("pyproject.toml", "rb") as f:
    print(tomllib.load(f)["project"]["version"])
EOF
)
# `apportion --version` reads the installed metadata, which the bundle copies: a stale editable
# install would ship the wrong number.
installed=$("$PYTHON" -c 'from importlib.metadata import version; print(version("apportion"))' \
  2>/dev/null || true)
if [ "$installed" != "$version" ]; then
  echo "build.sh: pyproject.toml says $version but $PYTHON has apportion ${installed:-not installed};" \
       "run: $PYTHON -m pip install -e '.[test]'" >&2
  exit 1
fi
"$PYTHON" -c 'import PyInstaller' 2>/dev/null || {
  echo "build.sh: PyInstaller is missing from $PYTHON; run: $PYTHON -m pip install -e '.[test]'" >&2
  exit 1
}

platform="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)"
stem="apportion-$version-$platform"
echo "Building $stem with $("$PYTHON" -m PyInstaller --version) (PyInstaller) ..."
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" installer/apportion.spec

bundle=$DIST/apportion
said=$("$bundle/apportion" --version)
case "$said" in
  *"version $version") ;;
  *) echo "build.sh: the bundle says '$said', expected version $version" >&2; exit 1 ;;
esac

# The tarball: one top directory named after the release; the files come from where they live,
# renamed on the way in (S: symbolic link targets inside the bundle are left as they are).
tarball=$DIST/$stem.tar.gz
mtime=$(git log -1 --format=%ct 2>/dev/null || date +%s)
tar --create --gzip --file "$tarball" --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime="@$mtime" --transform "s|^|$stem/|S" \
  -C "$DIST" apportion \
  -C "$ROOT/installer" apportion.desktop install.sh apportion-scheduler.service \
  -C "$ROOT/resources/icons" apportion.svg apportion.png

elapsed=$(( $(date +%s) - started ))
echo "Bundle:  $bundle ($(du -sh "$bundle" | cut -f1), $said)"
echo "Tarball: $tarball ($(du -sh "$tarball" | cut -f1))"
echo "Built in ${elapsed} s"

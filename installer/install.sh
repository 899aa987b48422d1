#!/usr/bin/env bash
# Install Apportion from this unpacked tarball, for you (no root) or for the whole machine.
#
#   ./install.sh                  install under ~/.local (or --prefix DIR)
#   ./install.sh --uninstall      remove what install.sh put there
#   sudo ./install.sh --system    the same under /usr/local (servers: the scheduler's unit
#                                 runs /usr/local/bin/apportion)
#
# Layout under PREFIX:  lib/apportion/ (the bundle), bin/apportion (a symlink to it),
# share/applications/apportion.desktop, share/icons/hicolor/{scalable,256x256}/apps/apportion.*
# Your databases and logs (~/.local/share/apportion) are never touched, uninstall included.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-$HOME/.local}
ACTION=install

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) PREFIX=${1#--prefix=}; shift ;;
    --system) PREFIX=/usr/local; shift ;;
    --uninstall) ACTION=uninstall; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

LIB="$PREFIX/lib/apportion"
BIN="$PREFIX/bin/apportion"
APPS="$PREFIX/share/applications"
DESKTOP="$APPS/apportion.desktop"
HICOLOR="$PREFIX/share/icons/hicolor"
SVG="$HICOLOR/scalable/apps/apportion.svg"
PNG="$HICOLOR/256x256/apps/apportion.png"

refresh_desktop() {
  # Menus pick the entry up without these; they only make it show at once. Never fatal.
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$APPS" 2>/dev/null || true
  fi
  if [ -d "$HICOLOR" ]; then touch "$HICOLOR"; fi
}

ours() {
  # True when PATH is our symlink into the bundle: a pip-installed `apportion` there stays.
  [ -L "$1" ] && [ "$(readlink "$1")" = "$LIB/apportion" ]
}

install_app() {
  [ -x "$HERE/apportion/apportion" ] || {
    echo "install.sh: $HERE/apportion/apportion is missing: run me from the unpacked tarball" >&2
    exit 1
  }
  if [ -e "$BIN" ] && ! ours "$BIN"; then
    echo "install.sh: $BIN exists and is not ours (a pip install?): remove it first" >&2
    exit 1
  fi
  mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$APPS" "$(dirname "$SVG")" "$(dirname "$PNG")"
  # Copy beside the old version, then swap: a failed copy leaves the old one working.
  rm -rf "$LIB.new"
  cp -a "$HERE/apportion" "$LIB.new"
  rm -rf "$LIB.old"
  if [ -e "$LIB" ]; then mv "$LIB" "$LIB.old"; fi
  mv "$LIB.new" "$LIB"
  rm -rf "$LIB.old"
  ln -sfn "$LIB/apportion" "$BIN"
  # Menus do not search ~/.local/bin: the entry names the executable by its full path.
  sed -e "s|^Exec=apportion |Exec=\"$LIB/apportion\" |" -e "s|^TryExec=.*|TryExec=$LIB/apportion|" \
    "$HERE/apportion.desktop" > "$DESKTOP"
  chmod 644 "$DESKTOP"
  install -m 644 "$HERE/apportion.svg" "$SVG"
  install -m 644 "$HERE/apportion.png" "$PNG"
  refresh_desktop
  echo "Installed $("$LIB/apportion" --version) in $LIB"
  echo "  command: $BIN    menu entry: $DESKTOP"
  case ":$PATH:" in
    *":$PREFIX/bin:"*) ;;
    *) echo "  $PREFIX/bin is not on your PATH: add it, or run $BIN" ;;
  esac
}

uninstall_app() {
  if ours "$BIN"; then rm -f "$BIN"; fi
  rm -f "$DESKTOP" "$SVG" "$PNG"
  if [ -x "$LIB/apportion" ]; then rm -rf "$LIB"; fi
  rm -rf "$LIB.new" "$LIB.old"
  refresh_desktop
  echo "Removed Apportion from $PREFIX (your databases and logs in the data directory stay)."
}

"${ACTION}_app"

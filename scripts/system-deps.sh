#!/bin/sh
# Installs the Debian packages the tutorial needs on Linux: a Secret Service to keep tokens in
# (gnome-keyring, run headless under dbus-run-session) and, for the browser test, Chromium.
# As root (or with sudo) it installs them; otherwise it prints the exact command to run.
set -e
[ "$(uname -s)" = Linux ] || exit 0
command -v apt-get >/dev/null 2>&1 || { echo "system-deps: not a Debian-like system; install gnome-keyring, dbus and Chromium (for the browser test) yourself" >&2; exit 0; }
# chromium-headless-shell: Debian's Chromium as its headless shell, which the browser and website
# tests drive with Playwright (tests/chromium.py: no browser windows to draw, so less CPU);
# fonts-noto-color-emoji: so the widgets' status icons show in its screenshots;
# wrk: the load generator of `make bench-peers` (benchmarks/peers/).
PKGS="gnome-keyring dbus dbus-user-session chromium-headless-shell fonts-noto-color-emoji wrk"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js and npm, for the website's mermaid and axe-core (package.json), unless some Node is
# installed already (NodeSource's nodejs brings its own npm, and Debian's npm would clash with it).
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"
else
  echo "system-deps: missing Debian packages:$missing" >&2
  echo "  run: sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "system-deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing

#!/usr/bin/env bash
# Checks deploy/ohwb-bot.service with `systemd-analyze verify`, which exits 0 even when it
# ignores a misspelt key or a bad value, so any output counts as a failure. The unit names the
# installed binary, which a build machine does not have: a copy pointing at /bin/true is checked.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not installed: unit not verified"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's|^ExecStart=/opt/ohwb-bot/ohwb-bot|ExecStart=/bin/true|' deploy/ohwb-bot.service >"$tmp/ohwb-bot.service"
out=$(systemd-analyze verify "$tmp/ohwb-bot.service" 2>&1 || true)
if [ -n "$out" ]; then
  echo "deploy/ohwb-bot.service:"
  echo "$out"
  exit 1
fi
echo "deploy/ohwb-bot.service verified"

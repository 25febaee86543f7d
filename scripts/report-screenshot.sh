#!/usr/bin/env bash
# Opens an arena report in a real browser (headless Chromium, Debian's package) and saves a
# screenshot, to check that the page renders offline and its charts are drawn and labelled.
#
#   scripts/report-screenshot.sh [REPORT_HTML] [OUT_PNG]
#
# Defaults: ckv-out/arena/report.html (what `./ckv arena` writes) -> docs/arena-report.png.
# Needs chromium (as root: apt-get install chromium). CI does not run this script.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
report="${1:-$root/ckv-out/arena/report.html}"
png="${2:-$root/docs/arena-report.png}"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [ -z "$browser" ]; then
  echo "report-screenshot: no Chromium found; on Debian: apt-get install chromium" >&2
  exit 1
fi
if [ ! -f "$report" ]; then
  echo "report-screenshot: $report not found; run ./ckv arena first" >&2
  exit 1
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
mkdir -p "$(dirname "$png")"
# --virtual-time-budget lets the page's scripts finish drawing before the capture; the other flags
# keep Chromium from reaching the network (the page needs none) or touching a real profile.
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
  --disable-sync --no-first-run --hide-scrollbars --user-data-dir="$profile" --virtual-time-budget=5000 \
  --window-size=1280,2000 --screenshot="$png" "file://$(realpath "$report")" 2> "$profile/chromium.log" || {
  cat "$profile/chromium.log" >&2
  exit 1
}
echo "report-screenshot: $png"

#!/usr/bin/env bash
# Rebuild the curated example report in reports/example/ (README: "Reports for clients").
#
# One report of scenarios/race1_double_buy.toml (seed 1, 200 replications, with its PDF),
# then what a reader is shown: the page's first 2400 px as headless Chromium draws it
# (screenshot.png; the check also fails on console errors or images that did not load)
# and every PDF page as a PNG (pages/page-N.png, pdftoppm at 80 dpi). Needs Chromium and
# poppler-utils; PYTHON (default python3) must import racesim. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
example=reports/example

"$PYTHON" -m racesim report scenarios/race1_double_buy.toml --out "$example" --seed 1 \
    --replications 200 --jobs 2 --pdf --client "Example Mugs Ltd" --quiet
"$PYTHON" -m racesim.report.browser "$example/index.html" "$example/screenshot.png" \
    --height 2400
rm -rf "$example/pages"  # this script's own output, from an earlier run
mkdir -p "$example/pages"
pdftoppm -png -r 80 "$example/report.pdf" "$example/pages/page"
echo "Rebuilt $example: index.html, report.pdf, screenshot.png and $(ls "$example/pages" | wc -l) PDF pages."

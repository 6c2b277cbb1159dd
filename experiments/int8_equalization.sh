#!/usr/bin/env bash
# int8 agreement with and without activation equalization, over every distilled student of the
# "Further attempts" search in docs/export.md (runs/d2_*) and the earlier width-32 default.
# The round-to-nearest, int8-stem export is kept fixed so the rows stay comparable.
# Usage: experiments/int8_equalization.sh [OUT_DIR]   (~15-40 s per export; LiteRT only, whose agreement
# matched ExecuTorch's in every earlier row). Prints one table row per student and setting.
set -euo pipefail
out=${1:-runs/eq_sweep}
mkdir -p "$out"
source "$(dirname "$0")/int8_sweep_lib.sh"
echo "| student | setting | agreement | int8 macro-F1 | float macro-F1 |"
echo "|---|---|---|---|---|"
for s in "${int8_students[@]}"; do
  [ -f "$s/manifest.json" ] || { echo "skip $s (missing)" >&2; continue; }
  name=$(basename "$s")
  for setting in none 0.25 0.5 1; do
    if [ "$setting" = none ]; then eq=off; else eq=$setting; fi
    int8_row "$out/${name}_eq${setting}.mujo" "$s" "$name | $setting" \
        --equalize "$eq" --rounding nearest --stem int8
  done
done

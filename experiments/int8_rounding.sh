#!/usr/bin/env bash
# int8 agreement of the export's precision options over the same 14 students as
# experiments/int8_equalization.sh: weight rounding (AdaRound vs PT2E's round-to-nearest) and the stem
# (float32 vs int8), all with activation equalization 0.5.
# Usage: experiments/int8_rounding.sh [OUT_DIR] [SETTING...]   SETTING = ROUNDING:STEM, e.g. adaround:float
# (default: nearest:int8 adaround:int8 nearest:float adaround:float; ~40 s per export, LiteRT only, whose
# agreement has matched ExecuTorch's in every row so far). Prints one table row per student and setting.
set -euo pipefail
out=${1:-runs/rounding_sweep}
shift || true
if [ $# -gt 0 ]; then settings=("$@"); else settings=(nearest:int8 adaround:int8 nearest:float adaround:float); fi
mkdir -p "$out"
source "$(dirname "$0")/int8_sweep_lib.sh"
echo "| student | rounding | stem | agreement | int8 macro-F1 | float macro-F1 |"
echo "|---|---|---|---|---|---|"
for s in "${int8_students[@]}"; do
  [ -f "$s/manifest.json" ] || { echo "skip $s (missing)" >&2; continue; }
  name=$(basename "$s")
  for setting in "${settings[@]}"; do
    rounding=${setting%%:*}
    stem=${setting##*:}
    int8_row "$out/${name}_${rounding}_${stem}.mujo" "$s" "$name | $rounding | $stem" \
        --equalize 0.5 --rounding "$rounding" --stem "$stem"
  done
done

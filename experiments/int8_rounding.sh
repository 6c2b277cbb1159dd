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
py=${PYTHON:-.venv/bin/python}
source "$(dirname "$0")/int8_students.sh"
echo "| student | rounding | stem | agreement | int8 macro-F1 | float macro-F1 |"
echo "|---|---|---|---|---|---|"
for s in "${int8_students[@]}"; do
  [ -f "$s/manifest.json" ] || { echo "skip $s (missing)" >&2; continue; }
  name=$(basename "$s")
  for setting in "${settings[@]}"; do
    rounding=${setting%%:*}
    stem=${setting##*:}
    b="$out/${name}_${rounding}_${stem}.mujo"
    [ -f "$b" ] || "$py" -m mujo_edge.cli export --int8 "$s" --out "$b" --formats tflite --min-agreement 0 \
        --equalize 0.5 --rounding "$rounding" --stem "$stem" > "$out/${name}_${rounding}_${stem}.log" 2>&1
    "$py" - "$b" "$name" "$rounding" "$stem" <<'PY'
import json, sys, zipfile
m = json.loads(zipfile.ZipFile(sys.argv[1]).read("manifest.json"))
v = next(iter(m["verification"]["models"].values()))
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {v['agreement']:.4f} | {v['macro_f1']:.4f} | {v['float_macro_f1']:.4f} |")
PY
  done
done

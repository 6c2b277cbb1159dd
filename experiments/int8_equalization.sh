#!/usr/bin/env bash
# int8 agreement with and without activation equalization, over every distilled student of the
# "Further attempts" search in docs/export.md (runs/d2_*) and the width-32 default of session 1.
# Session 2's export (round-to-nearest, int8 stem) is kept fixed so the rows stay comparable.
# Usage: experiments/int8_equalization.sh [OUT_DIR]   (~15-40 s per export; LiteRT only, whose agreement
# matched ExecuTorch's in every earlier row). Prints one table row per student and setting.
set -euo pipefail
out=${1:-runs/eq_sweep}
mkdir -p "$out"
py=${PYTHON:-.venv/bin/python}
source "$(dirname "$0")/int8_students.sh"
echo "| student | setting | agreement | int8 macro-F1 | float macro-F1 |"
echo "|---|---|---|---|---|"
for s in "${int8_students[@]}"; do
  [ -f "$s/manifest.json" ] || { echo "skip $s (missing)" >&2; continue; }
  name=$(basename "$s")
  for setting in none 0.25 0.5 1; do
    if [ "$setting" = none ]; then flags=(--equalize off); else flags=(--equalize "$setting"); fi
    b="$out/${name}_eq${setting}.mujo"
    [ -f "$b" ] || "$py" -m mujo_edge.cli export --int8 "$s" --out "$b" --formats tflite --min-agreement 0 \
        "${flags[@]}" --rounding nearest --stem int8 > "$out/${name}_eq${setting}.log" 2>&1
    "$py" - "$b" "$name" "$setting" <<'PY'
import json, sys, zipfile
m = json.loads(zipfile.ZipFile(sys.argv[1]).read("manifest.json"))
v = next(iter(m["verification"]["models"].values()))
print(f"| {sys.argv[2]} | {sys.argv[3]} | {v['agreement']:.4f} | {v['macro_f1']:.4f} | {v['float_macro_f1']:.4f} |")
PY
  done
done

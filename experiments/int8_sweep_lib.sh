# Shared by the int8 sweeps (int8_equalization.sh, int8_rounding.sh): the students they compare and the
# export-and-report step of one table row.

# The 14 distilled students: the "Further attempts" search in docs/export.md (runs/d2_*), the earlier width-32
# default (runs/student) and seeds 2-4 of the shipped recipe (runs/s2_w16_seed*).
# shellcheck disable=SC2034  # used by the scripts that source this file
int8_students=(runs/student runs/d2_w32_s1 runs/d2_w32_t2a5 runs/d2_w16_e8 runs/d2_w16_e8_t2a5 runs/d2_w16_e8_n05_s1
               runs/d2_w16_e8_ew01 runs/d2_w16_e8_ew03 runs/d2_w16_e8_ew03_n05 runs/d2_w16_e8_ew03_t2a5
               runs/d2_w16_e8_ew03_s1 runs/s2_w16_seed2 runs/s2_w16_seed3 runs/s2_w16_seed4)

# int8_row BUNDLE STUDENT CELLS EXPORT_FLAGS...: export STUDENT int8 to BUNDLE (LiteRT only, agreement gate
# off; the log beside it) unless BUNDLE exists, then print "| CELLS | agreement | int8 macro-F1 | float
# macro-F1 |" from the bundle's own verification.
int8_row() {
  local bundle=$1 student=$2 cells=$3
  shift 3
  local py=${PYTHON:-.venv/bin/python}
  [ -f "$bundle" ] || "$py" -m mujo_edge.cli export --int8 "$student" --out "$bundle" --formats tflite \
      --min-agreement 0 "$@" > "${bundle%.mujo}.log" 2>&1
  "$py" - "$bundle" "$cells" <<'PY'
import json, sys, zipfile
m = json.loads(zipfile.ZipFile(sys.argv[1]).read("manifest.json"))
v = next(iter(m["verification"]["models"].values()))
print(f"| {sys.argv[2]} | {v['agreement']:.4f} | {v['macro_f1']:.4f} | {v['float_macro_f1']:.4f} |")
PY
}

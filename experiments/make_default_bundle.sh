#!/usr/bin/env bash
# Build the general default bundle (everyday activities and common exercises, plus `unknown`) from a
# pretrained joint space and a corpus dataset.
#
#     experiments/make_default_bundle.sh PRETRAINED CORPUS [OUT]
#
# PRETRAINED: a pretraining run folder (mujo-edge pretrain --out), or `default` (the shipped foundation
# checkpoint). CORPUS: a dataset folder holding the labels below (mujo-edge data synth --out). OUT: the
# bundle to write (default mujo_edge/assets/default.mujo).
#
# Steps (docs/bundle.md, "The general default bundle"):
#   1. the corpus restricted to LABELS (experiments/subset_dataset.py), and its subject split in
#      WORK/subjects.txt (training, validation, test: a line each); every other activity of the corpus
#      stays out of the bundle and serves as held-out "unknown" activities in step 5;
#   2. mujo-edge finetune: the teacher on those labels (train / validation / test subjects);
#   3. mujo-edge distill: the int8-friendly student, with the label texts in the joint space;
#   4. mujo-edge export --int8: LiteRT + ExecuTorch, verified; the open-set threshold is chosen on the
#      VALIDATION subjects' windows (it keeps OPEN_SET_KEEP of them known), never on unknown activities;
#   5. experiments/open_set.py (when the corpus has other activities): AUROC of known test windows vs
#      windows of the held-out activities, written next to the work folder.
#
# Settings (environment): LABELS (comma-separated, default below), MIN_LABELS (15), WORK (work folder,
# default runs/default-bundle), TEST_SUBJECTS / VAL_SUBJECTS (default: the last 10 % and the 10 % before
# them of the subjects with windows of LABELS), FINETUNE_EPOCHS (30), DISTILL_EPOCHS (40), FORMATS (tflite,executorch),
# MIN_AGREEMENT (0.99), OPEN_SET_KEEP (0.95), THREADS (2), PYTHON (.venv/bin/python), SEED (0),
# DISTILL_FLAGS (--width 24: a 20-label student under the 30,000-parameter limit), INT8 (1; 0 exports float32
# when the int8 model does not agree with the float one).
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
PRETRAINED=$1
CORPUS=$2
OUT=${3:-mujo_edge/assets/default.mujo}
HERE=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-.venv/bin/python}
MUJO=("$PYTHON" -m mujo_edge.cli)
LABELS=${LABELS:-walking,running,stairs_up,stairs_down,sitting,standing,lying_back,cycling,squats,pushups,jumping_jacks,bicep_curls,situps,lunges,rowing_machine,jogging,deadlifts,burpees,plank,brushing_teeth}
MIN_LABELS=${MIN_LABELS:-15}
WORK=${WORK:-runs/default-bundle}
FINETUNE_EPOCHS=${FINETUNE_EPOCHS:-30}
DISTILL_EPOCHS=${DISTILL_EPOCHS:-40}
FORMATS=${FORMATS:-tflite,executorch}
MIN_AGREEMENT=${MIN_AGREEMENT:-0.99}
OPEN_SET_KEEP=${OPEN_SET_KEEP:-0.95}
THREADS=${THREADS:-2}
SEED=${SEED:-0}
DISTILL_FLAGS=${DISTILL_FLAGS:---width 24}
INT8=${INT8:-1}
INT8_FLAG=$([[ "$INT8" == 1 ]] && echo --int8 || true)

die() { echo "make_default_bundle: $*" >&2; exit 2; }
[[ -f "$CORPUS/manifest.json" ]] || die "$CORPUS is not a dataset folder (no manifest.json); make one with mujo-edge data synth --out $CORPUS"
[[ "$PRETRAINED" == default || -f "$PRETRAINED/manifest.json" ]] || die "$PRETRAINED is not a pretraining run (no manifest.json) nor 'default'"
n_labels=$(tr ',' '\n' <<<"$LABELS" | grep -c .)
(( n_labels >= MIN_LABELS )) || die "LABELS names $n_labels labels; the default bundle needs at least $MIN_LABELS"

# Subjects among those with windows of LABELS: the last 10 % test, the 10 % before them validation (at least
# one each), unless given.
read -r auto_test auto_val < <("$PYTHON" "$HERE/subject_split.py" "$CORPUS" "$LABELS")
[[ -n "$auto_test" || ( -n "${TEST_SUBJECTS:-}" && -n "${VAL_SUBJECTS:-}" ) ]] ||
    die "no subject split of $CORPUS with those labels (above); set TEST_SUBJECTS and VAL_SUBJECTS"
TEST_SUBJECTS=${TEST_SUBJECTS:-$auto_test}
VAL_SUBJECTS=${VAL_SUBJECTS:-$auto_val}
mkdir -p "$WORK"
export OMP_NUM_THREADS=$THREADS

echo "== 1/5 corpus restricted to $n_labels labels -> $WORK/known"
"$PYTHON" "$HERE/subset_dataset.py" "$CORPUS" "$WORK/known" --labels "$LABELS"
# the split every later step (and experiments/open_set.py after it) uses: training, validation, test subjects
"$PYTHON" - "$WORK/known" "$VAL_SUBJECTS" "$TEST_SUBJECTS" > "$WORK/subjects.txt" <<'EOF'
import sys
import numpy as np
from mujo_edge.training.data.format import Dataset
held = {int(x) for x in ",".join(sys.argv[2:]).split(",") if x}
s = [x for x in np.unique(np.asarray(Dataset.open(sys.argv[1]).subject)).tolist() if x not in held]
print(",".join(map(str, s)), *sys.argv[2:], sep="\n")
EOF

echo "== 2/5 teacher (test subjects $TEST_SUBJECTS, validation $VAL_SUBJECTS)"
"${MUJO[@]}" finetune --pretrained "$PRETRAINED" --data "$WORK/known" --out "$WORK/teacher" \
    --fraction 1.0 --test-subjects "$TEST_SUBJECTS" --val-subjects "$VAL_SUBJECTS" \
    --epochs "$FINETUNE_EPOCHS" --seed "$SEED"

echo "== 3/5 student"
"${MUJO[@]}" distill --teacher "$WORK/teacher" --data "$WORK/known" --out "$WORK/student" \
    --epochs "$DISTILL_EPOCHS" --pretrained "$PRETRAINED" --seed "$SEED" $DISTILL_FLAGS

echo "== 4/5 export (int8: $INT8) with the open-set threshold chosen on the validation subjects -> $OUT"
"${MUJO[@]}" export ${INT8_FLAG} "$WORK/student" --out "$OUT" --data "$WORK/known" --formats "$FORMATS" \
    --min-agreement "$MIN_AGREEMENT" --open-set-keep "$OPEN_SET_KEEP" --seed "$SEED"

echo "== 5/5 known vs held-out activities"
"$PYTHON" - "$OUT" "$WORK" "$CORPUS" "$LABELS" "$TEST_SUBJECTS" <<'EOF'
import json
import sys
from pathlib import Path

import numpy as np

from mujo_edge.bundle import Bundle
from mujo_edge.heads import auroc
from mujo_edge.training.data.format import Dataset

out, work, corpus, labels, test = sys.argv[1:]
b = Bundle.open(out)
known_names = labels.split(",")
test_ids = [int(s) for s in test.split(",")]
ds = Dataset.open(corpus)
names = np.asarray(ds.labels)[np.asarray(ds.label)]
subj = np.asarray(ds.subject)
cal = b.calibration.apply if b.calibration is not None else (lambda x: x)
kn = np.flatnonzero(np.isin(names, known_names) & np.isin(subj, test_ids))
un = np.flatnonzero(~np.isin(names, known_names))
rep = {"bundle": out, "labels": b.labels, "threshold": b.open_set_threshold, "known_test_windows": int(kn.size)}
if kn.size:
    lk, _, sk = b.classify(cal(np.asarray(ds.acc[kn], np.float32)))
    rep["known_accuracy"] = float(np.mean([p == t for p, t in zip(lk, names[kn], strict=True)]))
    rep["known_kept"] = float(np.mean([p != "unknown" for p in lk]))
if un.size and kn.size:
    un = un[:: max(1, un.size // 4000)]
    lu, _, su = b.classify(cal(np.asarray(ds.acc[un], np.float32)))
    rep["unknown_windows"] = int(un.size)
    rep["unknown_rejected"] = float(np.mean([p == "unknown" for p in lu]))
    rep["auroc_known_vs_heldout"] = auroc(sk, su)
path = Path(work) / "default_bundle_report.json"
path.write_text(json.dumps(rep, indent=1) + "\n")
print(json.dumps({k: v for k, v in rep.items() if k != "labels"}))
EOF
echo "wrote $OUT ($n_labels labels + unknown); report $WORK/default_bundle_report.json"

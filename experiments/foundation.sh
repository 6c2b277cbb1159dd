#!/usr/bin/env bash
# The shipped foundation checkpoint (training/assets/joint_space, `--pretrained default`): the motion-library
# corpus at every placement, the packaged real motion capture mixed in, pretraining of acc + pose + text, and
# the noise control of the benchmark (the same recipe on the corpus with its accelerometer replaced by noise).
#
#   nice -n 5 experiments/foundation.sh                    # everything under runs/foundation (gitignored)
#   HOURS=2 EPOCHS=5 OUT=runs/foundation_small experiments/foundation.sh
#   CONTROL=1 experiments/foundation.sh                    # also the noise control (doubles the time)
#
# Each step is skipped when its output exists, and pretraining resumes, so re-running continues.
set -euo pipefail
cd "$(dirname "$0")/.."
M=${M:-.venv/bin/mujo-edge}
OUT=${OUT:-runs/foundation}
HOURS=${HOURS:-40}
SEED=${SEED:-21}
EPOCHS=${EPOCHS:-6}
WORKERS=${WORKERS:-2}
CONTROL=${CONTROL:-0}
PRETRAIN_FLAGS=${PRETRAIN_FLAGS:---batch-size 256 --lr 1e-3 --augment-scale 0.1 --augment-tempo 0.2 --same-label-positives --select val_top5 --threads 2}
mkdir -p "$OUT"

[ -f "$OUT/corpus/manifest.json" ] || $M data synth --out "$OUT/corpus" --hours "$HOURS" --seed "$SEED" --workers "$WORKERS"
[ -f "$OUT/mocap/manifest.json" ] || $M data import mocap-demo --out "$OUT/mocap"
[ -f "$OUT/data/manifest.json" ] || $M data merge "$OUT/corpus" "$OUT/mocap" --out "$OUT/data"

pretrain() {  # DATA RUN
  if [ ! -f "$2/resume.safetensors" ]; then
    $M pretrain --data "$1" --out "$2" --epochs "$EPOCHS" $PRETRAIN_FLAGS
  elif ! grep -q '"complete": true' "$2/manifest.json" 2>/dev/null; then
    $M pretrain --data "$1" --out "$2" --epochs "$EPOCHS" $PRETRAIN_FLAGS --resume
  fi
}
pretrain "$OUT/data" "$OUT/pretrain"
if [ "$CONTROL" = 1 ]; then
  [ -f "$OUT/data_noise/manifest.json" ] || $M data noise-control "$OUT/data" --out "$OUT/data_noise"
  pretrain "$OUT/data_noise" "$OUT/pretrain_noise"
fi

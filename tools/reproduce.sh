#!/usr/bin/env bash
# The small-scale reproduction of the paper's claims (docs/results.md), on any
# corpus: `make reproduce` runs it on ../shared/data/tinyshakespeare.txt,
# `DATA=my.txt OUT=runs/mine make reproduce` on yours.
#
#   1. Duo (curriculum), UDLM (no curriculum), MDLM and AR at equal budget:
#      validation PPL, loss and gradient-norm variance (Table 4's direction).
#   2. An AR judge, larger and trained longer than the models it judges.
#   3. DCD of the Duo model (Algorithm 1), then Gen PPL and entropy of the teacher,
#      the student and MDLM at 1024/256/64/32/16/8 steps, ancestral and
#      Greedy-Tail (Table 7's direction).
#   4. The Psi-samplers of Duo++ on the teacher and MDLM at PSI_STEPS: the
#      authors' OpenWebText settings (ReMDM loop: a plateau at alpha = 0.9
#      over the middle half of the steps with constant-remdm eta 0.01; and
#      max-capped eta 0.01 throughout), against ancestral sampling.
#   5. duo report: the tables and plots in $OUT/report (docs/results.md is
#      that report plus the commentary of the run it comes from).
#
# Every setting is an environment variable; the defaults take about 75
# minutes on 2 cores. Run again, it resumes every run where it stopped (a
# finished one is only evaluated again) and recomputes the samples, whose
# records replace the earlier ones.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-../shared/data/tinyshakespeare.txt}
OUT=${OUT:-runs/repro}
DUO=${DUO:-bin/duo}
TOKENIZER=${TOKENIZER:-bytes}
MODEL=${MODEL:-mini}            # the compared models (mini: D=128, 4 blocks)
LENGTH=${LENGTH:-128}
BATCH=${BATCH:-16}
STEPS=${STEPS:-4000}            # training steps of each compared model
LR=${LR:-1e-3}
JUDGE_HIDDEN=${JUDGE_HIDDEN:-256}
JUDGE_STEPS=${JUDGE_STEPS:-6000}
ROUNDS=${ROUNDS:-8}             # DCD rounds (delta from 1/512 to 128/512)
ROUND_STEPS=${ROUND_STEPS:-300}
DISTILL_LR=${DISTILL_LR:-3e-4}
SAMPLES=${SAMPLES:-64}          # samples per (model, steps, sampler)
SAMPLE_STEPS=${SAMPLE_STEPS:-"1024 256 64 32 16 8"}
PSI_STEPS=${PSI_STEPS:-"1024 256 64"}
SEED=${SEED:-1}
THREADS=${THREADS:-0}

mkdir -p "$OUT"
common=(--data "$DATA" --tokenizer "$TOKENIZER" --length "$LENGTH" --batch "$BATCH" --lr "$LR"
        --warmup 200 --dropout 0 --seed "$SEED" --threads "$THREADS" --eval-batches 16)

# train NAME ARGS...: train (or resume) the run $OUT/NAME.
train() {
  local name=$1; shift
  local dir=$OUT/$name
  echo "== $name"
  if [ -d "$dir/train" ]; then "$DUO" train --out "$dir" --resume "${common[@]}" "$@"
  else "$DUO" train --out "$dir" "${common[@]}" "$@"; fi
  "$DUO" eval --checkpoint "$dir" --data "$DATA" --split val --batch "$BATCH" --mc 4 --threads "$THREADS" --record
}

train duo  --model "$MODEL" --steps "$STEPS" --objective duo
train udlm --model "$MODEL" --steps "$STEPS" --objective udlm
train mdlm --model "$MODEL" --steps "$STEPS" --objective mdlm
train ar   --model "$MODEL" --steps "$STEPS" --objective ar
train judge --model "$MODEL" --hidden "$JUDGE_HIDDEN" --heads 8 --steps "$JUDGE_STEPS" --objective ar

echo "== dcd"
if [ -d "$OUT/dcd/train" ]; then
  "$DUO" distill --out "$OUT/dcd" --resume --data "$DATA" --tokenizer "$TOKENIZER" --threads "$THREADS" --rounds "$ROUNDS"
else
  "$DUO" distill --teacher "$OUT/duo" --out "$OUT/dcd" --data "$DATA" --tokenizer "$TOKENIZER" --rounds "$ROUNDS" \
    --steps-per-round "$ROUND_STEPS" --batch "$BATCH" --lr "$DISTILL_LR" --dropout 0 --seed "$SEED" \
    --threads "$THREADS" --eval-batches 16
fi
"$DUO" eval --checkpoint "$OUT/dcd" --data "$DATA" --split val --batch "$BATCH" --mc 4 --threads "$THREADS" --record

# Samples: Gen PPL under the judge and entropy, recorded in each run.json.
for model in duo dcd mdlm; do
  for sampler in ancestral greedy; do
    for steps in $SAMPLE_STEPS; do
      echo "== sample $model $sampler $steps"
      "$DUO" sample --checkpoint "$OUT/$model" --steps "$steps" --sampler "$sampler" --n "$SAMPLES" \
        --seed "$SEED" --threads "$THREADS" --judge "$OUT/judge" --record | tail -1
    done
  done
done

# Psi-samplers (Duo++, spec section 6): do more steps keep helping?
PSI_LOOP=(--sampler-mode psi --psi-profile linear-constant-linear-0.9-inv --psi-high-frac 0.45 --psi-middle-frac 0.5
  --psi-high pure-posterior --psi-middle constant-remdm-0.01 --psi-low pure-posterior)
PSI_CAPPED=(--sampler-mode psi --psi-high max-capped-0.01 --psi-middle max-capped-0.01 --psi-low max-capped-0.01)
for model in duo mdlm; do
  for steps in $PSI_STEPS; do
    for psi in loop capped; do
      if [ "$psi" = loop ]; then args=("${PSI_LOOP[@]}"); else args=("${PSI_CAPPED[@]}"); fi
      echo "== sample $model psi-$psi $steps"
      "$DUO" sample --checkpoint "$OUT/$model" --steps "$steps" --n "$SAMPLES" "${args[@]}" \
        --seed "$SEED" --threads "$THREADS" --judge "$OUT/judge" --record | tail -1
    done
  done
done

"$DUO" report --out "$OUT/report" "$OUT"/duo "$OUT"/udlm "$OUT"/mdlm "$OUT"/ar "$OUT"/judge "$OUT"/dcd
echo "report: $OUT/report/report.md"

#!/usr/bin/env bash
# Build the shipped demonstrations and SFT policies, seeded and resumable:
#   data/demos/<env>_train.jsonl.gz        expert demonstrations of every train task (`agentsearch demos`)
#   data/policies/smollm2-135m-<env>-sft/  the fp16 LoRA adapter of SmolLM2-135M fine-tuned on them
#                                          (`agentsearch train-sft`), with its training record
# Usage: bash scripts/train_policies.sh [webshop|alfworld|math ...]   (default: webshop)
# WebShop takes about 76 minutes on 2 quiet CPU cores (400 packed trajectories at about 11 s each, LoRA
# r 16), math about 35
# (600 trajectories at about 3 s each when nothing else runs: two torch jobs on these 2 cores slowed a
# step twentyfold), ALFWorld about 53 (400 trajectories at about 8 s each at two threads); a rerun
# resumes from the last checkpoint in runs/policies/.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
RUNS=runs/policies
mkdir -p "$RUNS" data/demos data/policies

# Per environment: the number of demonstrations trained on, the optimizer steps (one trajectory per
# step, one epoch) and the learning rate. WebShop: 400 demonstrations for 400 steps took greedy test
# success from 30.0% (the earlier adapter's 300 demos cut at 150 steps) to 41.0% (BENCHMARKS.md).
declare -A MAX_DEMOS=([webshop]=400 [alfworld]=400 [math]=600)
declare -A MAX_STEPS=([webshop]=400 [alfworld]=400 [math]=600)
declare -A LR=([webshop]=3e-4 [alfworld]=3e-4 [math]=3e-4)
# LoRA rank: ALFWorld's adapter is rank 8 (4.9 MB in fp16) so that data/ stays under 30 MB beside the
# two rank-16 adapters (9.4 MB each).
declare -A LORA_R=([webshop]=16 [alfworld]=8 [math]=16)

for ENV in "${@:-webshop}"; do
  DEMOS="data/demos/${ENV}_train.jsonl.gz"
  if [ ! -f "$DEMOS" ]; then
    agentsearch demos --env "$ENV" --split train --out "$RUNS/${ENV}_demos.jsonl"
    gzip -n -9 -c "$RUNS/${ENV}_demos.jsonl" > "$DEMOS"   # -n: no timestamp, so the file is reproducible
  fi
  agentsearch train-sft "$DEMOS" --model smollm2-135m --out "$RUNS/${ENV}-sft" \
    --max-demos "${MAX_DEMOS[$ENV]}" --max-steps "${MAX_STEPS[$ENV]}" --learning-rate "${LR[$ENV]}" --lora-r "${LORA_R[$ENV]}" --lora-alpha $((2 * LORA_R[$ENV])) \
    --gradient-accumulation-steps 1 --seed 0
  python -c "from agentsearch.train.sft import export_adapter; \
export_adapter('$RUNS/${ENV}-sft', 'data/policies/smollm2-135m-${ENV}-sft')"
  du -sh "data/policies/smollm2-135m-${ENV}-sft" "$DEMOS"
done

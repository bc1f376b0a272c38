#!/usr/bin/env bash
# WebShop headline (issues 6 and 7): MCTS trees over 200 train tasks with SmolLM2, the greedy agent on
# the first 100 of them, step-level pairs, a Q-model, and greedy vs Q-guided on 200 test tasks.
# Every stage resumes where it stopped: rerun the script after an interruption. Stages that are done
# are skipped. Figures: `python benchmarks/report_headline.py runs/ws`.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
OUT=${OUT:-runs/ws}
TRAIN_TASKS=${TRAIN_TASKS:-200}
TEST_TASKS=${TEST_TASKS:-200}
mkdir -p "$OUT"
# Act-only prompts without the one-shot example (SmolLM2-135M did worse with it), clickables scored
# by likelihood, search keywords generated; 1,024-token context so histories stay cheap on a CPU.
AGENT=(--agent react=false --agent icl=false --agent action_mode=score_valid --agent max_tokens=24
       --agent top_p=0.9 --agent context_tokens=1024)
COLLECT=(--env webshop --split train --model smollm2-135m --backend hf --concurrency 16 --no-progress)
# The paper's search is 30 iterations to depth 10 at temperature 1.0; on this CPU, 5 to depth 6 at 0.7.
agentsearch -v collect "${COLLECT[@]}" "${AGENT[@]}" --tasks "$TRAIN_TASKS" --algo mcts \
    --search iterations=5 --search max_depth=6 --search temperature=0.7 --out "$OUT/trees.jsonl"
agentsearch -v collect "${COLLECT[@]}" "${AGENT[@]}" --tasks 100 --algo best_of_n \
    --search n=1 --search temperature=0 --search max_depth=6 --out "$OUT/greedy_train.jsonl"
agentsearch pairs "$OUT/trees.jsonl" --strategy best_path_extremes --out "$OUT/pairs.jsonl"
if [ ! -f "$OUT/qmodel/agentsearch_meta.json" ]; then
    agentsearch -v train-q "$OUT/pairs.jsonl" --base smollm2-135m --out "$OUT/qmodel" --lora-top-layers 8 \
        --epochs 1 --max-length 1100
fi
agentsearch -v eval --env webshop --split test --tasks "$TEST_TASKS" --agent smollm2-135m \
    --qmodel "$OUT/qmodel" --candidates 5 --temperature 0.7 --max-steps 6 --concurrency 8 --compare greedy,qguided \
    --agent-opt react=false --agent-opt icl=false --agent-opt action_mode=score_valid \
    --agent-opt top_p=0.9 --agent-opt context_tokens=1024 --out "$OUT/eval"

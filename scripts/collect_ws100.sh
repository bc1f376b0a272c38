#!/usr/bin/env bash
# Issue 6 acceptance collection: greedy baseline, then MCTS, on the first 100 WebShop train tasks with
# SmolLM2 (act-only prompts, scored valid actions). Resumable: rerun to continue where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
COMMON=(--env webshop --split train --tasks 100 --model smollm2-135m --backend hf --concurrency 16
        --agent react=false --agent icl=false --agent action_mode=score_valid --agent max_tokens=24 --no-progress)
nice -n 10 agentsearch -v collect "${COMMON[@]}" --algo best_of_n --search n=1 --search temperature=0 \
    --search max_depth=6 --out runs/ws100/greedy.jsonl
nice -n 10 agentsearch -v collect "${COMMON[@]}" --algo mcts --search iterations=5 --search max_depth=6 \
    --out runs/ws100/trees.jsonl

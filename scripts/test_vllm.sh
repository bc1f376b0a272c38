#!/usr/bin/env bash
# Install the vLLM environment (.venv-vllm/, see install_vllm.sh) and run the vllm backend's
# integration test there with real SmolLM2 (the engine starts in about 45 s on 2 CPU cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_vllm.sh
VENV="${AGENTSEARCH_VLLM_VENV:-.venv-vllm}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
"$VENV/bin/python" -m pytest -q -p no:cacheprovider --timeout=1200 tests/llm/test_vllm.py "$@"

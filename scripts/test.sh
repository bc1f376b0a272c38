#!/usr/bin/env bash
# Install everything, then run the test suite (fast unit tests and the integration tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python -m pytest -q --timeout=900 "$@"

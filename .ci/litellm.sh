#!/usr/bin/env bash
# LiteLLM's proxy for the `litellm` test tier, in its own virtualenv: it is a separate server the
# tests talk to over loopback, and its pinned dependencies must not change the project's own.
# The venv is kept between runs; the tests find it at this path (or via RLM_LITELLM_BIN).
set -euo pipefail
venv="${RLM_LITELLM_VENV:-$HOME/.cache/rlm-evals/litellm-venv}"
if [ ! -x "$venv/bin/litellm" ]; then
    python -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'litellm[proxy]>=1.70'
fi
LITELLM_LOCAL_MODEL_COST_MAP=True "$venv/bin/litellm" --version >/dev/null

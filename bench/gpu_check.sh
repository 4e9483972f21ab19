#!/usr/bin/env bash
# The prepared GPU check of issue 26: every figure the CUDA path needs, in one run of at most
# 8 minutes on one H100/H200, into ONE raw results file under bench/results/ (date, GPU, driver,
# versions, command, one JSON line per section, then the ratios beside the published anchors).
#
#   bench/gpu_check.sh                 # on the GPU machine, from the repository root
#   bench/gpu_check.sh --cpu-smoke     # the same code path on CPU, tiny shapes, < 2 minutes
#   bench/gpu_check.sh --only train    # one section (environment and models always run)
#
# What it assumes, because a borrowed GPU machine gets a copy of the tree and NO network:
# - Python: $TS_PYTHON if set, else the project's .venv (the project's own set-up:
#   `LLAMA_CMAKE_ARGS="-DGGML_CUDA=on" make setup` with torch's CUDA wheel; it adds the [cuda]
#   extra, bitsandbytes and liger-kernel, there), else `python3`. On this workplace's device
#   machines python3 is /opt/torch/.venv's, with torch (CUDA), transformers, peft, accelerate,
#   sentencepiece and tokenizers but without trl, datasets, sqlite-utils, platformdirs,
#   jsonschema, bitsandbytes, liger-kernel and llama-cpp-python.
# - Missing pure-Python packages travel as wheels in .whl/ (ignored by git; see the device
#   README: `pip download --no-deps --only-binary=:all: --python-version 3.12 ... -d .whl NAME`).
#   They are installed from there with --no-index into a scratch folder put on PYTHONPATH. A
#   CUDA build of llama-cpp-python cannot be built in the budget: bring it as a wheel too, or
#   the decode and rule-task sections record that llama_cpp is missing.
# - SmolLM2-135M is used when the test cache holds it ($TUNING_STUDIO_TEST_CACHE, default
#   ~/.cache/tuning-studio-tests/smollm2-hf-imported, made by tests/real_model.py); otherwise
#   its shape with random weights stands in for the speed figures and the rule-task section
#   records that the real model is missing. The 0.5B and 1B shapes are built on the spot with
#   random weights and the demo model's offline tokenizer: nothing is downloaded.
# - The GGUF converter comes from the studio's cache (`python -m studio.registry.converter
#   prepare`, done by `make setup`); without it the decode section records the error.
# - Every section fails soft: its error and traceback go into the file and the next section
#   runs. No section starts after the budget (430 s; --budget-s), so the file is complete
#   within 8 minutes; the wrapper kills the driver at 470 s regardless ($TS_GPU_CHECK_LIMIT_S).
set -uo pipefail
cd "$(dirname "$0")/.."

PY="${TS_PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
if compgen -G ".whl/*.whl" >/dev/null; then
  SITE="${TMPDIR:-/tmp}/gpu-check-site"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" .whl/*.whl || echo "gpu_check: some wheels in .whl/ did not install" >&2
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export TOKENIZERS_PARALLELISM=false

LIMIT="${TS_GPU_CHECK_LIMIT_S:-470}"
case " $* " in *" --cpu-smoke "*) LIMIT="${TS_GPU_CHECK_LIMIT_S:-150}" ;; esac
exec timeout --kill-after=10 "$LIMIT" "$PY" bench/gpu_check.py "$@"

#!/usr/bin/env bash
# Fetch, on a machine where pip reaches the package registry, the wheels bench/gpu_check.sh
# needs on a borrowed GPU machine without network (its python3 holds torch, transformers, peft,
# accelerate, tokenizers, sentencepiece, pyarrow, pandas, psutil; see bench/gpu_check.sh).
# They go to .whl/ (git-ignored through .git/info/exclude), which the device tool carries
# (`carry: [".whl"]`, 64 MiB with the tree) and gpu_check.sh installs from with --no-index.
#
#   bench/gpu_wheels.sh            # Python 3.12 x86_64 wheels, the device image's Python
#
# Not here: bitsandbytes (its CUDA wheel alone is larger than what travels) and a CUDA build of
# llama-cpp-python (no wheel exists; it is built from source with nvcc): their sections in the
# results file then say they are missing, and the rest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
exclude="$(git rev-parse --git-common-dir)/info/exclude"
grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >>"$exclude"
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform any -d .whl \
  trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 sqlite-utils==4.2.1 \
  sqlite-fts4==1.0.3 click-default-group==1.2.4 platformdirs==4.14.9 jsonschema==4.26.0 \
  jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1 gguf==0.19.0 \
  liger-kernel==0.8.5
du -sh .whl

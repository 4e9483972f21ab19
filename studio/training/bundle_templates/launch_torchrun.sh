#!/usr/bin/env bash
# Train this bundle's run with torchrun (one node; for several, set NNODES, NODE_RANK and
# MASTER_ADDR as torchrun documents).
#   NUM_PROCESSES=N  processes on this node (default: every visible GPU, else 1)
#   CPU=1            train on CPU with the gloo backend
#   MODEL=/path      where the base model lives on this machine (see bundle.json)
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
# Point run/config.json at this machine (a job, like every other: see jobs/ when it refuses).
python -c 'import sys; from studio.training.bundle_prepare import launch_script_main;'\
' sys.exit(launch_script_main(sys.argv[1:]))' "$PWD/run" "${MODEL:-}"
if [ "${CPU:-0}" = 1 ]; then
  procs=${NUM_PROCESSES:-1}
  export CUDA_VISIBLE_DEVICES=""
else
  procs=${NUM_PROCESSES:-$(python -c "import torch; print(max(1, torch.cuda.device_count()))")}
fi
exec torchrun --nnodes "${NNODES:-1}" --node_rank "${NODE_RANK:-0}" \
  --master_addr "${MASTER_ADDR:-127.0.0.1}" --master_port "${MASTER_PORT:-29500}" \
  --nproc_per_node "$procs" -m backends.train --job-dir run

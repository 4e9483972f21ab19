#!/usr/bin/env bash
# Train this bundle's run with `accelerate launch` (DDP across GPUs; FSDP with CONFIG=fsdp).
#   NUM_PROCESSES=N  processes (default: every visible GPU, else 1)
#   CPU=1            train on CPU with the gloo backend
#   MODEL=/path      where the base model lives on this machine (see bundle.json)
#   CONFIG=ddp|fsdp|cpu  which accelerate/*.yaml to use (default: ddp, or cpu with CPU=1)
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
# Point run/config.json at this machine (a job, like every other: see jobs/ when it refuses).
python -c 'import sys; from studio.training.bundle_prepare import launch_script_main;'\
' sys.exit(launch_script_main(sys.argv[1:]))' "$PWD/run" "${MODEL:-}"
if [ "${CPU:-0}" = 1 ]; then
  config=accelerate/${CONFIG:-cpu}.yaml
  procs=${NUM_PROCESSES:-1}
  export CUDA_VISIBLE_DEVICES=""
  if [ "$procs" = 1 ]; then
    exec accelerate launch --config_file "$config" --cpu --num_processes 1 \
      -m backends.train --job-dir run
  fi
  exec accelerate launch --config_file "$config" --multi_gpu --num_processes "$procs" \
    --main_process_port "${MASTER_PORT:-29500}" -m backends.train --job-dir run
fi
gpus=$(python -c "import torch; print(max(1, torch.cuda.device_count()))")
procs=${NUM_PROCESSES:-$gpus}
config=accelerate/${CONFIG:-ddp}.yaml
exec accelerate launch --config_file "$config" --num_processes "$procs" \
  -m backends.train --job-dir run

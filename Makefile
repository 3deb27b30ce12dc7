# Parley: every job of the project. `make` sets up and runs the main job;
# `make test` sets up and runs the test suite.
.DELETE_ON_ERROR:
.DEFAULT_GOAL := all
SHELL := /bin/bash

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
TOOLS   := .tools
BUF_VERSION := 1.75.0
BUF     := $(TOOLS)/node_modules/.bin/buf
PROTOS  := $(shell find proto -name '*.proto' | sort)
GEN_DIRS := reference/parley/v1 reference/parley/local

.PHONY: all setup proto check-proto lint test bench demo clean

all: setup demo ## set everything up, then run the main job

setup: $(STAMP) ## create .venv and install the package with its tools

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(BUF):
	npm install --silent --no-audit --no-fund --prefix $(TOOLS) @bufbuild/buf@$(BUF_VERSION)

proto: $(STAMP) ## regenerate the Python code from proto/
	rm -rf $(GEN_DIRS)
	$(PY) tools/gen_proto.py reference

check-proto: $(STAMP) ## fail if the generated code is stale
	$(PY) tools/gen_proto.py --check reference

lint: $(STAMP) $(BUF) check-proto ## ruff, buf lint, generated-code freshness
	$(VENV)/bin/ruff check reference tests bench tools
	$(VENV)/bin/ruff format --check reference tests bench tools
	$(BUF) lint proto

test: $(STAMP) ## the test suite
	$(PY) -m pytest

bench: $(STAMP) ## benchmarks: Parley against bare pyca/cryptography calls
	$(PY) bench/run.py

demo: $(STAMP) ## a short conversation, printed
	$(PY) -m parley.demo

clean:
	rm -rf $(VENV) $(TOOLS) build *.egg-info reference/*.egg-info

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
GEN_DIRS := reference/parley/v1 reference/parley/local reference/parley/driver reference/parley/api

.PHONY: all setup proto check-proto lint test bench demo docs traceability clean
.PHONY: vectors check-vectors conformance mutants
.PHONY: demo-library bench-library clients

all: setup demo check-vectors conformance traceability docs ## set everything up, then run the main job

setup: $(STAMP) ## create .venv and install the package with its tools

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,docs]'
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
	tools/buf_breaking.sh $(BUF)

test: $(STAMP) ## the test suite
	$(PY) -m pytest
	$(MAKE) --no-print-directory ts-test

bench: $(STAMP) ts-bench ## benchmarks: the core against bare pyca/cryptography; the library with its store; through NATS
	$(PY) bench/run.py
	$(PY) bench/library.py
	$(PY) bench/planted.py
	$(PY) bench/relay.py

demo: $(STAMP) ## the core's conversation, then the library story through the CLI
	$(PY) -m parley.demo
	$(PY) -m parley.client.story

demo-library: $(STAMP) ## the library story: the parley CLI in separate processes
	$(PY) -m parley.client.story

bench-library: $(STAMP) ## library throughput with the SQLCipher store; 10,000 sessions
	$(PY) bench/library.py

vectors: $(STAMP) ## regenerate test-vectors/ from their seeds, then lint them
	$(PY) -m parley.conformance.generate test-vectors
	$(PY) -m parley.conformance.lint test-vectors

check-vectors: $(STAMP) ## regenerate the vectors into a temp dir, fail on any drift; lint
	$(PY) -m parley.conformance.generate --check test-vectors
	$(PY) -m parley.conformance.lint test-vectors

conformance: $(STAMP) ## every vector against the reference driver over gRPC, then pairwise
	$(PY) -m parley.conformance -q --known-failures reference/parley/conformance/known_failures/reference.txt
	$(PY) -m parley.conformance -q --report-dir build/conformance/interop \
	  --peer-command "$(PY) -m parley.conformance.driver --port {port}"
	$(MAKE) --no-print-directory ts-conformance

mutants: $(STAMP) ## wrong variants of the reference; every one must fail a vector
	$(PY) -m parley.conformance.mutants

# The site's mutation report page needs a mutants run: make one when there is none.
MUTANTS_REPORT := build/mutants/report.json
$(MUTANTS_REPORT): | $(STAMP)
	-$(MAKE) --no-print-directory mutants
	@test -f $@ || $(PY) tools/mutants_report.py build/conformance/mutants.json $@

docs: $(STAMP) $(MUTANTS_REPORT) ## the site (spec, schema reference, vectors, traceability) into build/html
	$(PY) -m sphinx -W --keep-going -b html -q . build/html
	@echo "site built: open build/html/index.html"

clients: $(STAMP) $(BUF) ## clients of every proto: Python, Node, Java, C++, TypeScript, Go (LANGS="ts go": some)
	tools/install_client_deps.sh
	BUF=$(BUF) clients/build.sh $(LANGS)

.PHONY: fuzz
FUZZ_SECONDS ?= 6
fuzz: $(STAMP) ## fuzz every decoder, Account.receive, links, QR, the API: FUZZ_SECONDS per target
	PARLEY_FUZZ_EXAMPLES=200 PARLEY_FUZZ_SECONDS=$(FUZZ_SECONDS) PARLEY_FUZZ_KEEP=1 \
	  $(PY) -m pytest tests/fuzz -m fuzz -p no:cacheprovider

traceability: $(STAMP) ## requirements -> vectors and tests; fails on an uncovered MUST
	$(PY) tools/traceability.py

clean:
	rm -rf $(VENV) $(TOOLS) build *.egg-info reference/*.egg-info
	rm -rf $(TS)/node_modules $(TS)/dist

# -- TypeScript (typescript/, npm package @parley/protocol) ------------------------
TS       := typescript
TS_STAMP := $(TS)/node_modules/.installed
TS_DRIVER := node $(TS)/dist/driver.js --port {port}
.PHONY: ts-setup ts-build ts-check-gen ts-test ts-conformance ts-bench ts-page

ts-setup: $(TS_STAMP) ## install the TypeScript side's packages (npm ci from package-lock.json)

$(TS_STAMP): $(TS)/package.json $(TS)/package-lock.json
	cd $(TS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

ts-build: $(TS_STAMP) ## compile typescript/ (strict) into typescript/dist; type-check its tests and page
	cd $(TS) && node_modules/.bin/tsc -p tsconfig.json && node_modules/.bin/tsc -p tsconfig.check.json

ts-check-gen: $(TS_STAMP) ## fail if typescript/src/gen is not what buf generate makes from proto/
	$(TS)/scripts/check-gen.sh

ts-page: $(TS_STAMP) ## the browser page (vectors + demo) into typescript/dist/web
	cd $(TS) && node scripts/build-web.mjs

ts-test: ts-build ts-check-gen ## vitest: vectors, Wycheproof, properties, state fixtures, Chromium
	cd $(TS) && node_modules/.bin/vitest run

ts-conformance: $(STAMP) ts-build ## every vector against the TypeScript driver, then pairwise with Python both ways
	$(PY) -m parley.conformance -q --report-dir build/conformance/typescript --command "$(TS_DRIVER)"
	$(PY) -m parley.conformance -q --report-dir build/conformance/interop-python-typescript \
	  --command "$(PY) -m parley.conformance.driver --port {port}" --peer-command "$(TS_DRIVER)"
	$(PY) -m parley.conformance -q --report-dir build/conformance/interop-typescript-python \
	  --command "$(TS_DRIVER)" --peer-command "$(PY) -m parley.conformance.driver --port {port}"

ts-bench: ts-build ## the TypeScript core against a straight-line floor of the same noble calls
	node $(TS)/dist/bench/run.js

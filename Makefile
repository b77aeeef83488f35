# althan: the two commands are `make demo` and `make test`; both set everything up first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
HTMX := src/althan/ssi/static/vendor/htmx.min.js
# the browser the SSI's browser tests drive (Playwright's own download is not used)
CHROMIUM := /usr/bin/chromium
WRK := /usr/bin/wrk

.PHONY: setup demo test test-fast knockout mutate bench lint typecheck fuzz serve clean

setup: $(STAMP) $(NPM_STAMP) $(HTMX) $(CHROMIUM) $(WRK)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

$(HTMX): $(NPM_STAMP)
	mkdir -p $(dir $@)
	cp node_modules/htmx.org/dist/htmx.min.js $@

$(CHROMIUM):
	apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

# the load generator of bench/bench_gateway_http.py (make bench)
$(WRK):
	apt-get install -y wrk || (apt-get update && apt-get install -y wrk)

demo: setup
	$(BIN)/althan demo

test: setup
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

# everything but the long runs and the JVM (reference tool) tests: see docs/testing.md
test-fast: setup
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider -x -m "not slow"

# each refusal rule of the DSP switched off in turn (on a copy of src/): some test must fail;
# the result table goes into docs/testing.md ("Refusal rules")
knockout: setup
	$(BIN)/python mutate/knockout.py --docs docs/testing.md

# mutmut over the rule-bearing code, module by module (dsp/ first), each mutant against the
# tests that call its function, under nice with MUTATE_JOBS children; results are kept in
# mutants/ (not in git) and the tables go into docs/testing.md ("Mutation testing")
MUTATE_JOBS ?= 1
mutate: setup
	$(BIN)/python mutate/mutate.py --jobs $(MUTATE_JOBS) --docs docs/testing.md

bench: setup
	$(BIN)/python bench/run_all.py

# mypy --strict everywhere. src/ in one run (pyproject's `files`); bench/, fuzz/ and the top of
# tests/ in a second; then each tests/ folder on its own, because their modules import their
# siblings by bare name (gateway_support, network_support, ...) and several hold a conftest.py.
LINT_DIRS := src tests bench fuzz mutate
TEST_DIRS := $(sort $(dir $(wildcard tests/*/*.py)))

lint: setup
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)
	$(MAKE) --no-print-directory typecheck

# the mypy half of lint (tests/test_lint.py runs it in the suite, so CI holds it)
typecheck:
	$(BIN)/mypy
	MYPYPATH=bench $(BIN)/mypy bench fuzz $(wildcard tests/*.py)
	for d in $(TEST_DIRS); do MYPYPATH=$$d:tests $(BIN)/mypy $$d || exit 1; done

fuzz: setup
	$(BIN)/python fuzz/fuzz_ota.py --count 1000000
	$(BIN)/python fuzz/fuzz_gbcs.py --count 1000000
	$(BIN)/python fuzz/fuzz_http.py --count 1000000 --seed 1 --shards 100 --jobs 2 --results fuzz/results/http --resume

serve: setup
	$(BIN)/althan serve

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache

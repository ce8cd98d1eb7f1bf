# The README's quick start: `make demo` then `make test`. Both create .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench bench-full soak install clean docs

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dxwatch --config config --db data/dxwatch.db demo

# The whole suite, four workers (pytest-xdist): most tests wait on loopback servers, child crawls and
# timers rather than compute, so two cores keep four busy. TEST_JOBS=0 runs it in one process.
TEST_JOBS ?= 4
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_JOBS)

# The fast lane: in-process tests of the pure functions, SQLite and the SMTP sink (marker `fast`).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m fast

soak: $(STAMP)
	$(BIN)/python -m pytest -q -m soak

# Benchmarks: a quick run at small sizes by default (minutes); bench-full is the run BENCHMARKS.md reports
# (the better part of an hour on two cores). BENCH=full make bench is the same as make bench-full.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

bench-full: $(STAMP)
	$(BIN)/python bench/run_all.py --full

clean:
	rm -rf $(VENV) data build *.egg-info

# Regenerate the generated parts of README.md and docs/ (the CLI reference from --help); a test checks them.
docs: $(STAMP)
	$(BIN)/cog -r README.md docs/*.md

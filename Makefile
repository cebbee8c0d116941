# The two commands of the README:
#   make run   - set everything up, build data/outcomes.duckdb from data/sample/ if missing, start the dashboard
#   make test  - set everything up and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DB     ?= data/outcomes.duckdb
PORT   ?= 8501

.PHONY: setup run test bench screenshots sample clean

setup: $(VENV)/.installed

# Rebuilt when the pinned set or the package metadata changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(DB): | setup
	$(BIN)/outcomes ingest data/sample --db $(DB)

run: setup $(DB)
	$(BIN)/outcomes dashboard --db $(DB) --port $(PORT)

test: setup
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/large_csv.py --size-mb 250 1024
	$(BIN)/python bench/load.py
	$(BIN)/python bench/browser.py

# The README's screenshots, taken by the browser test (needs Chromium: apt-get install chromium).
screenshots: setup
	OUTCOMES_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/test_e2e_browser.py

# Regenerate the committed synthetic sample (deterministic).
sample: setup
	$(BIN)/outcomes synth --patients 300 --seed 42 --out data/sample
	$(BIN)/outcomes synth --patients 12 --seed 7 --messy --out data/sample/messy

clean:
	rm -rf $(VENV) $(DB) $(DB).wal .pytest_cache

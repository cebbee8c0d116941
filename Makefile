# The two commands of the README:
#   make run   - set everything up, build the demo database data/outcomes.duckdb from data/sample/ (dates
#                moved so it ends yesterday; rebuilt on a new day, never over a clinic's own data), start the dashboard
#   make test  - set everything up and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DB     ?= data/outcomes.duckdb
PORT   ?= 8501

.PHONY: setup setup-spark run test bench screenshots sample clean

setup: $(VENV)/.installed

# The `spark` extra (pyspark, sqlglot; Java 17 from the system), for `make test` and `make bench`
# only: `make run` stays without it.
setup-spark: $(VENV)/.spark-installed

$(VENV)/.spark-installed: requirements-spark.lock $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-spark.lock
	touch $@

# Rebuilt when the pinned set or the package metadata changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

run: setup
	$(BIN)/outcomes demo --db $(DB)
	$(BIN)/outcomes dashboard --db $(DB) --port $(PORT)

test: setup setup-spark
	$(BIN)/pytest -n auto --dist loadfile  # a file per worker, one worker per core

bench: setup setup-spark
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/expected.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/large_csv.py --size-mb 250 1024
	$(BIN)/python bench/load.py
	$(BIN)/python bench/spark.py
	$(BIN)/python bench/browser.py
	$(BIN)/python bench/incremental.py

# The README's screenshots, taken by the browser test (needs Chromium: apt-get install chromium).
screenshots: setup
	OUTCOMES_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/test_e2e_browser.py tests/test_e2e_acknowledge.py tests/test_e2e_checkin.py
	OUTCOMES_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/test_page_clinic_report.py -k "browser and Letter"

# Regenerate the committed synthetic sample (deterministic).
sample: setup
	$(BIN)/outcomes synth --patients 300 --seed 42 --out data/sample
	$(BIN)/outcomes synth --patients 12 --seed 7 --messy --out data/sample/messy

clean:
	rm -rf $(VENV) $(DB) $(DB).wal .pytest_cache

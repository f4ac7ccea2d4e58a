# Satu Data Banten: every command a user needs. `make run` and `make test` are the two in the README.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PREFECT_PORT ?= 4200
SIZES ?= 1000000,10000000
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: setup run pipeline serve test test-reliability bench lint clean \
        prefect-server worker deploy

# Pinned, reproducible set-up: every package version comes from constraints.txt.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

pipeline: setup
	$(BIN)/satudata run

run: pipeline
	$(BIN)/satudata serve

serve: setup
	$(BIN)/satudata serve

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not reliability"

# Long crash, load and hostile-input tests (also run by .ci/run).
test-reliability: setup
	$(BIN)/pytest -m reliability; rc=$$?; if [ $$rc -eq 5 ]; then echo "no reliability test selected"; exit 0; fi; exit $$rc

# Benchmark: `make bench SIZES=1000000,10000000` (results in bench/results/).
bench: setup
	$(BIN)/python -m bench.run --sizes $(SIZES)

lint: setup
	$(BIN)/ruff check .

# Operations: a real Prefect server and a process worker (see README, Operations).
prefect-server: setup
	$(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

worker: setup
	PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api $(BIN)/satudata worker

deploy: setup
	PREFECT_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api $(BIN)/satudata deploy

clean:
	rm -rf var dbt/target dbt/logs

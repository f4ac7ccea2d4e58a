# Satu Data Banten: every command a user needs. `make run` and `make test` are the two in the README.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run pipeline serve test lint clean

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
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf var dbt/target dbt/logs

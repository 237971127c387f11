# Amtsweg — the two commands a developer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app:create_app

.PHONY: run test lint fmt venv migrate seed babel-extract babel-update babel-compile bench clean

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

venv: $(BIN)/.installed

run: venv babel-compile
	$(BIN)/python -m workers.embedded run

test: venv babel-compile
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

migrate: venv
	$(BIN)/flask db upgrade

seed: venv
	$(BIN)/flask seed demo

babel-extract: venv
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -o translations/messages.pot --no-location --sort-output .

babel-update: babel-extract
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

babel-compile: venv
	$(BIN)/pybabel compile -d translations --use-fuzzy -f 2>/dev/null || $(BIN)/pybabel compile -d translations

bench: venv
	$(BIN)/python -m bench.submit && $(BIN)/python -m bench.queue && $(BIN)/python -m bench.notices

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

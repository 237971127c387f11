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
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --add-comments=Translators: \
	  --project=Amtsweg --copyright-holder="Stadt Duisburg" --no-location --sort-output -o translations/messages.pot .

babel-update: babel-extract
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

babel-compile: venv
	$(BIN)/pybabel -q compile -d translations

bench: venv
	$(BIN)/python -m bench.submit && $(BIN)/python -m bench.queue && $(BIN)/python -m bench.notices

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

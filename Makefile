# Two commands: `make run` (set up and serve on 127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_CASES ?= 400
PYTEST_ARGS ?=

-include .env
export

.PHONY: setup run test migrate demo messages makemessages clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(BIN)/.installed messages

messages: $(BIN)/.installed
	$(BIN)/python -m config.compilemessages

migrate: setup
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo --if-empty --cases $(DEMO_CASES)
	$(BIN)/python manage.py create_demo_users

run: demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# For developers with GNU gettext: refresh the .po files from the sources.
makemessages: $(BIN)/.installed
	for app in aftersales customers reports; do (cd $$app && ../$(BIN)/python ../manage.py makemessages -l zh_Hans --no-obsolete); done
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --ignore=aftersales --ignore=customers --ignore=reports --ignore=.venv --ignore=tests

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache
	find . -name '*.mo' -not -path './.venv/*' -delete

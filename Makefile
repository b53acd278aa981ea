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

# For developers with GNU gettext: refresh the one catalog (config/locale) from the sources.
makemessages: $(BIN)/.installed
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --no-location --ignore=.venv --ignore=tests --ignore='*.egg-info'

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache
	find . -name '*.mo' -not -path './.venv/*' -delete

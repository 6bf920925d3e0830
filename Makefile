# Set-up and checks. `make run` and `make test` create .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A CPU build of torch is installed before anything that depends on torch (stable-baselines3),
# so that no bare `torch` requirement pulls several GB of CUDA wheels.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install run baselines test test-slow lint bench bench-lm clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The quick benchmark suite (3 easy envs x 3 algorithms x 3 seeds, about 18 minutes on 2 cores).
# Re-running skips finished runs and resumes interrupted ones; RUN_OUT=... picks the folder.
RUN_OUT ?= runs/quick
run: $(STAMP)
	$(VENV)/bin/textgym bench --suite quick --out $(RUN_OUT) --jobs 2

baselines: $(STAMP)
	$(VENV)/bin/textgym baselines --episodes 200 --seed 0

test: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -q -n 2 -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/metrics.py
	$(PY) benchmarks/throughput.py

bench-lm: $(STAMP)
	$(PY) benchmarks/lm_throughput.py
	$(PY) benchmarks/lm_learning.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist *.egg-info

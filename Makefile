# Set-up and checks. `make run` and `make test` create .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A CPU build of torch is installed before anything that depends on torch (stable-baselines3),
# so that no bare `torch` requirement pulls several GB of CUDA wheels.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install run reproduce baselines test test-slow test-tianshou test-rllib lint bench bench-lm clean

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

# After `make run`: is each cell identical to the published quick suite, within its 95% CI, or
# different? (exit status 1 unless every cell reproduces)
reproduce: $(STAMP)
	$(VENV)/bin/textgym compare benchmarks/results/quick_suite $(RUN_OUT)

baselines: $(STAMP)
	$(VENV)/bin/textgym baselines --episodes 200 --seed 0

test: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -q -n 2 -m slow

# Tianshou 2.0 pins pandas<3, which would downgrade the pandas of .venv: its smoke tests run in a
# virtual environment of their own (in the default run, tests/test_client_tianshou.py skips).
TIANSHOU_VENV ?= .venv-tianshou
TIANSHOU_STAMP := $(TIANSHOU_VENV)/.installed

$(TIANSHOU_STAMP): pyproject.toml
	$(PYTHON) -m venv $(TIANSHOU_VENV)
	$(TIANSHOU_VENV)/bin/python -m pip install --quiet "$(TORCH_SPEC)"
	$(TIANSHOU_VENV)/bin/python -m pip install --quiet -e ".[tianshou]" "pytest>=7.4"
	touch $(TIANSHOU_STAMP)

test-tianshou: $(TIANSHOU_STAMP)
	$(TIANSHOU_VENV)/bin/python -m pytest -q tests/test_client_tianshou.py

# ray[rllib] pins gymnasium==1.2.2, which would downgrade the gymnasium of .venv: its smoke tests
# run in a virtual environment of their own (in the default run, tests/test_client_rllib.py skips).
RLLIB_VENV ?= .venv-rllib
RLLIB_STAMP := $(RLLIB_VENV)/.installed

$(RLLIB_STAMP): pyproject.toml
	$(PYTHON) -m venv $(RLLIB_VENV)
	$(RLLIB_VENV)/bin/python -m pip install --quiet "$(TORCH_SPEC)"
	$(RLLIB_VENV)/bin/python -m pip install --quiet -e ".[rllib]" "pytest>=7.4"
	touch $(RLLIB_STAMP)

test-rllib: $(RLLIB_STAMP)
	$(RLLIB_VENV)/bin/python -m pytest -q tests/test_client_rllib.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/metrics.py
	$(PY) benchmarks/throughput.py

bench-lm: $(STAMP)
	$(PY) benchmarks/lm_throughput.py
	$(PY) benchmarks/lm_learning.py

clean:
	rm -rf $(VENV) $(TIANSHOU_VENV) $(RLLIB_VENV) .pytest_cache .ruff_cache .hypothesis build dist *.egg-info

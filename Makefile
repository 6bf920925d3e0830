# Set-up and checks. `make run` and `make test` create .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A CPU build of torch is installed before anything that depends on torch (stable-baselines3),
# so that no bare `torch` requirement pulls several GB of CUDA wheels.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install lock run reproduce baselines test test-slow test-tianshou test-rllib test-lowest \
	test-latest lint typecheck check-package docs bench bench-lm bench-rllib clean

# Every virtual environment installs the exact versions of a lock file (requirements/*.lock,
# resolved by `make lock`), so that a dependency's new release changes nothing here until the
# lock is regenerated; `make test-latest` is the check that tells when to. pip installs torch
# (TORCH_SPEC: a CPU build where there is no CUDA driver) and uv, the version dev.lock pins; uv
# installs the lock (about 10x faster than pip), then the project itself (editable) and
# anything its extras gained since the lock was made.
UV_SPEC := $(shell grep -m1 '^uv==' requirements/dev.lock)
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels)
define install_locked
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet "$(TORCH_SPEC)" "$(UV_SPEC)"
	$(1)/bin/uv pip install --quiet --python $(1)/bin/python $(FIND_LINKS) -r $(2)
	$(1)/bin/uv pip install --quiet --python $(1)/bin/python $(FIND_LINKS) -e "$(3)" -c $(2)
endef

install: $(STAMP)

$(STAMP): pyproject.toml requirements/dev.lock
	$(call install_locked,$(VENV),requirements/dev.lock,.[dev])
	touch $(STAMP)

# Re-resolve every lock from pyproject.toml and requirements/*.in (needs the package index):
# dev.lock for .venv, rllib.lock and tianshou.lock for their venvs, lowest.lock with every
# direct requirement at its lowest declared bound. For CPython 3.11 on x86-64 Linux; torch is
# pinned by TORCH_SPEC instead (a CPU or a CUDA build, as the machine needs).
# Any uv works (`make lock UV=uv`); .venv has one (the dev extra).
UV ?= $(VENV)/bin/uv
UV_COMPILE = $(UV) pip compile --quiet --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --no-emit-package torch --no-emit-package textgym \
	--custom-compile-command "make lock" $(FIND_LINKS)
lock:
	$(UV_COMPILE) requirements/dev.in -o requirements/dev.lock
	$(UV_COMPILE) requirements/rllib.in -o requirements/rllib.lock
	$(UV_COMPILE) requirements/tianshou.in -o requirements/tianshou.lock
	$(UV_COMPILE) --resolution lowest-direct requirements/dev.in -o requirements/lowest.lock

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

$(TIANSHOU_STAMP): pyproject.toml requirements/tianshou.lock
	$(call install_locked,$(TIANSHOU_VENV),requirements/tianshou.lock,.[tianshou])
	touch $(TIANSHOU_STAMP)

test-tianshou: $(TIANSHOU_STAMP)
	$(TIANSHOU_VENV)/bin/python -m pytest -q tests/test_client_tianshou.py

# ray[rllib] pins gymnasium==1.2.2, which would downgrade the gymnasium of .venv: its smoke tests
# run in a virtual environment of their own (in the default run, tests/test_client_rllib.py skips).
RLLIB_VENV ?= .venv-rllib
RLLIB_STAMP := $(RLLIB_VENV)/.installed

# A variable: a literal comma would split $(call)'s arguments.
RLLIB_EXTRAS := .[rllib,bench]
$(RLLIB_STAMP): pyproject.toml requirements/rllib.lock
	$(call install_locked,$(RLLIB_VENV),requirements/rllib.lock,$(RLLIB_EXTRAS))
	touch $(RLLIB_STAMP)

test-rllib: $(RLLIB_STAMP)
	$(RLLIB_VENV)/bin/python -m pytest -q tests/test_client_rllib.py tests/test_rllib_harness.py

# RLlib PPO with textgym's RLModule on the three easy envs against the random floor and the
# published SB3 PPO, and env steps/s with 1 and 2 env runners (benchmarks/results/rllib_learning.json).
bench-rllib: $(RLLIB_STAMP)
	$(RLLIB_VENV)/bin/python benchmarks/rllib_learning.py

# The dependency sets the lock does not pin. Both run COMPAT_TESTS, the tests of every
# third-party API textgym calls (metrics against sacrebleu and rouge-score, Gymnasium's checkers,
# SB3, every transformers policy family, TRL, tokenizers, a run folder with its TensorBoard log and
# plots), in a fraction of `make test`'s time. lowest = every direct requirement at its lowest
# declared bound (requirements/lowest.lock); latest = the newest release of everything, resolved
# now (what the next `make lock` would get). TEXTGYM_COMPAT=1: an import skip fails there.
COMPAT_TESTS ?= tests/test_registered_envs.py tests/test_versions.py tests/test_metrics_exact.py \
	tests/test_rouge155.py tests/test_porter.py tests/test_significance.py tests/test_sb3.py \
	tests/test_sb3_vec.py \
	tests/test_lm_architectures.py tests/test_trl_adapter.py tests/test_hf_tokenizers.py \
	tests/test_locks.py tests/test_bench_runs.py::test_run_folder_contents \
	tests/test_bench_runs.py::test_cli_bench
LOWEST_VENV ?= .venv-lowest
LATEST_VENV ?= .venv-latest

$(LOWEST_VENV)/.installed: pyproject.toml requirements/lowest.lock
	$(call install_locked,$(LOWEST_VENV),requirements/lowest.lock,.[dev])
	touch $@

# Each venv keeps its own numba cache: the compiled loops are cached next to the sources
# (__pycache__) by default, where another numba version's entries can fail to load ("LLVM
# bitcode parsing error"; seen once when numba 0.60 ran after 0.68 in one checkout).
test-lowest: $(LOWEST_VENV)/.installed
	NUMBA_CACHE_DIR=$(LOWEST_VENV)/numba-cache TEXTGYM_COMPAT=1 \
		$(LOWEST_VENV)/bin/python -m pytest -q -n 2 -m "not slow" $(COMPAT_TESTS)

# Rebuilt on every call: "latest" means today's releases.
test-latest:
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet "$(TORCH_SPEC)" uv
	$(LATEST_VENV)/bin/uv pip install --quiet --python $(LATEST_VENV)/bin/python --refresh \
		$(FIND_LINKS) -e ".[dev]"
	NUMBA_CACHE_DIR=$(LATEST_VENV)/numba-cache TEXTGYM_COMPAT=1 \
		$(LATEST_VENV)/bin/python -m pytest -q -n 2 -m "not slow" $(COMPAT_TESTS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# sdist and wheel built, `twine check --strict`, package data complete and no tests shipped, the
# wheel installed into an empty venv (no torch) running `textgym list` and an episode.
check-package: $(STAMP)
	PYTHON=$(PY) BASE_PYTHON=$(PYTHON) tools/check_package.sh

# The documentation site into site/ (mkdocs, the docs extra); warnings are errors.
# NO_MKDOCS_2_WARNING hides mkdocs-material's banner about mkdocs 2, which is not an error here.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

bench: $(STAMP)
	$(PY) benchmarks/metrics.py
	$(PY) benchmarks/throughput.py

bench-lm: $(STAMP)
	$(PY) benchmarks/lm_throughput.py
	$(PY) benchmarks/lm_learning.py

clean:
	rm -rf $(VENV) $(TIANSHOU_VENV) $(RLLIB_VENV) $(LOWEST_VENV) $(LATEST_VENV) .pytest_cache .ruff_cache .hypothesis build dist site *.egg-info

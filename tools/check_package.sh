#!/usr/bin/env bash
# Check that textgym builds, describes itself and installs as users will get it.
#
# Usage: tools/check_package.sh            (from anywhere; run by `make check-package`)
#
# 1. Builds the sdist, then the wheel from that sdist (`python -m build`, in an isolated build
#    environment), into a temporary folder: a file the sdist forgets breaks the wheel build.
# 2. `twine check --strict` on both (the README renders on PyPI, the metadata is complete).
# 3. Lists both archives: the wheel must hold textgym/py.typed and textgym/metrics/data/*.txt and
#    nothing of tests/, benchmarks/, docs/ or notebooks/; the sdist must hold the package's
#    source and data, README, LICENSE and pyproject.toml, and no tests/ (MANIFEST.in prunes it);
#    neither may hold a virtual environment, run folders, benchmark predictions, caches or
#    compiled files.
# 4. Installs the wheel into an empty virtual environment (no system site packages; the base
#    dependencies come from the package index) and, from a folder outside the checkout, runs
#    `textgym list` and a random-policy episode of TextTrans-v0, checking that torch is
#    neither installed nor imported.
#
# Environment: PYTHON (default .venv/bin/python, which has build and twine: the dev extra) runs
# build and twine; BASE_PYTHON (default python3) creates the empty virtual environment;
# KEEP=1 keeps the temporary folder and prints its path. Exit status 0 only if every check passes.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
BASE_PYTHON=${BASE_PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/textgym-package.XXXXXX")
if [[ "${KEEP:-0}" == 1 ]]; then
    trap 'echo "kept $WORK"' EXIT
else
    trap 'rm -rf "$WORK"' EXIT
fi
START=$SECONDS

step() { printf '\n== %s (%ds)\n' "$1" $((SECONDS - START)); }
fail() { printf 'check_package: FAIL: %s\n' "$1" >&2; exit 1; }

step "build sdist and wheel"
"$PYTHON" -m build --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 || {
    tail -n 40 "$WORK/build.log" >&2
    fail "python -m build failed (log above)"
}
shopt -s nullglob
sdists=("$WORK"/dist/*.tar.gz)
wheels=("$WORK"/dist/*.whl)
shopt -u nullglob
[[ ${#sdists[@]} == 1 && ${#wheels[@]} == 1 ]] || fail "expected one sdist and one wheel"
SDIST=${sdists[0]}
WHEEL=${wheels[0]}
ls -l "$SDIST" "$WHEEL" | awk '{print $5, $NF}'

step "twine check --strict"
"$PYTHON" -m twine check --strict "$SDIST" "$WHEEL"

step "archive contents"
# Python rather than unzip/tar flags: the same listing code for both archives.
"$PYTHON" - "$SDIST" "$WHEEL" <<'EOF'
import fnmatch
import re
import sys
import tarfile
import zipfile

sdist, wheel = sys.argv[1], sys.argv[2]
with tarfile.open(sdist) as tar:
    # Strip the "textgym-X.Y.Z/" top folder of every sdist member.
    sdist_files = [m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()]
with zipfile.ZipFile(wheel) as zf:
    wheel_files = [n for n in zf.namelist() if not n.endswith("/")]

problems = []
# Never in either archive: environments, run outputs, predictions, caches, compiled files.
junk = re.compile(
    r"(^|/)(\.venv[^/]*|runs|\.git|__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache"
    r"|\.hypothesis|\.ipynb_checkpoints|build|dist)/"
    r"|^benchmarks/results/real_tasks[^/]*/(predictions|logs)/"
    r"|\.py[co]$|\.so$|~$"
)
for label, files in (("sdist", sdist_files), ("wheel", wheel_files)):
    problems += [f"{label} ships {f}" for f in files if junk.search(f)]

# The wheel: the package and its metadata only.
outside = [
    f for f in wheel_files if not f.startswith(("textgym/", "textgym-")) or "/tests/" in f
]
problems += [f"wheel ships {f} (not part of the package)" for f in outside]
# MANIFEST.in prunes tests/: the sdist is the package's source, not a partial test suite.
problems += [f"sdist ships {f}" for f in sdist_files if f.startswith(("tests/", "benchmarks/"))]
required = ["textgym/py.typed", "textgym/cli.py", "textgym/__init__.py"]
problems += [f"wheel lacks {f}" for f in required if f not in wheel_files]
data = [f for f in wheel_files if fnmatch.fnmatch(f, "textgym/metrics/data/*.txt")]
if not {"wordnet-2.0-exceptions.txt", "LICENSE-WordNet-2.0.txt"} <= {
    f.rsplit("/", 1)[1] for f in data
}:
    problems.append(f"wheel lacks the ROUGE-1.5.5 data files (has {data})")
metadata = [f for f in wheel_files if f.endswith(".dist-info/METADATA")]
entry_points = [f for f in wheel_files if f.endswith(".dist-info/entry_points.txt")]
if not metadata or not entry_points:
    problems.append("wheel lacks METADATA or entry_points.txt")

# The sdist: enough to rebuild the wheel and to read the licence.
for f in ("pyproject.toml", "README.md", "LICENSE", "textgym/py.typed", *data):
    if f not in sdist_files:
        problems.append(f"sdist lacks {f}")
modules = {f for f in wheel_files if f.endswith(".py")}
problems += [f"sdist lacks {f}" for f in sorted(modules - set(sdist_files))]

top = sorted({f.split("/", 1)[0] for f in sdist_files})
print(f"sdist: {len(sdist_files)} files; top level: {', '.join(top)}")
print(f"wheel: {len(wheel_files)} files, {len(modules)} modules, data: {len(data)} files")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
EOF

step "install the wheel into an empty virtual environment"
"$BASE_PYTHON" -m venv "$WORK/venv"
VENV_PY=$WORK/venv/bin/python
# The fresh venv's own pip, as a user's; the base dependencies come from the package index.
"$VENV_PY" -m pip install --quiet --disable-pip-version-check "$WHEEL" \
    >"$WORK/install.log" 2>&1 || { tail -n 40 "$WORK/install.log" >&2; fail "pip install"; }
"$VENV_PY" -m pip check --disable-pip-version-check
"$VENV_PY" -m pip list --disable-pip-version-check --format=freeze | tr '\n' ' '
echo
if "$VENV_PY" -m pip show --disable-pip-version-check torch >/dev/null 2>&1; then
    fail "the wheel's base dependencies pulled torch"
fi

step "textgym list and one episode, outside the checkout"
cd "$WORK"  # so that `import textgym` cannot pick up the source tree
"$WORK/venv/bin/textgym" list >"$WORK/list.txt" || fail "textgym list"
grep -q "TextTrans-v0" "$WORK/list.txt" || fail "textgym list does not show TextTrans-v0"
echo "textgym list: $(wc -l <"$WORK/list.txt") lines"
"$VENV_PY" - <<'EOF'
import sys
import warnings
from pathlib import Path

import gymnasium as gym

import textgym

# The v0 ids are kept on purpose (reproducibility); Gymnasium's reminder is noise here.
warnings.filterwarnings("ignore", message=".*TextTrans-v0 is out of date")

assert Path(textgym.__file__).resolve().parts[-3] == "site-packages", textgym.__file__
env = gym.make("TextTrans-v0")
obs, info = env.reset(seed=0)
env.action_space.seed(0)
terminated = truncated = False
total, steps = 0.0, 0
while not (terminated or truncated):
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    total += float(reward)
    steps += 1
env.close()
assert 0.0 <= total <= 1.0, total
assert "torch" not in sys.modules, "the rollout imported torch"
print(f"TextTrans-v0 random episode: {steps} steps, reward {total:.4f}, "
      f"generated {info['generated']!r}")
EOF

step "all checks passed"

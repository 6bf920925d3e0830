"""Run folders, `textgym eval` and suite tables state each reported metric's signature;
`textgym compare` reads two run folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")

from textgym.bench import suite as suite_module  # noqa: E402
from textgym.bench.config import resolve  # noqa: E402
from textgym.bench.runs import RunFolder  # noqa: E402
from textgym.bench.train import train  # noqa: E402
from textgym.cli import main  # noqa: E402

ENV = "TextTrans-Easy-v1"
BLEU_SENTENCE = "nrefs:2|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0"


def tiny_sup(seed: int) -> dict:
    return resolve({
        "algo": "sup", "env_id": ENV, "seed": seed, "steps": 2, "n_envs": 2, "eval_envs": 2,
        "eval": {"episodes": 3, "every": 2}, "model": {"width": 16, "layers": 1, "heads": 2},
    })  # fmt: skip


def test_run_folder_eval_and_compare_state_signatures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "suite"
    runs = [suite_module.run_folder(out, ENV, "sup", seed) for seed in (0, 1)]
    train(tiny_sup(0), runs[0])
    # The second run is a copy (training another costs seconds): `compare` must then say
    # that the predictions are identical.
    shutil.copytree(runs[0], runs[1])
    summary = RunFolder(runs[0]).summary()
    assert summary is not None
    signatures = summary["signatures"]
    assert signatures["eval/bleu"] == BLEU_SENTENCE
    assert signatures["eval/score"].endswith("|reward:bleu*content|version:0.1.0")
    assert set(signatures) == {k for k in summary if k.startswith("eval/")} - {
        "eval/length", "eval/num_samples",
    }  # fmt: skip

    for path in runs:
        assert main(["eval", str(path), "--split", "test", "--episodes", "3"]) == 0
    printed = capsys.readouterr().out
    assert "signatures:\n  eval/score" in printed and BLEU_SENTENCE in printed
    written = json.loads((runs[0] / "eval_test.json").read_text())
    assert written["signatures"]["eval/chrf"].startswith("nrefs:2|case:mixed|eff:yes|nc:6|nw:0")

    assert main(["compare", str(runs[0]), str(runs[1]), "--resamples", "50"]) == 0
    table = capsys.readouterr().out
    assert "3 shared samples; paired bootstrap resampling, 50 resamples, seed 12345" in table
    for name in ("score", "bleu", "chrf", "content"):
        assert f"\n{name} " in table
    assert "nrefs:2|bs:50|seed:12345|case:mixed|eff:no|tok:13a" in table  # corpus BLEU
    assert "note: the two runs' predictions are identical" in table
    assert main(["compare", str(runs[0]), str(runs[1]), "--split", "final", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["samples"] == 3

    suite = suite_module.Suite(name="t", env_ids=(ENV,), algos=("sup",), seeds=(0, 1))
    configs = {(ENV, "sup", seed): tiny_sup(seed) for seed in (0, 1)}
    table = suite_module._suite_signatures(out, suite, configs)
    assert table == {ENV: signatures}
    text = suite_module._signatures_markdown(table)
    assert f"- {ENV} `eval/bleu`: `{BLEU_SENTENCE}`" in text

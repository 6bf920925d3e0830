"""data=: local files, saved datasets, standard corpora by name, Hub ids; all offline.

The Hub code paths (corpus names, column mappings of the Hub layouts) run through the same
loaders on local copies; a Hub name that is not cached must fail at once with our message.
"""

from __future__ import annotations

import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from real_corpora import german_messages, offline, stdlib_docstrings

import textgym  # noqa: F401
from textgym.data import Columns, Sample, as_dataset, corpus, epoch_indices
from textgym.data.hf import HubUnavailableError, looks_like_hub_id

__all__ = ["offline"]  # the fixture, re-exported for pytest

ROWS = [
    {"source": "The cat sat on the mat.", "reference": "A cat was on the mat."},
    {"source": "Dogs bark at night.", "references": ["Dogs bark.", "At night dogs bark."]},
    {"source": "Rain fell all day in the valley.", "reference": "It rained all day."},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def play_reference(env: gym.Env, sample_id: int) -> tuple[float, dict]:
    env.reset(options={"sample_id": sample_id})
    total, done, info = 0.0, False, {}
    while not done:
        _, reward, done, _, info = env.step(env.unwrapped.reference_action())
        total += reward
    return total, info


@pytest.fixture(autouse=True)
def _no_network(offline: None) -> None:
    """Every test here runs with the Hub switched off."""


@pytest.fixture
def datasets() -> Any:
    """The ``datasets`` library, for the tests that need it (the others run without it)."""
    return pytest.importorskip("datasets")


# ---------------------------------------------------------------------------- local files
def test_jsonl_path_string_mixes_reference_and_references(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", ROWS)
    env = gym.make("TextTrans-v0", data=str(path))
    assert len(env.unwrapped.dataset) == 3
    _, info = env.reset(options={"sample_id": 1})
    assert info["references"] == ["Dogs bark.", "At night dogs bark."]
    total, _ = play_reference(env, 2)
    assert total == pytest.approx(1.0)
    # A path keeps the spec a reloadable JSON config.
    again = gym.make(gym.envs.registration.EnvSpec.from_json(env.spec.to_json()))
    assert again.unwrapped.dataset == env.unwrapped.dataset


def test_csv_tsv_and_json_with_a_column_mapping(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(
        'id,en,de,de2\nx1,"Hello, world.",Hallo Welt.,Hallo Erde.\nx2,Good night.,Gute Nacht.,'
        "Nacht.\n",
        "utf-8",
    )
    (tmp_path / "d.tsv").write_text(
        'en\tde\nHe said "hi".\tEr sagte "hallo".\n', "utf-8"
    )  # quotes stay verbatim in TSV
    (tmp_path / "d.json").write_text(json.dumps([{"en": "One.", "de": "Eins."}]), "utf-8")
    mapping = {"source": "en", "references": ["de", "de2"], "id": "id"}
    csv_env = gym.make("TextTrans-v0", data={"path": str(tmp_path / "d.csv"), **mapping})
    sample = csv_env.unwrapped.dataset[0]
    assert sample == Sample("x1", "Hello, world.", ("Hallo Welt.", "Hallo Erde."), {"row": 0})
    tsv = as_dataset({"path": str(tmp_path / "d.tsv"), "source": "en", "reference": "de"})
    assert tsv[0].source == 'He said "hi".' and tsv[0].references == ('Er sagte "hallo".',)
    js = as_dataset({"path": str(tmp_path / "d.json"), "source": "en", "reference": "de"})
    assert js[0].references == ("Eins.",)


def test_parallel_text_files_with_several_references(tmp_path: Path) -> None:
    (tmp_path / "src.en").write_text("Good morning.\nThank you.\n", "utf-8")
    (tmp_path / "ref1.de").write_text("Guten Morgen.\nDanke.\n", "utf-8")
    (tmp_path / "ref2.de").write_text("Morgen.\nVielen Dank.\n", "utf-8")
    spec = {
        "source_file": str(tmp_path / "src.en"),
        "reference_files": [str(tmp_path / "ref1.de"), str(tmp_path / "ref2.de")],
    }
    env = gym.make("TextTrans-v0", data=spec)
    _, info = env.reset(options={"sample_id": 1})
    assert info["source"] == "Thank you."
    assert info["references"] == ["Danke.", "Vielen Dank."]
    (tmp_path / "short.de").write_text("Guten Morgen.\n", "utf-8")
    with pytest.raises(ValueError, match=r"same number of lines.*src.en': 2.*short.de': 1"):
        as_dataset({**spec, "reference_files": [str(tmp_path / "short.de")]})


def test_saved_dataset_dict_split_max_samples_and_streaming(tmp_path: Path, datasets: Any) -> None:
    rows = [{"article": f"Report {i}: the council met and voted.", "highlights": f"Vote {i}."}
            for i in range(30)]  # fmt: skip
    train = datasets.Dataset.from_list(rows)
    datasets.DatasetDict({"train": train, "test": train.select(range(5))}).save_to_disk(
        str(tmp_path / "saved")
    )
    spec = {"path": str(tmp_path / "saved"), "source": "article", "references": "highlights"}
    env = gym.make("TextSumm-v0", data=spec, split="test")
    assert len(env.unwrapped.dataset) == 5
    assert len(as_dataset({**spec, "max_samples": 7})) == 7
    with pytest.raises(
        ValueError, match=r"no split 'validation'; its splits are \['test', 'train'\]"
    ):
        as_dataset({**spec, "split": "validation"})
    # Streaming reads a data directory lazily and keeps the first max_samples in memory.
    train.to_json(str(tmp_path / "files" / "train.jsonl"))
    streamed = as_dataset(
        {"path": str(tmp_path / "files"), "source": "article", "references": "highlights",
         "streaming": True, "max_samples": 4}
    )  # fmt: skip
    assert isinstance(streamed, tuple) and [s.references[0] for s in streamed] == [
        "Vote 0.", "Vote 1.", "Vote 2.", "Vote 3."
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"max_samples'\]: required with streaming=True"):
        as_dataset({**spec, "streaming": True})


def test_parquet_file_and_pickled_env(tmp_path: Path, datasets: Any) -> None:
    datasets.Dataset.from_list(ROWS[:1]).to_parquet(str(tmp_path / "d.parquet"))
    env = gym.make("TextTrans-v0", data=str(tmp_path / "d.parquet"))
    env.reset(seed=0)
    clone = pickle.loads(pickle.dumps(env))
    assert clone.unwrapped.dataset[0] == env.unwrapped.dataset[0]


# ---------------------------------------------------------------------------- corpora
@pytest.mark.parametrize(
    ("key", "path", "config", "revision", "source", "references"),
    [
        ("cnn_dailymail", "abisee/cnn_dailymail", "3.0.0", None, "article", ("highlights",)),
        ("xsum", "EdinburghNLP/xsum", "default", "refs/convert/parquet", "document",
         ("summary",)),
        ("wmt16", "wmt/wmt16", "de-en", None, "translation.de", ("translation.en",)),
        ("wmt16:en-ro", "wmt/wmt16", "ro-en", None, "translation.en", ("translation.ro",)),
        ("iwslt2017:en-de", "IWSLT/iwslt2017", "iwslt2017-en-de", "refs/convert/parquet",
         "translation.en", ("translation.de",)),
    ],
)  # fmt: skip
def test_corpus_table(
    key: str, path: str, config: str, revision: str | None, source: str, references: tuple
) -> None:
    c = corpus(key)
    assert (c.path, c.config, c.revision) == (path, config, revision)
    assert (c.columns.source, c.columns.references) == (source, references)


@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("wmt16:fr-en", r"wmt16 has no pair fr-en"),
        ("iwslt2017:en-xx", r"iwslt2017 has no language 'xx'"),
        ("xsum:en-de", r"corpus 'xsum' has no language pair"),
        ("wmt16:de", r"expected a language pair like 'wmt16:de-en'"),
    ],
)
def test_bad_corpus_names(key: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        corpus(key)


def test_uncached_hub_names_fail_fast_with_a_local_path_hint(datasets: Any) -> None:
    start = time.monotonic()
    with pytest.raises(HubUnavailableError, match=r"'abisee/cnn_dailymail'.*save_to_disk.*"
                       r"data=\{'corpus': 'cnn_dailymail', 'path': 'my_copy'\}"):  # fmt: skip
        gym.make("TextSumm-v0", data="cnn_dailymail")
    with pytest.raises(HubUnavailableError, match=r"'no-such-owner-xyz/corpus'"):
        as_dataset({"path": "no-such-owner-xyz/corpus", "source": "a", "references": "b"})
    assert time.monotonic() - start < 20
    with pytest.raises(ValueError, match=r"'wmt16:de-en' is a translation corpus; this is a "
                       "summarization env"):  # fmt: skip
        gym.make("TextSumm-v0", data="wmt16:de-en")


def test_hub_layouts_load_from_local_copies(tmp_path: Path, datasets: Any) -> None:
    """The corpus mappings (nested translation records, dialogue turns) on local copies."""
    wmt = datasets.Dataset.from_list(
        [{"translation": {"de": "Guten Tag.", "en": "Good day."}},
         {"translation": {"de": "Wie geht es?", "en": "How are you?"}}]
    )  # fmt: skip
    wmt.save_to_disk(str(tmp_path / "wmt"))
    env = gym.make("TextTrans-v0", data={"corpus": "wmt16:en-de", "path": str(tmp_path / "wmt")})
    _, info = env.reset(options={"sample_id": 1})
    assert (info["source"], info["references"]) == ("How are you?", ["Wie geht es?"])

    dialogs = datasets.Dataset.from_list(
        [{"dialog": ["Hi , how are you ? ", " Fine , thanks . ", "Want tea ? ", "Yes ."],
          "act": [1, 1, 2, 3]},
         {"dialog": ["Where is the bank ?", "Next to the park ."], "act": [2, 1]}]
    )  # fmt: skip
    dialogs.save_to_disk(str(tmp_path / "dd"))
    spec = {"corpus": "daily_dialog", "path": str(tmp_path / "dd"), "context_turns": 2}
    data = as_dataset(spec, family="dialogue")
    assert len(data) == 4  # 3 replies in the first dialogue, 1 in the second
    assert data[2].source == "Fine , thanks .\nWant tea ?" and data[2].references == ("Yes .",)
    assert data[3].id == "1-1" and data[3].meta == {"row": 1, "turn": 1}
    env = gym.make("TextDial-v0", data=spec)
    assert play_reference(env, 0)[0] == pytest.approx(1.0)


# ---------------------------------------------------------------------------- sampling
def test_seeded_sampling_and_epoch_visit_every_sample_once(tmp_path: Path) -> None:
    rows = [{"source": f"sentence number {i} .", "reference": f"number {i}"} for i in range(40)]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    draws = []
    for _ in range(2):
        env = gym.make("TextTrans-v0", data=str(path))
        env.reset(seed=3)
        draws.append([env.reset()[1]["sample_id"] for _ in range(10)])
    assert draws[0] == draws[1]
    seen = [env.reset(options=o)[1]["sample_id"] for o in env.unwrapped.epoch()]
    assert seen == [str(i) for i in range(40)]
    shuffled = [o["sample_id"] for o in env.unwrapped.epoch(seed=1)]
    assert sorted(shuffled) == list(range(40)) and shuffled != list(range(40))
    assert shuffled == list(epoch_indices(40, seed=1))


def test_long_source_is_truncated_on_the_configured_side(tmp_path: Path) -> None:
    rows = [{"source": " ".join(f"w{i}" for i in range(50)), "reference": "w0"}]
    path = write_jsonl(tmp_path / "long.jsonl", rows)
    env = gym.make("TextSumm-v0", data=str(path), max_prompt_len=4, truncation_side="left")
    obs, info = env.reset(seed=0)
    assert info["prompt_truncated"] is True
    assert env.unwrapped.tokenizer.decode(obs["prompt_ids"].tolist()) == "summarize: w48 w49"


def test_large_loaded_data_measures_lengths_on_a_sample(tmp_path: Path) -> None:
    from textgym.tasks import base

    rows = [{"source": "a b", "reference": "c"}] * 2500 + [{"source": "a " * 40, "reference": "c"}]
    path = write_jsonl(tmp_path / "big.jsonl", rows)
    env = gym.make("TextSumm-v0", data=str(path))
    # Evenly spaced samples include the last row, the long one.
    assert env.unwrapped.max_prompt_len == 2 + 40
    assert len(rows) > base.LENGTH_SCAN_SAMPLES


# ---------------------------------------------------------------------------- real corpora
def test_real_translation_corpus_from_files_and_a_saved_dataset(
    tmp_path: Path, datasets: Any
) -> None:
    """English -> German UI messages of GNU/Debian programs, loaded three ways."""
    pairs = german_messages()
    write_jsonl(tmp_path / "de.jsonl", [{"en": en, "de": de} for en, de in pairs])
    (tmp_path / "src.en").write_text("".join(en + "\n" for en, _ in pairs), "utf-8")
    (tmp_path / "ref.de").write_text("".join(de + "\n" for _, de in pairs), "utf-8")
    datasets.Dataset.from_list([{"translation": {"en": en, "de": de}} for en, de in pairs]
                               ).save_to_disk(str(tmp_path / "saved"))  # fmt: skip
    loaded = [
        as_dataset({"path": str(tmp_path / "de.jsonl"), "source": "en", "reference": "de"}),
        as_dataset({"source_file": str(tmp_path / "src.en"),
                    "reference_files": [str(tmp_path / "ref.de")]}),
        as_dataset({"corpus": "wmt16:en-de", "path": str(tmp_path / "saved")}),
    ]  # fmt: skip
    for data in loaded:
        assert [(s.source, s.references[0]) for s in data] == pairs
    env = gym.make("TextTrans-v0", data={"corpus": "wmt16:en-de", "path": str(tmp_path / "saved")},
                   reward="chrf")  # fmt: skip
    scores = [play_reference(env, i)[0] for i in range(0, len(pairs), 25)]
    assert scores == pytest.approx([1.0] * len(scores))  # umlauts and punctuation round-trip


def test_real_summarization_corpus_csv_and_saved_dataset(tmp_path: Path, datasets: Any) -> None:
    """Standard-library docstrings: body -> summary line, in the cnn_dailymail layout."""
    pairs = stdlib_docstrings()
    table = datasets.Dataset.from_list(
        [{"id": str(i), "article": body, "highlights": summary}
         for i, (body, summary) in enumerate(pairs)]
    )  # fmt: skip
    table.to_csv(str(tmp_path / "docs.csv"), index=False)
    table.save_to_disk(str(tmp_path / "saved"))
    from_csv = as_dataset({"corpus": "cnn_dailymail", "path": str(tmp_path / "docs.csv")})
    from_disk = as_dataset({"corpus": "cnn_dailymail", "path": str(tmp_path / "saved")})
    assert [(s.id, s.source, s.references) for s in from_csv] == [
        (s.id, s.source, s.references) for s in from_disk
    ]
    env = gym.make("TextSumm-v0", data={"corpus": "cnn_dailymail", "path": str(tmp_path / "saved")})
    assert env.unwrapped.describe()["data"]["num_samples"] == len(pairs)
    assert play_reference(env, 3)[0] == pytest.approx(1.0)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("content", "spec", "match"),
    [
        (b"", {}, r"bad.jsonl: the file is empty"),
        (b'{"source": "a"}\n', {}, r"bad.jsonl: missing column\(s\) \['references'\]; its columns"
                                   r" are \['source'\]"),
        (b'{"src": "a", "ref": "b"}\n', {"source": "text"},
         r"missing column\(s\) \['text', 'references'\]"),
        (b'{"source": "a", "reference": "b"}\n{"source": "c", "reference": ""}\n', {},
         r"bad.jsonl: line 2: column 'reference' is empty"),
        (b'{"source": "a", "reference": "b"}\n{"source": "c"}\n', {},
         r"bad.jsonl: line 2: missing column 'references' \(or 'reference'\)"),
        (b'{"source": "a", "reference": null}\n', {}, r"line 1: column 'reference' is empty"),
        (b'{"source": "a", "reference": 3}\n', {}, r"line 1: column 'reference': expected text"),
        (b'{"source": "a", "reference": "b"}\n{"source": "caf\xe9", "reference": "x"}\n', {},
         r"bad.jsonl: line 2: byte 0xe9 is not valid utf-8.*'encoding': 'latin-1'"),
        (b'{"source": "a", "reference": "b"}\nnot json\n', {}, r"line 2: invalid JSON"),
    ],
)  # fmt: skip
def test_bad_files_name_file_row_and_column(
    tmp_path: Path, content: bytes, spec: dict, match: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        gym.make("TextTrans-v0", data={"path": str(path), **spec})


def test_bad_input_documented_behaviours(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"source": "caf\xe9 au lait", "reference": "coffee"}\n')
    data = as_dataset({"path": str(path), "encoding": "latin-1"})
    assert data[0].source == "café au lait"
    mixed = write_jsonl(tmp_path / "mixed.jsonl", [ROWS[0], {"source": "x", "reference": " "}])
    with pytest.warns(UserWarning, match=r"skipped 1 invalid row\(s\).*line 2"):
        assert len(as_dataset({"path": str(mixed), "skip_invalid": True})) == 1
    (tmp_path / "header.csv").write_text("source,reference\n", "utf-8")
    with pytest.raises(ValueError, match=r"header.csv: the header has no rows"):
        as_dataset(str(tmp_path / "header.csv"))
    (tmp_path / "extra.csv").write_text("source,reference\na,b,c\n", "utf-8")
    with pytest.raises(ValueError, match=r"extra.csv: line 2: 1 more field"):
        as_dataset(str(tmp_path / "extra.csv"))
    with pytest.raises(FileNotFoundError, match=r"no such file or directory 'data/trian.jsonl'"):
        as_dataset({"path": "data/trian.jsonl"})
    with pytest.raises(ValueError, match=r"neither an existing file or directory nor a known "
                       r"corpus.*Did you mean 'cnn_dailymail'"):  # fmt: skip
        gym.make("TextSumm-v0", data="cnn_dailymial")
    with pytest.raises(ValueError, match=r"unknown key\(s\) 'max_sample' \(did you mean "
                       r"'max_samples'\?\)"):  # fmt: skip
        as_dataset({"path": str(mixed), "max_sample": 3})
    with pytest.raises(ValueError, match=r"is plain text.*'source_file'"):
        as_dataset({"path": str(tmp_path / "src.txt")})


def test_saved_dataset_missing_column_and_invalid_row(tmp_path: Path, datasets: Any) -> None:
    datasets.Dataset.from_list(
        [{"article": "Text one.", "highlights": "One.", "id": "a"},
         {"article": "Text two.", "highlights": None, "id": "b"}]
    ).save_to_disk(str(tmp_path / "saved"))  # fmt: skip
    with pytest.raises(ValueError, match=r"saved: missing column\(s\) \['document', 'summary'\]"):
        as_dataset({"corpus": "xsum", "path": str(tmp_path / "saved")})
    with pytest.raises(ValueError, match=r"saved: row 1: column 'highlights' is empty"):
        gym.make("TextSumm-v0", data={"corpus": "cnn_dailymail", "path": str(tmp_path / "saved")})
    with pytest.warns(UserWarning, match="skipped 1 invalid sample"):
        data = as_dataset(
            {"corpus": "cnn_dailymail", "path": str(tmp_path / "saved"), "skip_invalid": True}
        )
    assert len(data) == 1 and list(data)[0].references == ("One.",)


def test_columns_and_hub_id_heuristics() -> None:
    with pytest.raises(ValueError, match=r"data\['context_turns'\]: expected an integer >= 1"):
        Columns.from_spec({"context_turns": 0})
    assert Columns.from_spec({"reference": ["a", "b"]}).references == ("a", "b")
    assert looks_like_hub_id("owner/name") and looks_like_hub_id("xsum")
    for local in ("data/train.jsonl", "./corpus", "a/b/c", "/abs/dir", "file.parquet", "a b"):
        assert not looks_like_hub_id(local)
    assert np.array_equal(list(epoch_indices(3)), [0, 1, 2])


def test_missing_optional_dependency_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "state.json").write_text("{}", "utf-8")
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r'needs the optional package \'datasets\'.*'
                       r'pip install "textgym\[hf\]"'):  # fmt: skip
        as_dataset(str(tmp_path / "saved"))
    # Local text files need no optional package.
    path = write_jsonl(tmp_path / "d.jsonl", ROWS)
    assert len(as_dataset(str(path))) == 3

"""data=: public corpora in their original file formats (Multi30k, DailyDialog, SciTLDR).

Each test writes a small copy in the release's own layout and format (gzip, ``__eou__`` turns,
JSONL with list fields), so they run anywhere; one test reads the real copies when this machine
has them under ``~/.cache/textgym-data``.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.envs.registration import EnvSpec
from real_corpora import offline

import textgym  # noqa: F401
from textgym.data import Sample, as_dataset
from textgym.data.corpora import LOCAL_CORPORA, local_corpus

__all__ = ["offline"]  # the fixture, re-exported for pytest

REAL = Path("~/.cache/textgym-data").expanduser()

MULTI30K = {
    "train": {
        "en": ["Two dogs play in the snow.", "A man rides a red bike. ", "A girl reads a book."],
        "de": ["Zwei Hunde spielen im Schnee.", "Ein Mann fährt ein rotes Fahrrad.",
               "Ein Mädchen liest ein Buch."],
        "fr": ["Deux chiens jouent dans la neige.", "Un homme fait du vélo rouge.",
               "Une fille lit un livre."],
        "cs": ["Dva psi si hrají na sněhu.", "Muž jede na červeném kole.", "Dívka čte knihu."],
    },
    "val": {
        "en": ["A cat sleeps on a sofa.", "People walk down a busy street."],
        "de": ["Eine Katze schläft auf einem Sofa.", "Menschen gehen eine belebte Straße entlang."],
        "fr": ["Un chat dort sur un canapé.", "Des gens marchent dans une rue animée."],
        "cs": ["Kočka spí na pohovce.", "Lidé jdou rušnou ulicí."],
    },
    "test_2016_flickr": {
        "en": ["A boy jumps into a lake."],
        "de": ["Ein Junge springt in einen See."],
        "fr": ["Un garçon saute dans un lac."],
        "cs": ["Chlapec skáče do jezera."],
    },
    # Like the release, the 2017 test sets have no Czech.
    "test_2017_mscoco": {
        "en": ["A plate of food on a table.", "A bus parked by the road."],
        "de": ["Ein Teller mit Essen auf einem Tisch.", "Ein Bus parkt an der Straße."],
        "fr": ["Une assiette de nourriture sur une table.", "Un bus garé au bord de la route."],
    },
}  # fmt: skip

# DailyDialog: one dialogue per line, every turn ended by "__eou__", punctuation spaced out.
DIALOGUES_TEST = [
    "Can I help you ? __eou__ I ’ d like a coffee . __eou__ Small or large ? __eou__ "
    "Large , please . __eou__ Here you are . __eou__",
    "Where is the bank ? __eou__ Next to the park . __eou__",
    "Hello . __eou__",  # a single turn: nothing replies to it
]
ACTS_TEST = ["2 3 2 3 1", "2 1", "1"]
DIALOGUES_VALIDATION = ["Is it raining ? __eou__ Yes , take an umbrella . __eou__"]

SCITLDR_TRAIN = [
    {"source": ["We study sparse attention.\n", "It is fast.  ", "Results are strong.\n"],
     "source_labels": [0, 1, 0], "rouge_scores": [0.2, 0.4, 0.1], "paper_id": "p-train-1",
     "target": ["Sparse attention is fast and strong. "], "title": "Sparse attention"},
    {"source": ["A new optimizer is proposed.", "It converges in fewer steps."],
     "source_labels": [1, 0], "rouge_scores": [0.5, 0.3], "paper_id": "p-train-2",
     "target": ["A faster-converging optimizer."], "title": "Optimizer"},
]  # fmt: skip
SCITLDR_TEST = [
    {"source": ["Graph networks fail on long chains.", "We add skip edges."],
     "source_labels": [0, 1], "rouge_scores": [0.3, 0.6], "paper_id": "p-test-1",
     "target": ["Skip edges help graph networks on long chains.",
                "Graph networks with skip edges.", "Long chains need skip edges."],
     "title": "Skip edges"},
]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_network(offline: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hub off, and the default folder of local copies empty, so no test reads a real copy."""
    monkeypatch.setenv("TEXTGYM_DATA", str(tmp_path / "no-copies-here"))


def write_multi30k(root: Path, gz: bool = True) -> Path:
    """The layout of github.com/multi30k/dataset: data/task1/raw/<split>.<lang>.gz."""
    raw = root / "data" / "task1" / "raw"
    raw.mkdir(parents=True)
    (root / "README.md").write_text("Multi30k\n", "utf-8")
    for split, languages in MULTI30K.items():
        for lang, lines in languages.items():
            data = "".join(line + "\n" for line in lines).encode("utf-8")
            if gz:
                (raw / f"{split}.{lang}.gz").write_bytes(gzip.compress(data))
            else:
                (raw / f"{split}.{lang}").write_bytes(data)
    return root


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), "utf-8")
    return path


def write_laed_dailydialog(root: Path) -> Path:
    """NeuralDialog-LAED's data/daily_dialog: <split>/dialogues.txt (+ act, emotion labels);
    its train/dialogues.txt is an empty file, as in the copy on this machine."""
    write_lines(root / "test" / "dialogues.txt", DIALOGUES_TEST)
    write_lines(root / "test" / "dialogues_act.txt", ACTS_TEST)
    write_lines(root / "validation" / "dialogues.txt", DIALOGUES_VALIDATION)
    (root / "train").mkdir()
    (root / "train" / "dialogues.txt").write_bytes(b"")
    write_lines(root / "train" / "dialogues_act.txt", ["1 2"])
    return root


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The release has no newline after its last record.
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    return path


def write_scitldr(root: Path) -> Path:
    """The layout of github.com/allenai/scitldr: SciTLDR-Data/SciTLDR-<variant>/<split>.jsonl."""
    data = root / "SciTLDR-Data"
    write_jsonl(data / "SciTLDR-A" / "train.jsonl", SCITLDR_TRAIN)
    write_jsonl(data / "SciTLDR-A" / "dev.jsonl", SCITLDR_TRAIN[1:])
    write_jsonl(data / "SciTLDR-A" / "test.jsonl", SCITLDR_TEST)
    write_jsonl(data / "SciTLDR-AIC" / "test.jsonl", SCITLDR_TRAIN[:1])
    return root


def triples(data: list[Sample] | tuple[Sample, ...]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(s.id, s.source, s.references) for s in data]


def play_reference(env: gym.Env, sample_id: int) -> float:
    env.reset(options={"sample_id": sample_id})
    total, done = 0.0, False
    while not done:
        _, reward, done, _, _ = env.step(env.unwrapped.reference_action())
        total += reward
    return total


# ---------------------------------------------------------------------------- names
def test_corpus_names_families_and_options() -> None:
    assert {k: v[0] for k, v in LOCAL_CORPORA.items()} == {
        "multi30k": "translation", "dailydialog": "dialogue", "scitldr": "summarization",
    }  # fmt: skip
    assert local_corpus("multi30k").option == ("de", "en")
    assert local_corpus("multi30k:cs-fr").option == ("cs", "fr")
    assert local_corpus("scitldr").option == ("A",)
    assert local_corpus("scitldr:aic").option == ("AIC",)
    assert local_corpus("scitldr:FullText").option == ("FullText",)
    with pytest.raises(ValueError, match=r"'multi30k:de-ro': expected a language pair like "
                       r"'multi30k:de-en' of two of en, de, fr, cs"):  # fmt: skip
        local_corpus("multi30k:de-ro")
    with pytest.raises(ValueError, match=r"'multi30k:en-en': expected a language pair"):
        local_corpus("multi30k:en-en")
    with pytest.raises(ValueError, match=r"unknown SciTLDR variant 'B'; the variants are A, AIC"):
        local_corpus("scitldr:B")
    with pytest.raises(ValueError, match=r"corpus 'dailydialog' has no language pair or variant"):
        local_corpus("dailydialog:en")


# ---------------------------------------------------------------------------- Multi30k
def test_multi30k_pairs_splits_and_ids(tmp_path: Path) -> None:
    root = write_multi30k(tmp_path / "multi30k")
    train = as_dataset({"corpus": "multi30k:de-en", "path": str(root)})
    assert triples(train) == [
        ("train/0", "Zwei Hunde spielen im Schnee.", ("Two dogs play in the snow.",)),
        ("train/1", "Ein Mann fährt ein rotes Fahrrad.", ("A man rides a red bike.",)),
        ("train/2", "Ein Mädchen liest ein Buch.", ("A girl reads a book.",)),
    ]
    assert train[1].meta == {"row": 1}
    # The raw folder itself, the other direction, and another pair.
    raw = str(root / "data" / "task1" / "raw")
    val = as_dataset({"corpus": "multi30k:en-fr", "path": raw}, split="validation")
    assert triples(val) == [
        ("val/0", "A cat sleeps on a sofa.", ("Un chat dort sur un canapé.",)),
        ("val/1", "People walk down a busy street.", ("Des gens marchent dans une rue animée.",)),
    ]
    test = as_dataset({"corpus": "multi30k:cs-de", "path": raw, "split": "test"})
    assert triples(test) == [
        ("test_2016_flickr/0", "Chlapec skáče do jezera.", ("Ein Junge springt in einen See.",))
    ]
    # A raw test set by its own name; the spec's split wins over the env's.
    coco = as_dataset(
        {"corpus": "multi30k:en-de", "path": raw, "split": "test_2017_mscoco"}, split="train"
    )
    assert [s.id for s in coco] == ["test_2017_mscoco/0", "test_2017_mscoco/1"]
    assert coco[1].references == ("Ein Bus parkt an der Straße.",)
    # "multi30k" alone is de-en; max_samples keeps the first lines.
    first = as_dataset({"corpus": "multi30k", "path": str(root), "max_samples": 2})
    assert triples(first) == triples(train)[:2]


def test_multi30k_reads_gunzipped_files_too(tmp_path: Path) -> None:
    gz = write_multi30k(tmp_path / "gz")
    plain = write_multi30k(tmp_path / "plain", gz=False)
    for split in ("train", "validation", "test", "test_2017_mscoco"):
        spec = {"corpus": "multi30k:fr-en", "split": split}
        from_plain = as_dataset({**spec, "path": str(plain)})
        assert triples(from_plain) == triples(as_dataset({**spec, "path": str(gz)}))
    assert from_plain[1].references == ("A bus parked by the road.",)


def test_multi30k_missing_split_misaligned_files_and_empty_lines(tmp_path: Path) -> None:
    root = write_multi30k(tmp_path / "multi30k")
    raw = root / "data" / "task1" / "raw"
    expected = (
        f"multi30k:cs-en: no test_2017_mscoco split under {raw} (looked for "
        "test_2017_mscoco.cs.gz, test_2017_mscoco.cs); present: train, val, test_2016_flickr"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        as_dataset({"corpus": "multi30k:cs-en", "path": str(root), "split": "test_2017_mscoco"})
    expected = (
        f"multi30k: no test (test_2016_flickr) split under {raw} (looked for "
        "test_2016_flickr.de.gz, test_2016_flickr.de); present: train, val, test_2017_mscoco"
    )
    (raw / "test_2016_flickr.de.gz").unlink()
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        as_dataset({"corpus": "multi30k", "path": str(root)}, split="test")

    (raw / "val.de.gz").write_bytes(gzip.compress(b"Nur eine Zeile.\n"))
    expected = (
        f"multi30k:en-de: {raw / 'val.en.gz'} has 2 lines but {raw / 'val.de.gz'} has 1; "
        "the two files of a split must be line-aligned"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        as_dataset({"corpus": "multi30k:en-de", "path": str(root), "split": "validation"})

    (raw / "train.fr.gz").write_bytes(gzip.compress(b"Un.\n \nTrois.\n"))
    with pytest.raises(ValueError, match=re.escape(f"{raw / 'train.fr.gz'}: line 2 is empty")):
        as_dataset({"corpus": "multi30k:en-fr", "path": str(root)})
    with pytest.warns(UserWarning, match=r"skipped 1 invalid row\(s\).*line 2 is empty"):
        kept = as_dataset({"corpus": "multi30k:en-fr", "path": str(root), "skip_invalid": True})
    assert [(s.id, s.references) for s in kept] == [("train/0", ("Un.",)), ("train/2", ("Trois.",))]

    (raw / "train.en.gz").write_bytes(gzip.compress(b"Two dogs.\n"))
    (raw / "train.cs.gz").write_bytes(gzip.compress("Příliš\n".encode("cp1250")))
    with pytest.raises(ValueError, match=r"train.cs.gz: line 1: byte 0xf8 is not valid utf-8"):
        as_dataset({"corpus": "multi30k:cs-en", "path": str(root)})
    data = as_dataset({"corpus": "multi30k:cs-en", "path": str(root), "encoding": "cp1250"})
    assert triples(data) == [("train/0", "Příliš", ("Two dogs.",))]


# ---------------------------------------------------------------------------- DailyDialog
def test_dailydialog_laed_layout_samples_ids_and_labels(tmp_path: Path) -> None:
    root = write_laed_dailydialog(tmp_path / "dailydialog")
    data = as_dataset({"corpus": "dailydialog", "path": str(root)}, split="test")
    # Context: the previous 3 turns joined by newlines, as the Hub daily_dialog corpus has it.
    assert triples(data) == [
        ("test/0/1", "Can I help you ?", ("I ’ d like a coffee .",)),
        ("test/0/2", "Can I help you ?\nI ’ d like a coffee .", ("Small or large ?",)),
        ("test/0/3", "Can I help you ?\nI ’ d like a coffee .\nSmall or large ?",
         ("Large , please .",)),
        ("test/0/4", "I ’ d like a coffee .\nSmall or large ?\nLarge , please .",
         ("Here you are .",)),
        ("test/1/1", "Where is the bank ?", ("Next to the park .",)),
    ]  # fmt: skip
    # The reply turn's dialogue act (the act file only: no emotion file was written).
    assert [s.meta for s in data[3:]] == [
        {"row": 0, "turn": 4, "act": 1},
        {"row": 1, "turn": 1, "act": 1},
    ]
    short = as_dataset(
        {"corpus": "dailydialog", "path": str(root), "split": "test", "context_turns": 1,
         "turn_separator": " | ", "max_samples": 2}
    )  # fmt: skip
    assert triples(short) == [
        ("test/0/1", "Can I help you ?", ("I ’ d like a coffee .",)),
        ("test/0/2", "I ’ d like a coffee .", ("Small or large ?",)),
    ]
    validation = as_dataset({"corpus": "dailydialog", "path": str(root), "split": "validation"})
    assert triples(validation) == [
        ("validation/0/1", "Is it raining ?", ("Yes , take an umbrella .",))
    ]
    assert validation[0].meta == {"row": 0, "turn": 1}
    # The Hub name reads a path in the text format the same way.
    hub_name = as_dataset({"corpus": "daily_dialog", "path": str(root)}, split="test")
    assert triples(hub_name) == triples(data)


def test_dailydialog_missing_split_names_the_files_and_the_present_splits(tmp_path: Path) -> None:
    root = write_laed_dailydialog(tmp_path / "dailydialog")
    expected = (
        f"dailydialog: no train split under {root} (looked for train/dialogues.txt (an empty "
        "file), train/dialogues_train.txt, dialogues_train.txt); present: validation, test"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        as_dataset({"corpus": "dailydialog", "path": str(root)})  # the default split: train
    saved = tmp_path / "saved"
    (saved / "train").mkdir(parents=True)
    (saved / "dataset_dict.json").write_text('{"splits": ["train"]}', "utf-8")
    with pytest.raises(ValueError, match=r"present: none; this is a saved Hub dataset: read it "
                       r"with the corpus 'daily_dialog'$"):  # fmt: skip
        as_dataset({"corpus": "dailydialog", "path": str(saved)})
    with pytest.raises(FileNotFoundError, match=r"no such file or directory '.*/nowhere'"):
        as_dataset({"corpus": "dailydialog", "path": str(tmp_path / "nowhere")})


def test_dailydialog_ijcnlp_release_layout_and_single_files(tmp_path: Path) -> None:
    """ijcnlp_dailydialog: dialogues_text.txt (all) and <split>/dialogues_<split>.txt."""
    root = tmp_path / "ijcnlp_dailydialog"
    write_lines(root / "dialogues_text.txt", [*DIALOGUES_TEST, *DIALOGUES_VALIDATION])
    write_lines(root / "dialogues_act.txt", [*ACTS_TEST, "2 1"])
    write_lines(root / "dialogues_emotion.txt", ["0 0 0 0 4", "0 0", "0", "0 0"])
    write_lines(root / "test" / "dialogues_test.txt", DIALOGUES_TEST)
    write_lines(root / "test" / "dialogues_act_test.txt", ACTS_TEST)
    write_lines(root / "test" / "dialogues_emotion_test.txt", ["0 0 0 0 4", "0 0", "0"])
    (root / "train.zip").write_bytes(b"PK\x05\x06" + bytes(18))

    test = as_dataset({"corpus": "dailydialog", "path": str(root), "split": "test"})
    assert [s.id for s in test] == ["test/0/1", "test/0/2", "test/0/3", "test/0/4", "test/1/1"]
    assert test[3].meta == {"row": 0, "turn": 4, "act": 1, "emotion": 4}
    laed = write_laed_dailydialog(tmp_path / "laed")
    laed_test = as_dataset({"corpus": "dailydialog", "path": str(laed), "split": "test"})
    assert [(s.source, s.references) for s in test] == [(s.source, s.references) for s in laed_test]
    # One file is its own split: every dialogue of dialogues_text.txt, whatever `split` says.
    every = as_dataset(
        {"corpus": "dailydialog", "path": str(root / "dialogues_text.txt")}, split="test"
    )
    assert [s.id for s in every][-2:] == ["dialogues_text/1/1", "dialogues_text/3/1"]
    assert every[-1].references == ("Yes , take an umbrella .",)
    one = as_dataset({"corpus": "dailydialog", "path": str(root / "test" / "dialogues_test.txt")})
    assert triples(one) == triples(test)
    expected = (
        f"dailydialog: no train split under {root} (looked for train/dialogues.txt, "
        f"train/dialogues_train.txt, dialogues_train.txt); present: test; {root / 'train.zip'} "
        f"is still to be unzipped; {root / 'dialogues_text.txt'} holds every dialogue: pass it "
        "as 'path'"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        as_dataset({"corpus": "dailydialog", "path": str(root)}, split="train")


def test_dailydialog_invalid_dialogues(tmp_path: Path) -> None:
    file = write_lines(
        tmp_path / "dialogues.txt",
        ["Hi . __eou__ Hello . __eou__", "", "Tea ? __eou__  __eou__ Yes . __eou__",
         "Bye . __eou__ See you . __eou__"],
    )  # fmt: skip
    with pytest.raises(ValueError, match=re.escape(f"{file}: line 2 is empty")):
        as_dataset({"corpus": "dailydialog", "path": str(file)})
    with pytest.warns(UserWarning, match=r"skipped 2 invalid row\(s\).*line 2 is empty"):
        kept = as_dataset({"corpus": "dailydialog", "path": str(file), "skip_invalid": True})
    # The ids keep the dialogues' line numbers.
    assert triples(kept) == [
        (f"{tmp_path.name}/0/1", "Hi .", ("Hello .",)),
        (f"{tmp_path.name}/3/1", "Bye .", ("See you .",)),
    ]
    write_lines(tmp_path / "bad.txt", ["Tea ? __eou__  __eou__ Yes . __eou__"])
    with pytest.raises(ValueError, match=re.escape("bad.txt: line 1: turn 1 is empty")):
        as_dataset({"corpus": "dailydialog", "path": str(tmp_path / "bad.txt")})
    # A last turn without its marker is still a turn; labels not aligned with the dialogues
    # are left out with a warning, and a dialogue whose label count differs gets none.
    dd = write_lines(
        tmp_path / "dd" / "dialogues_test.txt", ["Hi . __eou__ Hello .", "A . __eou__ B . __eou__"]
    )
    write_lines(tmp_path / "dd" / "dialogues_act_test.txt", ["1 1"])
    write_lines(tmp_path / "dd" / "dialogues_emotion_test.txt", ["0 4", "0 0 0"])
    warning = r"dialogues_act_test.txt: not one line of integer labels per dialogue of "
    with pytest.warns(UserWarning, match=warning + r".*dialogues_test.txt; its act labels are"):
        data = as_dataset({"corpus": "dailydialog", "path": str(dd)})
    assert [(s.id, s.source, s.references, s.meta) for s in data] == [
        ("test/0/1", "Hi .", ("Hello .",), {"row": 0, "turn": 1, "emotion": 4}),
        ("test/1/1", "A .", ("B .",), {"row": 1, "turn": 1}),
    ]


# ---------------------------------------------------------------------------- SciTLDR
def test_scitldr_layouts_splits_and_variants(tmp_path: Path) -> None:
    root = write_scitldr(tmp_path / "scitldr")
    train = as_dataset({"corpus": "scitldr", "path": str(root)})
    assert triples(train) == [
        ("p-train-1", "We study sparse attention. It is fast. Results are strong.",
         ("Sparse attention is fast and strong.",)),
        ("p-train-2", "A new optimizer is proposed. It converges in fewer steps.",
         ("A faster-converging optimizer.",)),
    ]  # fmt: skip
    assert train[1].meta == {"row": 1}
    test = as_dataset({"corpus": "scitldr:A", "path": str(root / "SciTLDR-Data")}, split="test")
    assert triples(test) == [
        ("p-test-1", "Graph networks fail on long chains. We add skip edges.",
         ("Skip edges help graph networks on long chains.", "Graph networks with skip edges.",
          "Long chains need skip edges.")),
    ]  # fmt: skip
    folder = root / "SciTLDR-Data" / "SciTLDR-A"
    dev = as_dataset({"corpus": "scitldr", "path": str(folder), "split": "validation"})
    assert [s.id for s in dev] == ["p-train-2"]
    assert [s.id for s in as_dataset({"corpus": "scitldr", "path": str(folder), "split": "dev"})] \
        == ["p-train-2"]  # fmt: skip
    single = as_dataset({"corpus": "scitldr", "path": str(folder / "test.jsonl")})
    assert triples(single) == triples(test)
    aic = as_dataset({"corpus": "scitldr:AIC", "path": str(root), "split": "test"})
    assert [s.id for s in aic] == ["p-train-1"]


def test_scitldr_errors(tmp_path: Path) -> None:
    root = write_scitldr(tmp_path / "scitldr")
    aic = root / "SciTLDR-Data" / "SciTLDR-AIC"
    expected = (
        f"scitldr:AIC: no validation (dev) split under {aic} (looked for dev.jsonl); present: test"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        as_dataset({"corpus": "scitldr:AIC", "path": str(root), "split": "validation"})
    with pytest.raises(ValueError, match=r"no SciTLDR-FullText data under .*SciTLDR-FullText\)"):
        as_dataset({"corpus": "scitldr:FullText", "path": str(root)})
    with pytest.raises(ValueError, match=r"SciTLDR-A is the folder of another variant; this is "
                       "SciTLDR-AIC"):  # fmt: skip
        as_dataset({"corpus": "scitldr:AIC", "path": str(root / "SciTLDR-Data" / "SciTLDR-A")})
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [SCITLDR_TRAIN[0], {**SCITLDR_TRAIN[1], "target": "One TLDR."},
         {**SCITLDR_TEST[0], "target": []}, {"source": ["x"], "paper_id": "p"}],
    )  # fmt: skip
    with pytest.raises(ValueError, match=re.escape(f"{bad}: line 3: field 'target' has no TLDR")):
        as_dataset({"corpus": "scitldr", "path": str(bad)})
    with pytest.warns(UserWarning, match=r"skipped 2 invalid row\(s\)"):
        kept = as_dataset({"corpus": "scitldr", "path": str(bad), "skip_invalid": True})
    # A target given as one string is one TLDR.
    assert [(s.id, s.references) for s in kept] == [
        ("p-train-1", ("Sparse attention is fast and strong.",)),
        ("p-train-2", ("One TLDR.",)),
    ]


# ---------------------------------------------------------------------------- spec rules
def test_family_mismatch_and_keys_that_do_not_apply(tmp_path: Path) -> None:
    multi30k = str(write_multi30k(tmp_path / "multi30k"))
    with pytest.raises(ValueError, match=r"^data: 'multi30k:de-en' is a translation corpus; "
                       r"this is a summarization env$"):  # fmt: skip
        gym.make("TextSumm-v0", data={"corpus": "multi30k:de-en", "path": multi30k})
    dailydialog = str(write_laed_dailydialog(tmp_path / "dd"))
    with pytest.raises(ValueError, match=r"'daily_dialog' is a dialogue corpus; this is a "
                       "translation env"):  # fmt: skip
        gym.make("TextTrans-v0", data={"corpus": "daily_dialog", "path": dailydialog})
    with pytest.raises(ValueError, match=r"'scitldr' is a summarization corpus; this is a "
                       "dialogue env"):  # fmt: skip
        gym.make("TextDial-v0", data="scitldr")
    with pytest.raises(ValueError, match=r"key\(s\) 'source', 'streaming' do not apply to the "
                       r"local corpus 'multi30k'; its keys are corpus, path, split, encoding, "
                       r"max_samples, skip_invalid, lowercase$"):  # fmt: skip
        as_dataset({"corpus": "multi30k", "path": multi30k, "source": "en", "streaming": False})
    with pytest.raises(ValueError, match=r"'context_turns' do not apply"):
        as_dataset({"corpus": "scitldr", "path": multi30k, "context_turns": 2})
    with pytest.raises(ValueError, match=r"data\['context_turns'\]: expected an integer >= 1"):
        as_dataset({"corpus": "dailydialog", "path": dailydialog, "context_turns": 0})


def test_plain_names_read_the_default_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies = tmp_path / "copies"
    monkeypatch.setenv("TEXTGYM_DATA", str(copies))
    expected = (
        f"data: 'multi30k:en-de': no local copy at {copies / 'multi30k'} (the default, "
        f"$TEXTGYM_DATA/multi30k); get one with: git clone https://github.com/multi30k/dataset "
        f"{copies / 'multi30k'}; or give its folder: data={{'corpus': 'multi30k:en-de', "
        "'path': ...}"
    )
    with pytest.raises(FileNotFoundError, match=f"^{re.escape(expected)}$"):
        as_dataset("multi30k:en-de")
    write_multi30k(copies / "multi30k")
    env = gym.make("TextTrans-v0", data="multi30k:en-de", split="validation")
    _, info = env.reset(options={"sample_id": 1})
    assert (info["sample_id"], info["source"], info["references"]) == (
        "val/1", "People walk down a busy street.", ["Menschen gehen eine belebte Straße entlang."]
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"known corpus \(cnn_dailymail, xsum, wmt16, "
                       r"iwslt2017, daily_dialog, multi30k, dailydialog, scitldr\)\. Did you "
                       r"mean 'multi30k'\?"):  # fmt: skip
        as_dataset("multi30kk:en-de")
    with pytest.raises(ValueError, match=r"unknown corpus 'scitldrr'; known corpora: .*, "
                       "daily_dialog, multi30k, dailydialog, scitldr$"):  # fmt: skip
        as_dataset({"corpus": "scitldrr", "path": str(tmp_path)})


# ---------------------------------------------------------------------------- environments
def test_envs_build_reset_and_replay_on_the_corpora(tmp_path: Path) -> None:
    multi30k = str(write_multi30k(tmp_path / "multi30k"))
    scitldr = str(write_scitldr(tmp_path / "scitldr"))
    dailydialog = str(write_laed_dailydialog(tmp_path / "dailydialog"))
    cases = [
        ("TextTrans-v0", {"corpus": "multi30k:de-en", "path": multi30k},
         ("test_2016_flickr/0", "Ein Junge springt in einen See.", ["A boy jumps into a lake."])),
        ("TextSumm-v0", {"corpus": "scitldr", "path": scitldr},
         ("p-test-1", "Graph networks fail on long chains. We add skip edges.",
          ["Skip edges help graph networks on long chains.", "Graph networks with skip edges.",
           "Long chains need skip edges."])),
        ("TextDial-v0", {"corpus": "dailydialog", "path": dailydialog},
         ("test/0/1", "Can I help you ?", ["I ’ d like a coffee ."])),
    ]  # fmt: skip
    for env_id, spec, (sample_id, source, references) in cases:
        env = gym.make(env_id, data=spec, split="test")
        obs, info = env.reset(seed=0, options={"sample_id": 0})
        assert (info["sample_id"], info["source"], info["references"]) == (
            sample_id, source, references
        ), env_id  # fmt: skip
        assert env.observation_space.contains(obs)
        # The fitted word vocabulary spells every reference, so replaying one scores fully.
        assert play_reference(env, 0) == pytest.approx(1.0), env_id
        # The dict spec keeps the env a reloadable JSON config.
        again = gym.make(EnvSpec.from_json(env.spec.to_json()))
        assert again.unwrapped.dataset == env.unwrapped.dataset
        env.close()


# ---------------------------------------------------------------------------- real copies
@pytest.mark.skipif(not REAL.is_dir(), reason=f"no real corpus copies under {REAL}")
def test_real_copies_have_the_published_sizes() -> None:
    multi30k = REAL / "multi30k"
    if multi30k.is_dir():
        sizes = {
            split: len(as_dataset({"corpus": "multi30k:en-de", "path": str(multi30k)}, split=split))
            for split in ("train", "validation", "test", "test_2017_flickr", "test_2017_mscoco",
                          "test_2018_flickr")
        }  # fmt: skip
        assert sizes == {
            "train": 29000, "validation": 1014, "test": 1000, "test_2017_flickr": 1000,
            "test_2017_mscoco": 461, "test_2018_flickr": 1071,
        }  # fmt: skip
        assert len(as_dataset({"corpus": "multi30k:cs-fr", "path": str(multi30k)})) == 29000
    scitldr = REAL / "scitldr"
    if scitldr.is_dir():
        papers = {
            split: as_dataset({"corpus": "scitldr", "path": str(scitldr)}, split=split)
            for split in ("train", "validation", "test")
        }
        # 1991/618/617 newlines: the files end without one after their last record.
        assert {split: len(data) for split, data in papers.items()} == {
            "train": 1992, "validation": 619, "test": 618,
        }  # fmt: skip
        assert all(len(s.references) >= 2 for s in papers["test"])  # several TLDRs per paper
    dailydialog = REAL / "dailydialog"
    if dailydialog.is_dir():
        test = as_dataset({"corpus": "dailydialog", "path": str(dailydialog)}, split="test")
        assert len({s.meta["row"] for s in test}) == 1000  # dialogues, each with a reply
        assert len(test) == 6740  # reply turns: 7740 turns in 1000 dialogues
        assert test[0].id == "test/0/1" and test[0].meta["act"] in (1, 2, 3, 4)


def test_lowercase_option_lowercases_sources_and_references(tmp_path: Path) -> None:
    rows = [{"source": "Ein Mann LÄUFT.", "references": ["A Man runs.", "A MAN is running."]}]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    plain = as_dataset({"path": str(path)})
    lowered = as_dataset({"path": str(path), "lowercase": True})
    assert plain[0].source == "Ein Mann LÄUFT."
    assert lowered[0].source == "ein mann läuft."
    assert lowered[0].references == ("a man runs.", "a man is running.")
    assert lowered[0].id == plain[0].id
    with pytest.raises(ValueError, match=r"data\['lowercase'\]: expected True or False"):
        as_dataset({"path": str(path), "lowercase": "yes"})


def test_lowercase_keeps_hub_style_data_lazy_and_random_access(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    saved = tmp_path / "saved"
    datasets.Dataset.from_dict(
        {"doc": ["First DOC.", "Second Doc."], "summary": ["One.", "TWO."]}
    ).save_to_disk(str(saved))
    lowered = as_dataset(
        {"path": str(saved), "source": "doc", "references": "summary", "lowercase": True}
    )
    assert not isinstance(lowered, tuple)  # a view over the loader's random access
    assert len(lowered) == 2
    assert (lowered[1].source, lowered[1].references) == ("second doc.", ("two.",))
    assert [s.source for s in lowered[0:2]] == ["first doc.", "second doc."]

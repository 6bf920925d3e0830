"""Real text that no one on this project wrote, found on the machine, and offline-mode helpers.

* Translation: the German message catalogs (``.mo``) of GNU/Debian programs under
  ``/usr/share/locale/de/LC_MESSAGES`` are English -> German pairs written by translators.
  Absent on a machine without them, so tests using them skip there.
* Summarization: docstrings of the Python standard library, whose first line summarises the
  rest (PEP 257): body -> summary line. Always present.

No installed package ships a real parallel, summarization or dialogue corpus (checked:
sacrebleu, rouge-score, nltk without its data, datasets, transformers, scikit-learn); these two
sources are what the machine has.
"""

from __future__ import annotations

import importlib
import inspect
import re
import struct
from pathlib import Path

import pytest

LOCALE_DIR = Path("/usr/share/locale/de/LC_MESSAGES")
_PLAIN = re.compile(r"^[A-Za-z][A-Za-z ,'-]*[A-Za-z.]$")


def read_mo(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a GNU ``.mo`` catalog (format: GNU gettext manual, "MO Files")."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic == 0x950412DE else ">"
    _, count, originals, translations = struct.unpack(endian + "4I", data[4:20])
    pairs = {}
    for i in range(count):
        olen, ooff = struct.unpack(endian + "2I", data[originals + 8 * i : originals + 8 * i + 8])
        tlen, toff = struct.unpack(
            endian + "2I", data[translations + 8 * i : translations + 8 * i + 8]
        )
        try:
            source = data[ooff : ooff + olen].decode("utf-8")
            target = data[toff : toff + tlen].decode("utf-8")
        except UnicodeDecodeError:
            continue
        pairs[source] = target
    return pairs


def german_messages(limit: int = 200) -> list[tuple[str, str]]:
    """Up to ``limit`` (English, German) message pairs of 3-12 words without format codes.

    Skips the calling test when the catalogs are not on this machine.
    """
    pairs: dict[str, str] = {}
    for catalog in ("coreutils.mo", "grep.mo", "sed.mo", "tar.mo", "diffutils.mo", "apt.mo"):
        path = LOCALE_DIR / catalog
        if not path.is_file():
            continue
        for en, de in sorted(read_mo(path).items()):
            # A plural entry joins its forms with NUL; a translation may break its line.
            if _PLAIN.match(en) and not {"\x00", "\n"} & set(de) and 3 <= len(en.split()) <= 12:
                pairs.setdefault(en, de)
    if len(pairs) < 20:
        pytest.skip(f"no German message catalogs under {LOCALE_DIR} on this machine")
    return sorted(pairs.items())[:limit]


def stdlib_docstrings(limit: int = 100) -> list[tuple[str, str]]:
    """Up to ``limit`` (body, summary line) pairs from standard-library docstrings."""
    pairs: list[tuple[str, str]] = []
    for module_name in ("textwrap", "shutil", "json", "argparse", "fractions", "statistics",
                        "difflib", "heapq", "calendar", "pathlib", "string", "base64"):  # fmt: skip
        module = importlib.import_module(module_name)
        for _, obj in sorted(vars(module).items()):
            doc = inspect.getdoc(obj) if callable(obj) else None
            if not doc or getattr(obj, "__module__", None) != module_name:
                continue
            summary, _, body = doc.partition("\n\n")
            body = " ".join(body.split())
            summary = " ".join(summary.split())
            if 8 <= len(body.split()) <= 120 and 3 <= len(summary.split()) <= 25:
                pairs.append((body, summary))
    return pairs[:limit]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the Hugging Face Hub off, as on a machine without network.

    The libraries read the variables when imported, so their module constants are set too.
    """
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(name, "1")
    for module_name, attrs in (
        ("huggingface_hub.constants", ("HF_HUB_OFFLINE",)),
        ("datasets.config", ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")),
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for attr in attrs:
            monkeypatch.setattr(module, attr, True, raising=False)

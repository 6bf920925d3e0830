"""The documentation site: it builds in strict mode, and its generated pages are complete.

The build needs the ``docs`` extra (``pip install -e ".[docs]"``: mkdocs, mkdocstrings[python],
mkdocs-material); without it the build test skips. The README and data checks need nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from textgym.registration import ENV_IDS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FAMILY_PAGES = {
    "TextTrans": "environments/translation.html",
    "TextSumm": "environments/summarization.html",
    "TextDial": "environments/dialogue.html",
}


def _family_ids(prefix: str) -> list[str]:
    return [i for i in ENV_IDS if i.split("-")[0] == prefix]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason='needs the docs extra: pip install -e ".[docs]"')
    pytest.importorskip("mkdocstrings", reason='needs the docs extra: pip install -e ".[docs]"')
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # mkdocs-material's banner
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def test_site_builds_strict(site: Path) -> None:
    assert (site / "index.html").is_file()
    assert (site / "api" / "metrics.html").is_file()


@pytest.mark.parametrize("prefix", sorted(FAMILY_PAGES))
def test_family_page_lists_every_registered_id(site: Path, prefix: str) -> None:
    html = (site / FAMILY_PAGES[prefix]).read_text(encoding="utf-8")
    ids = _family_ids(prefix)
    assert ids
    missing = [env_id for env_id in ids if env_id not in html]
    assert not missing, f"{FAMILY_PAGES[prefix]} lacks {missing}"
    for section in ("Observation Space", "Action Space", "Rewards", "Episode End", "Arguments",
                    "Version History", "Scores"):  # fmt: skip
        assert section in html, section


def test_no_page_mentions_shared_notes(site: Path) -> None:
    for path in [*site.rglob("*.html"), *DOCS.rglob("*.md"), ROOT / "README.md"]:
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "/work/shared" not in text, path


def _readme_links() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"\]\(((?:\./)?docs/[^)\s]+)\)", text)


def test_readme_links_to_docs_point_at_files() -> None:
    links = _readme_links()
    assert links, "the README links to no docs page"
    missing = [link for link in links if not (ROOT / link.split("#", 1)[0]).is_file()]
    assert not missing, missing


def test_scores_cover_every_registered_id() -> None:
    # The family pages read docs/data/scores.json: regenerate it with docs/hooks/make_scores.py
    # after registering an id or changing a reward.
    data = json.loads((DOCS / "data" / "scores.json").read_text())
    assert sorted(data["ids"]) == sorted(ENV_IDS)


def test_docstring_floors_match_published_scores() -> None:
    # Each family docstring states its v1 floors; they must be the numbers of scores.json.
    from textgym.tasks.dialogue.env import TextDialEnv
    from textgym.tasks.summarization.env import TextSummEnv
    from textgym.tasks.translation.env import TextTransEnv

    order = ("empty", "constant", "copy_source", "copy_prefix", "shuffled_reference",
             "other_reference", "reference_junk")  # fmt: skip
    scores = json.loads((DOCS / "data" / "scores.json").read_text())["ids"]
    checked = 0
    for cls in (TextTransEnv, TextSummEnv, TextDialEnv):
        for env_id, values in re.findall(r"``([\w-]+)``: ([\d. /]+)\n", cls.__doc__ or ""):
            stated = [float(v) for v in values.split(" / ")]
            published = [round(scores[env_id]["floors"][name], 3) for name in order]
            assert stated == published, (env_id, stated, published)
            checked += 1
    assert checked >= 9

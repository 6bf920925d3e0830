"""MkDocs hook: the environment pages, generated from the env classes and the registration data.

For every family of :mod:`textgym.registration` it writes ``environments/<family>.md`` (the
family's ``family`` attribute: ``translation``, ``summarization``, ``dialogue``) from

- the env class's docstring sections (Description, Observation Space, Action Space, Rewards,
  Episode End, Arguments, Version History), Gymnasium-style;
- the registration data: every registered id of the family, its version and difficulty, the
  reward each version pays (``_VERSIONS``), what each version changed (default reward, reported
  metrics, embedded-data settings, compared field by field);
- each id's spaces, read from an instance (making an env takes milliseconds: no policy runs);
- the constructor's arguments (the ``Args`` of :class:`textgym.tasks.base.TaskEnv`, with the
  signature's defaults);
- the published scores: ``docs/data/scores.json`` (random, reference and floor scores of every
  id; ``docs/hooks/make_scores.py`` regenerates it) and the quick suites' ``results.json``
  under ``benchmarks/results/``.

It also fills the ``<!-- textgym:ids -->`` marker of ``environments/index.md`` with the table of
every registered id, and each ``<!-- textgym:modules PACKAGE [MODULE ...] -->`` line of the API
pages with a ``::: PACKAGE.MODULE`` block per public module of the package (the named ones
first, then the others in alphabetical order). Everything is read, nothing is timed or
sampled at random, so the pages are the same on every build. An id missing from
``scores.json`` is a warning, which fails ``mkdocs build --strict``: regenerate the file after
registering an id or changing a reward.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import logging
import re
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))
from griffe_roles import convert  # noqa: E402  (a sibling file, not a package)

log = logging.getLogger("mkdocs.hooks.textgym")

ROOT = Path(__file__).resolve().parents[2]
SCORES = ROOT / "docs" / "data" / "scores.json"
RESULTS = ROOT / "benchmarks" / "results"
MARKER = "<!-- textgym:ids -->"
#: Docstring sections rendered, in this order (the docstring's "Floors" section is replaced by
#: the generated scores, which cover every id).
SECTIONS = (
    "Description",
    "Observation Space",
    "Action Space",
    "Rewards",
    "Episode End",
    "Arguments",
    "Version History",
)
FLOOR_LABELS = {
    "empty": "empty",
    "constant": "constant",
    "copy_source": "copy source",
    "copy_prefix": "copy prefix",
    "shuffled_reference": "shuffled ref.",
    "other_reference": "other ref.",
    "reference_junk": "ref. + junk",
}


# --- reading ------------------------------------------------------------------------------


def _registration() -> Any:
    import textgym.registration as registration

    return registration


def _env_class(entry_point: str) -> type:
    module, name = entry_point.split(":")
    return getattr(importlib.import_module(module), name)


def families() -> dict[str, dict[str, Any]]:
    """Family name (``translation``...) -> prefix, class, entry points and description."""
    reg = _registration()
    out = {}
    for prefix, (entry_point, vector_entry_point, description) in reg._FAMILIES.items():
        cls = _env_class(entry_point)
        out[cls.family] = {
            "prefix": prefix,
            "cls": cls,
            "entry_point": entry_point,
            "vector_entry_point": vector_entry_point,
            "description": description,
        }
    return out


def family_ids(prefix: str) -> list[str]:
    """Every registered id of a family, in registration order."""
    reg = _registration()
    return [i for i in reg.ENV_IDS if re.fullmatch(rf"{prefix}(-[A-Za-z]+)?-v\d+", i)]


def _split_id(env_id: str) -> tuple[str, int]:
    match = re.fullmatch(r"[A-Za-z]+(-[A-Za-z]+)?-v(\d+)", env_id)
    assert match, env_id
    return (match.group(1) or ""), int(match.group(2))


def docstring_sections(cls: type) -> tuple[str, dict[str, str]]:
    """The summary line and the ``## Heading`` sections of a class docstring."""
    doc = convert(inspect.getdoc(cls) or "")
    summary, _, rest = doc.partition("\n")
    sections: dict[str, list[str]] = {}
    current = None
    for line in rest.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return summary.strip(), {k: "\n".join(v).strip() for k, v in sections.items()}


def spec_of(env_id: str) -> dict[str, Any]:
    """Spaces and lengths of one id, from an instance."""
    import gymnasium as gym

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the -v0 ids are out of date on purpose
        env = gym.make(env_id)
    try:
        base = env.unwrapped
        info = {
            "action_space": str(env.action_space),
            "observation_space": {k: tuple(v.shape) for k, v in env.observation_space.items()},
            "max_prompt_len": base.max_prompt_len,
            "max_new_tokens": base.max_new_tokens,
            "difficulty": base.difficulty,
            "reward": base.scorer.name,
            "metrics": ["score", *(s.name for s in base.report)],
        }
        return info
    finally:
        env.close()


def example(env_id: str) -> dict[str, Any]:
    """Validation sample 0 of an id: its source and references."""
    import gymnasium as gym

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id, split="validation")
    try:
        _, info = env.reset(seed=0, options={"sample_id": 0})
        return {"source": info["source"], "references": list(info["references"])}
    finally:
        env.close()


def task_arguments() -> list[tuple[str, str, str]]:
    """``(name, default, description)`` of every argument of the family constructors."""
    import griffe

    from textgym.tasks.base import TaskEnv

    doc = griffe.Docstring(
        convert(inspect.getdoc(TaskEnv) or ""), parser="google", parser_options={"warnings": False}
    )
    descriptions = {}
    for section in doc.parse():
        if section.kind.value == "parameters":
            descriptions = {p.name: " ".join(p.description.split()) for p in section.value}
    rows = []
    for name, parameter in inspect.signature(TaskEnv.__init__).parameters.items():
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        default = "" if parameter.default is inspect.Parameter.empty else repr(parameter.default)
        rows.append((name, default, descriptions.get(name, "")))
    return rows


def scores() -> dict[str, Any]:
    return json.loads(SCORES.read_text()) if SCORES.exists() else {"ids": {}}


def suite_summaries() -> list[tuple[str, dict[str, Any]]]:
    """``(folder, summary row)`` of every published suite's ``results.json``."""
    out = []
    for path in sorted(RESULTS.glob("*/results.json")):
        data = json.loads(path.read_text())
        for row in data.get("summaries", []):
            out.append((path.parent.relative_to(ROOT).as_posix(), row))
    return out


# --- rendering ----------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]], align: list[str] | None = None) -> str:
    align = align or ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _reward_text(reward: Any) -> str:
    if isinstance(reward, Mapping):
        return " + ".join(f"{w:g} {name}" for name, w in reward.items())
    return str(reward)


def _config_diff(old: Any, new: Any) -> list[str]:
    changes = []
    for level in new:
        if level not in old:
            changes.append(f"new difficulty `{level}`")
            continue
        for field in dataclasses.fields(new[level]):
            a, b = getattr(old[level], field.name), getattr(new[level], field.name)
            if a != b:
                changes.append(f"`{level}`: `{field.name}` {a!r} -> {b!r}")
    return changes


def version_history(family: dict[str, Any], notes: str) -> str:
    reg = _registration()
    cls, prefix = family["cls"], family["prefix"]
    bullets = {
        int(m.group(1)): " ".join(m.group(2).split())
        for m in re.finditer(r"^\* v(\d+): (.*?)(?=^\* v\d+:|\Z)", notes, re.M | re.S)
    }
    rows = []
    previous = None
    for version in sorted(reg._VERSIONS):
        settings = cls.version(version)
        ids = [i for i in family_ids(prefix) if _split_id(i)[1] == version]
        changes = []
        if previous is None:
            changes.append("initial release")
        else:
            if settings.default_reward != previous.default_reward:
                changes.append(
                    f"reward `{_reward_text(previous.default_reward)}` -> "
                    f"`{_reward_text(settings.default_reward)}`"
                )
            added = [m for m in settings.metric_names if m not in previous.metric_names]
            removed = [m for m in previous.metric_names if m not in settings.metric_names]
            if added or removed:
                changes.append(
                    "metrics "
                    + ", ".join([*(f"+`{m}`" for m in added), *(f"-`{m}`" for m in removed)])
                )
            data = _config_diff(previous.difficulties, settings.difficulties)
            changes.append("embedded data: " + "; ".join(data) if data else "same embedded data")
        why = bullets.get(version, "")
        status = "latest" if version == reg.LATEST_VERSION else "out of date (Gymnasium warns)"
        rows.append(
            [
                f"v{version}",
                "<br>".join(f"`{i}`" for i in ids),
                reg._VERSIONS[version][prefix],
                ", ".join(f"`{m}`" for m in ("score", *settings.metric_names)),
                "; ".join(changes),
                "" if previous is None and why.rstrip(".") == "initial release" else why,
                status,
            ]
        )
        previous = settings
    table = _table(
        ["version", "ids", "reward", "info metrics", "changes (registration)", "why", "status"],
        rows[::-1],
    )
    return (
        "Every registered version stays registered and returns what it always did; changing the "
        "reward, data or tokenisation of an id makes a new `-vN` "
        "(`textgym.registration._VERSIONS`, `TaskEnv.revisions`). Newest first:\n\n" + table
    )


def difficulty_table(family: dict[str, Any]) -> str:
    reg = _registration()
    configs = family["cls"].version(reg.LATEST_VERSION).difficulties
    levels = list(configs)
    fields = [f.name for f in dataclasses.fields(next(iter(configs.values())))]
    rows = [
        [f"`{name}`", *(repr(getattr(configs[lvl], name)) for lvl in levels)] for name in fields
    ]
    suffix = {"easy": "-Easy", "medium": "", "hard": "-Hard"}
    header = [
        "generator field",
        *(
            f"`{lvl}` ({family['prefix']}{suffix.get(lvl, '')}-v{reg.LATEST_VERSION})"
            for lvl in levels
        ),
    ]
    return (
        "The embedded generator's settings per `difficulty` (v"
        f"{reg.LATEST_VERSION}; override single fields with `data_config={{...}}`):\n\n"
        + _table(header, rows)
    )


def ids_table(family: dict[str, Any]) -> str:
    reg = _registration()
    rows = []
    for env_id in family_ids(family["prefix"]):
        spec = spec_of(env_id)
        _, version = _split_id(env_id)
        tags = [t for t, ids in (("BENCHMARK", reg.BENCHMARK), ("EASY", reg.EASY)) if env_id in ids]
        if version != reg.LATEST_VERSION:
            tags.append("out of date")
        obs = spec["observation_space"]
        rows.append(
            [
                f"`{env_id}`",
                spec["difficulty"],
                f"`{spec['reward']}`",
                f"`{spec['action_space']}`",
                obs["prompt_ids"][0],
                obs["generated_ids"][0],
                ", ".join(tags),
            ]
        )
    return _table(
        ["id", "difficulty", "reward", "action space", "prompt tokens", "max new tokens", "tags"],
        rows,
        ["---", "---", "---", "---", "---:", "---:", "---"],
    )


def scores_section(family: dict[str, Any]) -> str:
    data = scores()
    protocol = data.get("protocol", {})
    rows, floors, texts = [], [], []
    for env_id in family_ids(family["prefix"]):
        row = data["ids"].get(env_id)
        if row is None:
            log.warning(
                "docs/data/scores.json has no scores for %s: run "
                "`python docs/hooks/make_scores.py %s`",
                env_id,
                env_id,
            )
            rows.append([f"`{env_id}`", "not measured", "", "", "", ""])
            continue
        rnd, ref = row["random"], row["reference"]
        strongest, blind = row["strongest_floor"], row["strongest_blind_floor"]
        rows.append(
            [
                f"`{env_id}`",
                "1.000",
                f"{ref['mean']:.4f} ({ref['steps']:.1f} steps)",
                f"{rnd['mean']:.4f} ± {rnd['std']:.4f} ({rnd['steps']:.1f} steps)",
                f"{strongest['policy']} {strongest['score']:.3f}",
                f"{blind['policy']} {blind['score']:.3f}",
            ]
        )
        floors.append([f"`{env_id}`", *(f"{row['floors'][k]:.3f}" for k in FLOOR_LABELS)])
        texts.append(f"- `{env_id}`: {row['constant_text']!r}")
    command = protocol.get("command", "textgym baselines")
    intro = (
        f"Mean score on samples 0-{protocol.get('samples', 200) - 1} of the "
        f"{protocol.get('split', 'validation')} split, seed {protocol.get('seed', 0)} "
        f"(`{command}`; the published numbers are in `docs/data/scores.json`). The ceiling is "
        "the highest score a text can get; the reference policy "
        "(`env.unwrapped.reference_action()`) writes `references[0]` token by token; the random "
        "policy samples the action space (mean ± std over episodes). The floors are the "
        "degenerate policies of `textgym.bench.floors`, scored with the env's own reward (see "
        "[Validity floors](validity.md)); the strongest floor excludes `reference + junk`, and "
        "the strongest blind floor uses no knowledge of the answer."
    )
    return (
        intro
        + "\n\n"
        + _table(
            ["id", "ceiling", "reference", "random", "strongest floor", "strongest blind floor"],
            rows,
            ["---", "---:", "---:", "---:", "---", "---"],
        )
        + "\n\nEvery floor:\n\n"
        + _table(["id", *FLOOR_LABELS.values()], floors, ["---", *["---:"] * len(FLOOR_LABELS)])
        + "\n\nThe best input-independent text found for each id (the `constant` floor):\n\n"
        + "\n".join(texts)
    )


def results_section(family: dict[str, Any]) -> str:
    ids = set(family_ids(family["prefix"]))
    rows = [
        [
            f"`{row['env_id']}`",
            f"`{folder}`",
            row["algo"],
            row["n"],
            f"{row['mean']:.3f}",
            f"{row['iqm']:.3f}",
            f"[{row['ci'][0]:.3f}, {row['ci'][1]:.3f}]",
            f"{row['normalized_iqm']:.3f}",
        ]
        for folder, row in suite_summaries()
        if row["env_id"] in ids
    ]
    if not rows:
        return ""
    return (
        "Final validation score of the agents of the published suites (samples 0-199; "
        "normalised: random policy 0, reference 1 on the same episodes). The suite folders "
        "hold the full tables, the plots and the versions used; see "
        "[Research runs](../guides/research-runs.md).\n\n"
        + _table(
            ["id", "suite", "algorithm", "seeds", "mean", "IQM", "95% CI", "normalized IQM"],
            rows,
            ["---", "---", "---", "---:", "---:", "---:", "---", "---:"],
        )
    )


def arguments_section(family: dict[str, Any], text: str) -> str:
    cls = family["cls"]
    reg = _registration()
    latest = cls.version(reg.LATEST_VERSION)
    defaults = _table(
        ["family default", "value"],
        [
            ["prompt template", f"`{cls.default_prompt_template}`"],
            ["truncation side", f"`{cls.default_truncation_side}`"],
            ["difficulties", ", ".join(f"`{d}`" for d in latest.difficulties)],
            *(
                [f"reward (v{v})", f"`{_reward_text(cls.version(v).default_reward)}`"]
                for v in sorted(reg._VERSIONS)
            ),
        ],
    )
    args = _table(
        ["argument", "default", "description"],
        [[f"`{n}`", f"`{d}`" if d else "", desc] for n, d, desc in task_arguments()],
    )
    return (
        f"{text}\n\nAll arguments are keyword-only: `gym.make(ID, **kwargs)` passes them to "
        f"`{cls.__module__}.{cls.__name__}`.\n\n{defaults}\n\n{args}"
    )


def example_section(family: dict[str, Any]) -> str:
    reg = _registration()
    out = []
    for env_id in family_ids(family["prefix"]):
        if _split_id(env_id)[1] != reg.LATEST_VERSION:
            continue
        ex = example(env_id)
        refs = "\n".join(f"    reference {i}: {r}" for i, r in enumerate(ex["references"]))
        out.append(f"`{env_id}`, validation sample 0:\n\n    source: {ex['source']}\n{refs}")
    return "\n\n".join(out)


def family_page(name: str, family: dict[str, Any]) -> str:
    reg = _registration()
    cls, prefix = family["cls"], family["prefix"]
    summary, sections = docstring_sections(cls)
    latest = f"{prefix}-v{reg.LATEST_VERSION}"
    spec = spec_of(latest)
    obs = ", ".join(f"`{k}` {v}" for k, v in spec["observation_space"].items())
    overview = _table(
        ["", ""],
        [
            ["Environment class", f"`{cls.__module__}.{cls.__name__}`"],
            [
                "Make",
                f'`gym.make("{latest}")` (after `import textgym`) or '
                f'`gym.make("textgym:{latest}")`',
            ],
            [
                "Vector env",
                f'`gym.make_vec("{latest}", num_envs=N)` (`{family["vector_entry_point"]}`)',
            ],
            ["Action space", f"`{spec['action_space']}` ({latest}; per id below)"],
            ["Observation space", f"`Dict` of integer `Box` arrays: {obs}"],
            ["Reward", f"{reg._VERSIONS[reg.LATEST_VERSION][prefix]}, in [0, 1]"],
            ["Info metrics", ", ".join(f"`{m}`" for m in spec["metrics"])],
        ],
    )
    parts = [
        "<!-- Generated by docs/hooks/envs.py from the env class and textgym.registration. -->",
        f"# {name.capitalize()}: `{prefix}`",
        summary,
        overview,
        "## Registered ids",
        ids_table(family),
    ]
    for title in SECTIONS:
        body = sections.get(title, "")
        if title == "Arguments":
            body = arguments_section(family, body)
        elif title == "Version History":
            body = version_history(family, body)
        elif title == "Description":
            body = f"{body}\n\n{difficulty_table(family)}\n\n{example_section(family)}"
        if not body:
            log.warning("%s's docstring has no '## %s' section", cls.__name__, title)
            continue
        parts += [f"## {title}", body]
    parts += ["## Scores: ceiling, reference, random and floors", scores_section(family)]
    results = results_section(family)
    if results:
        parts += ["## Published agent results", results]
    return "\n\n".join(parts) + "\n"


def ids_overview() -> str:
    reg = _registration()
    fams = families()
    page_of = {f["prefix"]: name for name, f in fams.items()}
    rows = []
    for env_id, description in reg.ENV_IDS.items():
        prefix = env_id.split("-")[0]
        tags = [t for t, ids in (("BENCHMARK", reg.BENCHMARK), ("EASY", reg.EASY)) if env_id in ids]
        rows.append([f"[`{env_id}`]({page_of[prefix]}.md)", description, ", ".join(tags)])
    return _table(["id", "description", "tags"], rows)


# --- MkDocs events ------------------------------------------------------------------------

_PAGES: dict[str, str] = {}


def on_config(config: Any) -> Any:
    _PAGES.clear()
    for name, family in families().items():
        _PAGES[f"environments/{name}.md"] = family_page(name, family)
    return config


def on_files(files: Files, config: Any) -> Files:
    for src_uri, content in _PAGES.items():
        existing = files.get_file_from_path(src_uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, src_uri, content=content))
    return files


def api_modules(package: str, first: list[str]) -> str:
    """``::: package.module`` for every public module of a package, ``first`` ones first.

    Listing the files on disk keeps the API reference complete when a module is added, and
    never names one that is not there.
    """
    folder = ROOT.joinpath(*package.split("."))
    found = sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))
    missing = [name for name in first if name not in found]
    if missing:
        log.warning("API reference: %s has no module(s) %s", package, missing)
    ordered = [n for n in first if n in found] + [n for n in found if n not in first]
    return "\n\n".join(f"::: {package}.{name}" for name in ordered)


_MODULES = re.compile(r"^<!-- textgym:modules ([\w.]+)((?: \w+)*) -->$", re.M)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, ids_overview())
    return _MODULES.sub(lambda m: api_modules(m.group(1), m.group(2).split()), markdown)

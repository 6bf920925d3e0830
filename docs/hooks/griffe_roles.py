"""A griffe extension for the API reference: Sphinx cross-reference roles become code spans.

textgym's docstrings are Google style with Markdown-compatible double-backtick code, and some
name other objects with reStructuredText roles (``:class:`~textgym.data.Sample```), which
Markdown would print literally. This rewrites each role to a code span of its target (the last
dotted part when the target starts with ``~``), ``Layout::`` literal-block markers to a plain
colon and ``Example:`` sections to ``Examples:``; the docstrings in the source stay as they are.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|obj|exc|const):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    short, target = match.groups()
    target = target.strip()
    if "<" in target and target.endswith(">"):  # :class:`text <target>`
        target = target.split("<", 1)[0].strip()
    elif short:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def convert(text: str) -> str:
    """Rewrite the roles of one docstring (also used by the environment pages' hook)."""
    text = _ROLE.sub(_code, text)
    # "Layout::" + an indented block is a literal block in reST; Markdown reads the indented
    # block as code already, and the colon should print once.
    text = re.sub(r"(\S)::$", r"\1:", text, flags=re.MULTILINE)
    # Google style allows "Example:"; griffe parses doctests only under "Examples:" and would
    # read `d["a"]["b"]` in a plain admonition as a Markdown reference link.
    return re.sub(r"^(\s*)Example:[ \t]*$", r"\1Examples:", text, flags=re.MULTILINE)


class SphinxRolesToCode(griffe.Extension):
    """Rewrite every loaded object's docstring with :func:`convert`."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)

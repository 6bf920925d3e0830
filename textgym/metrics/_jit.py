"""When the string-path metrics use their compiled (numba) loops.

The token-id kernels of the vector env always load numba when it is installed: an env steps
millions of times. A metric called on strings may be called once, in a notebook, where
importing numba (about 0.3 s) would cost more than the call saves. :class:`AutoJit` therefore
waits, in its default mode, until numba is in the process anyway (another metric's or the
env's loops loaded it) or until this process has done enough work in Python to have paid for
the import; ``use(True)`` / ``use(False)`` force the choice (the tests run both routes).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable
from types import ModuleType

#: Longest text (in tokens) the compiled BLEU route takes (ROUGE's: ``rouge.TEXT_TOKENS``). Its
#: n-gram counting is quadratic in the text length: on sentence-length text it beats the Python
#: route, from about 50 tokens the Python route's cached reference tables win (measured for
#: the earlier compiled ROUGE counting, the same scheme, on 50-400-token texts: 1.3x slower warm
#: at 50 tokens, 6x at 400).
SHORT_TEXT_TOKENS = 40


class AutoJit:
    """Lazily chosen compiled loops of one metric.

    Args:
        module: Module of ``textgym.metrics`` holding the loops (it imports numba).
        feature: What uses them, for the error when ``use(True)`` finds no numba.
        after: Units of work done in Python (calls, words) after which the default mode
            imports numba itself.
    """

    def __init__(self, module: str, feature: str, after: int) -> None:
        self.module = module
        self.feature = feature
        self.after = after
        self.done = 0  # units of work done in Python, in the default mode
        self._forced: bool | None = None
        self._loops: ModuleType | None = None
        self._decided = False

    def use(self, enabled: bool | None) -> None:
        """``True``: the compiled loops (an ``ImportError`` naming the ``fast`` extra if
        numba is missing); ``False``: Python; ``None``: the default described above."""
        from .ngram_ids import load_jit

        self._forced = enabled
        self._loops = load_jit(enabled, self.module, self.feature) if enabled else None
        self._decided = enabled is not None

    def get(self, work: int = 1) -> ModuleType | None:
        """The loops to use for the next ``work`` units, or ``None`` for Python."""
        if not self._decided:
            if "numba" not in sys.modules and self.done + work <= self.after:
                self.done += work
                return None
            from .ngram_ids import load_jit

            self._loops = load_jit(None, self.module, self.feature)
            self._decided = True
        return self._loops


def as_integers(texts: Iterable[list[str]]) -> tuple[list[int], list[int]]:
    """The tokens of ``texts`` concatenated as small integers (equal tokens, equal integers),
    and the texts' bounds (text ``k`` is ``ids[bounds[k]:bounds[k + 1]]``): the input of the
    compiled BLEU loops."""
    tokens: list[str] = []
    bounds = [0]
    for text in texts:
        tokens += text
        bounds.append(len(tokens))
    index = dict(zip(dict.fromkeys(tokens), itertools.count()))
    return list(map(index.__getitem__, tokens)), bounds

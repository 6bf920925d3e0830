"""Command-line parsers for the benchmark scripts, built from their ``Args`` dataclasses.

Every script in ``benchmarks/`` keeps its settings in one dataclass; :func:`dataclass_parser`
turns it into an :mod:`argparse` parser (``--field-name`` for each field) so that a new field
is a new flag with nothing else to write, and all scripts read their flags the same way.

The scripts import this module as ``_cli``, a top-level name: they run as
``python benchmarks/X.py``, which puts ``benchmarks/`` first on ``sys.path``, and the tests
that import a script prepend that folder the same way. (``benchmarks/`` is not a package.)
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class _SequenceAction(argparse.Action):
    """Stores a list or tuple field's values in its default's container type.

    Args:
        option_strings: As for :class:`argparse.Action`.
        dest: As for :class:`argparse.Action`.
        sequence_type: ``list`` or ``tuple``: what the field holds, so that a tuple field given
            on the command line compares equal to its default. (Not ``container``: argparse sets
            that attribute on every action, to the group holding it.)
        flatten: Whether each value is itself a list (the comma-separated items of one
            command-line word, see :func:`_comma_items`) to be joined into one list.
        **kwargs: Passed on to :class:`argparse.Action` (``nargs``, ``type``, ``choices``...).
    """

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        sequence_type: Callable[[list[Any]], Any] = list,
        flatten: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.sequence_type = sequence_type
        self.flatten = flatten

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        items = [item for value in values for item in value] if self.flatten else list(values)
        setattr(namespace, self.dest, self.sequence_type(items))


def _comma_items(cast: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    """An argparse ``type`` that splits one command-line word on commas and casts each part.

    Empty parts are dropped, so ``0,1,`` is ``[0, 1]`` (as the scripts' former hand-written
    parsers read it).

    Args:
        cast: The element type, applied to each part.

    Returns:
        The converter, named after ``cast`` so that argparse's error for a bad value reads
        ``invalid int value: '0,x'``.
    """

    def split(raw: str) -> list[Any]:
        return [cast(part) for part in raw.split(",") if part]

    split.__name__ = getattr(cast, "__name__", repr(cast))
    return split


def _default(f: dataclasses.Field[Any]) -> Any:
    """The default value of a dataclass field (a fresh one where it has a factory)."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    # Every flag is optional, so a field without a default has nothing to fall back on.
    raise TypeError(f"field {f.name!r} has no default: a command-line flag needs one")


def dataclass_parser(
    cls: type[Any],
    *,
    description: str | None = None,
    skip: Collection[str] = (),
    types: Mapping[str, Callable[[str], Any]] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    comma_lists: bool = False,
) -> argparse.ArgumentParser:
    """An argument parser with one ``--field-name`` flag per field of the dataclass ``cls``.

    Each flag defaults to the field's default, and its kind follows from that default:

    * ``bool``: a ``store_true`` flag (``--name``/``--no-name`` when it defaults to True);
    * ``list`` or ``tuple``: ``nargs="+"``, each item cast to the type of the default's first
      element (``str`` for an empty default) and stored in the default's container type;
    * anything else: one value cast to the default's type.

    Parse with ``cls(**vars(parser.parse_args(argv)))``, or use :func:`parse_dataclass`.

    Args:
        cls: The dataclass (the class itself, not an instance).
        description: The parser's description (shown by ``--help``).
        skip: Fields without a flag; they keep their defaults.
        types: Per field, the type to cast values to, overriding the one inferred from the
            default: the element type for list and tuple fields. Required for a field whose
            default is ``None``.
        options: Per field, further keyword arguments for
            :meth:`argparse.ArgumentParser.add_argument` (``help``, ``choices``, ``metavar``).
        comma_lists: Also split each item of a list or tuple field on commas, so that
            ``--seeds 0,1,2`` reads as ``--seeds 0 1 2`` (both stay accepted).

    Returns:
        The parser.

    Raises:
        TypeError: A field has no default, or a ``None`` default and no entry in ``types``.
        ValueError: ``skip``, ``types`` or ``options`` names a field ``cls`` does not have
            (a typo there would otherwise silently leave a flag as it was).
    """
    types = dict(types or {})
    options = dict(options or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = (set(skip) | set(types) | set(options)) - names
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {sorted(unknown)}")
    parser = argparse.ArgumentParser(description=description)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = _default(f)
        extra = dict(options.get(f.name, {}))
        if isinstance(default, bool):
            # A flag that is on by default needs a way off: --name / --no-name.
            action = argparse.BooleanOptionalAction if default else "store_true"
            parser.add_argument(flag, action=action, default=default, **extra)
        elif isinstance(default, list | tuple):
            cast = types.get(f.name) or (type(default[0]) if default else str)
            parser.add_argument(
                flag,
                nargs="+",
                type=_comma_items(cast) if comma_lists else cast,
                default=default,
                action=_SequenceAction,
                sequence_type=type(default),
                flatten=comma_lists,
                **extra,
            )
        else:
            if default is None and f.name not in types:
                raise TypeError(f"field {f.name!r} defaults to None: give its type in types=")
            cast = types.get(f.name) or type(default)
            parser.add_argument(flag, type=cast, default=default, **extra)
    return parser


def parse_dataclass(cls: type[T], argv: Sequence[str] | None = None, **kwargs: Any) -> T:
    """Parse ``argv`` into an instance of the dataclass ``cls``.

    Args:
        cls: The dataclass.
        argv: The arguments, without the program name; ``None`` reads ``sys.argv[1:]``.
        **kwargs: Passed on to :func:`dataclass_parser` (``description``, ``skip``, ``types``,
            ``options``, ``comma_lists``).

    Returns:
        The instance: each field given on the command line or its default.

    Raises:
        SystemExit: An unknown argument or a bad value (argparse prints the usage and an
            error naming the argument), or ``--help``.
    """
    parser = dataclass_parser(cls, **kwargs)
    return cls(**vars(parser.parse_args(argv)))

"""Model-based rewards served by Ray actors: one model copy for every env of a Ray cluster.

``RayScorer("semantic")`` (or ``reward={"name": "semantic", "backend": "ray"}``) is a
:class:`~textgym.rewards.base.Scorer` whose work runs in a named Ray actor. Every process that
builds the same spec (each RLlib env runner, each ``textgym bench --backend ray`` worker, an env
unpickled anywhere in the cluster) looks the actor up by name (``get_if_exists``) and sends it
its texts, so the model is loaded once, in the actor, and the clients never import it. The env
pickles with the actor's name, not a handle or a model.

Results are those of the in-process scorer: the actor holds the same scorer (built from the
same spec) and runs, for each request, the very call the env would have made in-process
(``score``, a tracker's ``update``, ``score_batch``), so a request's texts are batched (and
padded) exactly as they would be in-process. Requests that arrive while the model is busy are
queued and run back to back in one round; their texts are not merged into one forward pass by
default, because a sentence embedding's floats depend (by about 1e-7) on the batch it is
computed in: on the batch size, the padding and the number of threads. ``batch_window_s``
merges the texts of the requests of one round into one ``score_batch`` call (more throughput
with many clients, scores within about 1e-6 of the in-process ones, no longer bit-identical).
Bit-identity also needs the same device and, on CPU, the same torch thread count as the
in-process scorer it is compared with (``threads``).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import importlib
import inspect
import itertools
import math
import os
import re
import sys
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from textgym._optional import require
from textgym.rewards.base import Scorer

#: The Ray namespace of the scorer actors: every job that uses it can reach them.
NAMESPACE = "textgym"
_FEATURE = "RayScorer (reward backend 'ray')"
_TRACKERS = 65536  # episodes kept by an actor; an evicted one is rebuilt from its references

RewardSpec = str | Callable[[], Scorer]


def build_scorer(reward: RewardSpec, options: Mapping[str, Any] | None = None) -> Scorer:
    """The in-process scorer a :class:`RayScorer` spec stands for (what its actor holds).

    Args:
        reward: A ``reward=`` string (``"semantic"``, ``"bleu"``...) or a factory that takes no
            arguments and returns a :class:`~textgym.rewards.base.Scorer` (a
            :class:`~textgym.rewards.learned.LearnedReward`, say).
        options: Keyword arguments of a model-based reward's class
            (:data:`~textgym.rewards.scorers.MODEL_REWARDS`), e.g. ``{"rescale": "affine"}``.

    Raises:
        TypeError: If the factory returns something that is not a scorer.
        ValueError: For an unknown name, or options given to a reward that takes none.
    """
    from textgym.rewards.scorers import MODEL_REWARDS, make_scorer

    if callable(reward) and not isinstance(reward, str):
        scorer = reward()
        if not isinstance(scorer, Scorer):
            raise TypeError(
                f"reward: the factory {reward!r} returned a {type(scorer).__name__}; expected "
                "a scorer (an object with name, score and start)"
            )
        return scorer
    if options:
        module_name, _, attr = MODEL_REWARDS[reward].partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
        return cls(**options)
    return make_scorer(reward)


def backend_scorer(spec: Mapping[str, Any]) -> Scorer:
    """The scorer of a ``reward={"name": ..., "backend": ..., **rest}`` dict.

    ``backend="ray"`` gives ``RayScorer(name, **rest)`` (``rest``: its keyword arguments and
    the reward's options); ``backend="local"`` the reward in this process, built with the
    options of ``rest``. Ray is imported only for ``"ray"``.

    Raises:
        ValueError: For a missing name or an unknown backend (and what :class:`RayScorer` or
            :func:`build_scorer` raise).
    """
    rest = dict(spec)
    backend, name = rest.pop("backend"), rest.pop("name", None)
    if not isinstance(name, str):
        raise ValueError(
            f"reward: {dict(spec)!r} needs the reward's name, e.g. "
            "{'name': 'semantic', 'backend': 'ray'}"
        )
    if backend == "ray":
        return RayScorer(name, **rest)
    if backend == "local":
        _check_spec(name, rest)
        return build_scorer(name, rest)
    raise ValueError(f"reward: backend {backend!r}; expected 'ray' or 'local'")


def _check_spec(reward: Any, options: Mapping[str, Any]) -> None:
    """Fail in the client, before any actor starts, on what can be checked without the model."""
    from textgym.rewards.scorers import MODEL_REWARDS, make_scorer

    if isinstance(reward, str):
        if options and reward not in MODEL_REWARDS:
            raise ValueError(
                f"reward: options {sorted(options)} only apply to the model-based rewards "
                f"({', '.join(MODEL_REWARDS)}), not to {reward!r}"
            )
        if reward not in MODEL_REWARDS:
            make_scorer(reward)  # a metric: cheap to build, and raises with close names
        elif options:
            # Unknown options (a misspelt RayScorer argument lands here too) fail here, not
            # after an actor has started; the classes import their models only when used.
            module_name, _, attr = MODEL_REWARDS[reward].partition(":")
            cls = getattr(importlib.import_module(module_name), attr)
            try:
                inspect.signature(cls).bind(**options)
            except TypeError as exc:
                raise TypeError(f"reward: options {sorted(options)} of {reward!r}: {exc}") from None
        return
    if not callable(reward):
        raise TypeError(
            f"reward: expected a reward name or a factory returning a scorer, got "
            f"{type(reward).__name__}"
        )
    if options:
        raise ValueError(
            f"reward: options {sorted(options)} cannot be passed to a factory; bind them with "
            "functools.partial"
        )


def _rss_bytes() -> int:
    """This process's resident memory (Linux /proc; elsewhere the peak, from getrusage)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _ScorerServer:
    """The actor: one scorer, fed requests in arrival order by one thread (async Ray actor).

    Requests are queued on the event loop and run in rounds by a single worker thread, so the
    model sees one call at a time (as in-process) while new requests keep arriving; see the
    module docstring for what a round does with and without ``batch_window_s``.
    """

    def __init__(
        self,
        reward: RewardSpec,
        options: Mapping[str, Any],
        batch_window_s: float | None,
        threads: int | None,
    ) -> None:
        self._window = batch_window_s
        self._error: tuple[str, str] | None = None
        self._trackers: OrderedDict[str, Any] = OrderedDict()
        self._pending: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Future[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1)
        self._counts = {"requests": 0, "rounds": 0, "scorer_calls": 0}
        try:
            if threads is not None:
                require("torch", _FEATURE).set_num_threads(threads)
            self._scorer = build_scorer(reward, options)
            # The semantic encoder loads on first use; load it now so that a bad model path
            # fails when the clients connect, and memory shows the model from the start.
            getattr(self._scorer, "encoder", None)
        except Exception as exc:  # reported to every client by describe(), then killed
            self._error = (type(exc).__name__, str(exc))

    async def describe(self) -> dict[str, Any]:
        """The scorer's name (or its build error), this process's id and memory, counters."""
        if self._error is not None:
            return {"error": self._error}
        torch = sys.modules.get("torch")
        return {
            "name": self._scorer.name,
            "pid": os.getpid(),
            "rss_bytes": _rss_bytes(),
            "threads": torch.get_num_threads() if torch is not None else None,
            "trackers": len(self._trackers),
            **self._counts,
        }

    async def score(self, text: str, references: list[str], source: str | None) -> float:
        return await self._submit(("score", text, references, source))

    async def update(self, key: str, text: str, references: list[str], source: str | None) -> float:
        return await self._submit(("update", text, references, source, key))

    async def score_batch(
        self, texts: list[str], references_list: list[list[str]], sources: list[str | None]
    ) -> list[float]:
        return await self._submit(("batch", texts, references_list, sources))

    # ------------------------------------------------------------------ queue
    async def _submit(self, request: tuple[Any, ...]) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        self._counts["requests"] += 1
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            if self._window:
                await asyncio.sleep(self._window)  # let the other clients' requests arrive
            batch, self._pending = self._pending, []
            self._counts["rounds"] += 1
            try:
                outcomes = await loop.run_in_executor(
                    self._executor, self._round, [request for request, _ in batch]
                )
            except Exception as exc:  # a bug here must not leave the clients waiting forever
                outcomes = [(False, exc)] * len(batch)
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if not future.done():
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)

    # ------------------------------------------------------------------ work (worker thread)
    def _round(self, requests: list[tuple[Any, ...]]) -> list[tuple[bool, Any]]:
        if self._window is not None and len(requests) > 1:
            merged = self._merged(requests)
            if merged is not None:
                return merged
        return [self._one(request) for request in requests]

    def _one(self, request: tuple[Any, ...]) -> tuple[bool, Any]:
        """The call the in-process env would have made for this request."""
        try:
            self._counts["scorer_calls"] += 1
            kind, *args = request
            if kind == "score":
                text, references, source = args
                return True, self._scorer.score(text, references, source=source)
            if kind == "update":
                text, references, source, key = args
                tracker = self._trackers.get(key)
                if tracker is None:
                    tracker = self._trackers[key] = self._scorer.start(references, source=source)
                    if len(self._trackers) > _TRACKERS:
                        self._trackers.popitem(last=False)
                else:
                    self._trackers.move_to_end(key)
                return True, tracker.update(text)
            texts, references_list, sources = args
            return True, self._score_batch(texts, references_list, sources)
        except Exception as exc:
            return False, exc

    def _score_batch(
        self, texts: list[str], references_list: list[list[str]], sources: list[str | None]
    ) -> list[float]:
        batch = getattr(self._scorer, "score_batch", None)
        if batch is None:
            return [
                self._scorer.score(t, r, source=s)
                for t, r, s in zip(texts, references_list, sources, strict=True)
            ]
        if "sources" in inspect.signature(batch).parameters:
            return list(batch(texts, references_list, sources=sources))
        return list(batch(texts, references_list))

    def _merged(self, requests: list[tuple[Any, ...]]) -> list[tuple[bool, Any]] | None:
        """Every text of the round in one ``score_batch`` call; ``None`` where that cannot be.

        A tracker's ``update(text)`` is scored as ``score(text)``: the same number for the
        model-based rewards, whose trackers keep no history.
        """
        if getattr(self._scorer, "score_batch", None) is None:
            return None
        texts: list[str] = []
        references: list[list[str]] = []
        sources: list[str | None] = []
        sizes: list[int | None] = []  # a batch request's length; None: one text
        for kind, *args in requests:
            if kind == "batch":
                texts += args[0]
                references += args[1]
                sources += args[2]
                sizes.append(len(args[0]))
            else:
                texts.append(args[0])
                references.append(args[1])
                sources.append(args[2])
                sizes.append(None)
        try:
            self._counts["scorer_calls"] += 1
            values = self._score_batch(texts, references, sources)
        except Exception:
            return None  # run them one by one: each request gets its own error, or a value
        outcomes: list[tuple[bool, Any]] = []
        start = 0
        for size in sizes:
            if size is None:
                outcomes.append((True, values[start]))
                start += 1
            else:
                outcomes.append((True, values[start : start + size]))
                start += size
        return outcomes


class _RemoteTracker:
    """An episode's tracker: its ``update`` runs the actor's tracker of the same episode."""

    def __init__(
        self, scorer: RayScorer, actor: int, references: Sequence[str], source: str | None
    ) -> None:
        self._scorer = scorer
        self._actor = actor
        self._key = scorer._episode_key()
        self._references = list(references)
        self._source = source
        self._text: str | None = None
        self._value = 0.0

    def update(self, text: str) -> float:
        # The in-process trackers return their last value for an unchanged text too.
        if text != self._text:
            self._value = float(
                self._scorer._call(
                    self._actor, "update", self._key, text, self._references, self._source
                )
            )
            self._text = text
        return self._value


class RayScorer:
    """A scorer whose model runs in a Ray actor shared by every process that builds it.

    Follows the :class:`~textgym.rewards.base.Scorer` protocol, so it is a ``reward=``: pass
    ``reward=RayScorer("semantic")``, or ``reward={"name": "semantic", "backend": "ray", ...}``
    (the dict keeps ``env.spec`` JSON-serialisable; its other keys are this class's keyword
    arguments and the reward's options). The actor is found by name or started on first use,
    in the :data:`NAMESPACE` namespace; it is detached by default, so that it outlives
    whichever env runner happened to start it (a named actor dies with its creator otherwise).
    Stop it with :meth:`close` (or ``ray.shutdown()`` of a local instance).

    Args:
        reward: A ``reward=`` name (``"semantic"``, see
            :data:`~textgym.rewards.scorers.MODEL_REWARDS`) or a picklable factory taking no
            arguments that returns a scorer, run in the actor: e.g.
            ``functools.partial(LearnedReward.from_classifier, "path/to/model")``, so that the
            model is loaded there and never pickled.
        pool_size: Number of actors (each with its own model copy) the requests are spread
            over; a client sends all of an episode's requests to one of them.
        batch_window_s: ``None`` (default): each request is scored as the in-process scorer
            would score it (bit-identical results). A number of seconds: the actor waits that
            long for other requests, then scores every text of the round in one batch (faster
            with many clients; results within about 1e-6 of the in-process ones).
        threads: Torch threads of the actor (``torch.set_num_threads``); default: as Ray sets
            them. CPU results are bit-identical only to an in-process scorer with as many
            threads.
        actor_name: Name of the actor (with ``-0``, ``-1``... appended per pool member);
            default: derived from the spec, so that equal specs share actors.
        namespace: Ray namespace of the actors.
        detached: Whether the actors outlive the job that started them.
        num_cpus: CPUs the actors reserve (0: they do not hold a CPU back from the runners).
        num_gpus: GPUs the actors reserve (give 1 to serve the model from a GPU).
        **options: The reward's options, e.g. ``device="cpu"`` or ``rescale="affine"`` for
            ``"semantic"`` (keyword arguments of its class).

    Raises:
        ImportError: If Ray is not installed (naming the ``textgym[ray]`` extra).
        TypeError: For a spec that is neither a name nor a factory, or an option the reward
            does not take.
        ValueError: For an unknown name or a bad argument. Errors the actor raises while
            building the scorer (a bad option value) are raised here too, as their own type.
    """

    def __init__(
        self,
        reward: RewardSpec = "semantic",
        *,
        pool_size: int = 1,
        batch_window_s: float | None = None,
        threads: int | None = None,
        actor_name: str | None = None,
        namespace: str = NAMESPACE,
        detached: bool = True,
        num_cpus: float = 0,
        num_gpus: float = 0,
        **options: Any,
    ) -> None:
        ray = require("ray", _FEATURE)
        _check_spec(reward, options)
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError(f"pool_size: expected an integer >= 1, got {pool_size!r}")
        if batch_window_s is not None and (
            isinstance(batch_window_s, bool)
            or not isinstance(batch_window_s, (int, float))
            or not math.isfinite(batch_window_s)
            or batch_window_s < 0
        ):
            raise ValueError(
                f"batch_window_s: expected None or seconds >= 0, got {batch_window_s!r}"
            )
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
        ):
            raise ValueError(f"threads: expected None or an integer >= 1, got {threads!r}")
        try:
            spec_bytes = ray.cloudpickle.dumps(
                (reward, sorted(options.items()), batch_window_s, threads)
            )
        except Exception as exc:
            raise TypeError(
                f"reward: the spec {reward!r} cannot be pickled for Ray: {exc}"
            ) from exc
        if actor_name is None:
            label = (
                re.sub(r"[^A-Za-z0-9_.-]+", "-", reward) if isinstance(reward, str) else "custom"
            )
            actor_name = f"textgym-scorer-{label}-{hashlib.sha1(spec_bytes).hexdigest()[:12]}"
        self.actor_names = tuple(f"{actor_name}-{i}" for i in range(pool_size))
        self.namespace = namespace
        self.batch_window_s = batch_window_s
        self._reward = reward
        self._init_args = (reward, dict(options), batch_window_s, threads)
        self._actor_options = {
            "num_cpus": num_cpus,
            "num_gpus": num_gpus,
            "lifetime": "detached" if detached else None,
        }
        self._handles: list[Any] | None = None
        self._client: tuple[int, str, itertools.count[int]] | None = None
        self._next_actor = itertools.count(os.getpid())  # clients start on different actors
        self.name = str(self._connect()[0]["name"])

    # ------------------------------------------------------------------ Scorer protocol
    def score(self, text: str, references: Sequence[str], source: str | None = None) -> float:
        """The reward of ``text``, from the actor (as the in-process scorer computes it)."""
        return float(self._call(self._pick(), "score", text, list(references), source))

    def start(self, references: Sequence[str], source: str | None = None) -> _RemoteTracker:
        """A tracker for one episode; its updates go to one actor, which tracks the episode."""
        return _RemoteTracker(self, self._pick(), references, source)

    def score_batch(
        self,
        texts: Sequence[str],
        references_list: Sequence[Sequence[str]],
        sources: Sequence[str | None] | None = None,
    ) -> list[float]:
        """The scorer's ``score_batch`` of these pairs, in one request.

        Raises:
            ValueError: If the lists differ in length.
        """
        if len(references_list) != len(texts) or len(sources or texts) != len(texts):
            raise ValueError(
                f"score_batch: {len(texts)} texts, {len(references_list)} reference lists"
                + ("" if sources is None else f" and {len(sources)} sources")
            )
        values = self._call(
            self._pick(),
            "score_batch",
            list(texts),
            [list(refs) for refs in references_list],
            [None] * len(texts) if sources is None else list(sources),
        )
        return [float(v) for v in values]

    # ------------------------------------------------------------------ actors
    def stats(self) -> list[dict[str, Any]]:
        """Each actor's scorer name, process id, resident memory (bytes) and request counts."""
        return self._connect()

    def close(self) -> None:
        """Kill the actors (for every client: the next request anywhere starts them again)."""
        ray = require("ray", _FEATURE)
        for handle in self._handles or self._lookup(ray):
            ray.kill(handle)
        self._handles = None

    def _lookup(self, ray: Any) -> list[Any]:
        handles = []
        for name in self.actor_names:
            with contextlib.suppress(ValueError):  # not started, or already gone
                handles.append(ray.get_actor(name, namespace=self.namespace))
        return handles

    def _connect(self) -> list[dict[str, Any]]:
        """Find or start the actors; their :meth:`_ScorerServer.describe`."""
        ray = require("ray", _FEATURE)
        server = ray.remote(_ScorerServer)
        handles = [
            server.options(
                name=name, namespace=self.namespace, get_if_exists=True, **self._actor_options
            ).remote(*self._init_args)
            for name in self.actor_names
        ]
        infos = ray.get([handle.describe.remote() for handle in handles])
        for info in infos:
            if "error" in info:
                for handle in handles:  # useless, and detached: they would stay
                    ray.kill(handle)
                kind, message = info["error"]
                # The actor's error as its own type where that is a built-in one (ValueError,
                # TypeError, ImportError, OSError...), so that callers catch what in-process
                # construction raises.
                error = getattr(builtins, kind, None)
                if not (isinstance(error, type) and issubclass(error, Exception)):
                    error, message = RuntimeError, f"{kind}: {message}"
                raise error(f"reward {self._reward!r} served by Ray could not be built: {message}")
        self._handles = handles
        return infos

    def _pick(self) -> int:
        return next(self._next_actor) % len(self.actor_names)

    def _episode_key(self) -> str:
        # Unique across the clients of an actor: a forked or unpickled copy takes a new prefix.
        if self._client is None or self._client[0] != os.getpid():
            self._client = (os.getpid(), uuid.uuid4().hex, itertools.count())
        return f"{self._client[1]}:{next(self._client[2])}"

    def _call(self, actor: int, method: str, *args: Any) -> Any:
        ray = require("ray", _FEATURE)
        for attempt in (0, 1):
            if self._handles is None:
                self._connect()
            assert self._handles is not None
            try:
                return ray.get(getattr(self._handles[actor], method).remote(*args))
            except ray.exceptions.RayTaskError as exc:
                # The scorer's own error (a reward outside [0, 1]...), without Ray's wrapping.
                raise (exc.cause if isinstance(exc.cause, Exception) else exc) from None
            except ray.exceptions.RayActorError:
                if attempt:
                    raise
                self._handles = None  # killed or lost with its node: start it again, once

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        # Handles and episode ids belong to this process; a copy looks the actors up again.
        state["_handles"] = None
        state["_client"] = None
        state["_next_actor"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._next_actor = itertools.count(os.getpid())

    def __repr__(self) -> str:
        return (
            f"RayScorer({self._reward!r}, actors={list(self.actor_names)!r}, "
            f"namespace={self.namespace!r}, batch_window_s={self.batch_window_s!r})"
        )

"""Compiled (numba) loops of the native vector env's own bookkeeping (:mod:`textgym.vector.env`).

Each function does in one call what the env's numpy code does in a dozen or more array
operations on a few rows (the episodes that start, the tokens appended in a step): at N=256 a
step makes over a hundred numpy calls, and their fixed cost, not the data, sets its pace. Same
arrays, same values; the parity tests run the env both ways (``jit=True`` and ``jit=False``).

Imported only when numba is installed (the ``fast`` extra).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def take_draws(rows, draw_pos, draws, slot_of, size, indices, slots):  # fmt: skip
    """The next buffered sample draw of each env of ``rows`` into ``indices`` and its slot into
    ``slots``; the number of those not in a slot yet (``slot_of`` -1).

    Returns -1, and consumes nothing, if an env of ``rows`` has no draw buffered (``size``: the
    buffer length): the caller refills those and calls again.
    """
    for b in range(rows.shape[0]):
        if draw_pos[rows[b]] >= size:
            return -1
    missing = 0
    for b in range(rows.shape[0]):
        r = rows[b]
        p = draw_pos[r]
        draw_pos[r] = p + 1
        index = draws[r, p]
        indices[b] = index
        slots[b] = slot_of[index]
        if slots[b] < 0:
            missing += 1
    return missing


@njit(cache=True, nogil=True)
def start_rows(
    rows, slot_ids, slot_prompt, slot_prompt_len, slot_truncated, slot_fast, prompt_ids,
    prompt_len, prompt_mask, truncated_prompt, generated, generated_mask, num_generated,
    text_stale, has_metrics, ended, score, fast, pad, incremental, kernel, fast_rows, fast_slots,
    slow_rows,
):  # fmt: skip
    """The array writes of starting episodes in ``rows`` on the samples in ``slot_ids``.

    With a ``kernel`` the rows it scores go to ``fast_rows`` / ``fast_slots`` and the rest to
    ``slow_rows`` (all rows without one); returns how many are fast. ``incremental``: the env
    keeps texts up to date itself (none is marked stale).
    """
    width = prompt_ids.shape[1]
    nf = 0
    ns = 0
    for b in range(rows.shape[0]):
        r, s = rows[b], slot_ids[b]
        length = slot_prompt_len[s]
        for j in range(width):
            prompt_ids[r, j] = slot_prompt[s, j]
            prompt_mask[r, j] = j < length
        prompt_len[r] = length
        truncated_prompt[r] = slot_truncated[s]
        for j in range(generated.shape[1]):
            generated[r, j] = pad
            generated_mask[r, j] = 0
        num_generated[r] = 0
        if not incremental:
            text_stale[r] = True
        has_metrics[r] = False
        ended[r] = False
        score[r] = 0.0
        is_fast = kernel and slot_fast[s]
        fast[r] = is_fast
        if is_fast:
            fast_rows[nf] = r
            fast_slots[nf] = s
            nf += 1
        else:
            slow_rows[ns] = r
            ns += 1
    return nf


@njit(cache=True, nogil=True)
def append_tokens(
    actions, restarting, generated, generated_mask, num_generated, text_stale,
    fast, eos, max_new_tokens, incremental, terminated, rows, fast_rows, slow_rows, counts,
):  # fmt: skip
    """Append each active env's action to its generation (EOS ends it instead).

    An env is active unless ``restarting`` (its episode starts this step). Writes
    ``terminated``, the appending ``rows`` and their split into ``fast_rows`` and ``slow_rows``
    by ``fast``; ``counts`` gets the three lengths. Texts are marked stale unless
    ``incremental`` (the env then extends them itself).
    """
    na = 0
    nf = 0
    ns = 0
    for i in range(actions.shape[0]):
        terminated[i] = False
        if restarting[i]:
            continue
        token = actions[i]
        if token == eos:
            terminated[i] = True
            continue
        p = num_generated[i]
        generated[i, p] = token
        generated_mask[i, p] = 1
        num_generated[i] = p + 1
        if not incremental:
            text_stale[i] = True
        if p + 1 >= max_new_tokens:
            terminated[i] = True
        rows[na] = i
        na += 1
        if fast[i]:
            fast_rows[nf] = i
            nf += 1
        else:
            slow_rows[ns] = i
            ns += 1
    counts[0] = na
    counts[1] = nf
    counts[2] = ns


@njit(cache=True, nogil=True)
def out_of_range(ids, size):  # fmt: skip
    """Whether an id of ``ids`` lies outside ``[0, size)``."""
    for i in range(ids.shape[0]):  # noqa: SIM110 (a loop that numba compiles, no generator)
        if ids[i] < 0 or ids[i] >= size:
            return True
    return False

"""Which deliveries to label next: an informative, deterministic sample.

Labels are most useful where they tell us something: every predicted category gets
its share (stratified), so a rare category is not drowned by the common one, and a
part of the queue goes to low-confidence predictions, where the rules are least sure.
The same candidates, seed and options always give the same queue (tests predict it).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LOW_CONFIDENCE = "low-confidence"


@dataclass(frozen=True, slots=True)
class Candidate:
    """An unlabelled failure and the rules' prediction for it."""

    delivery_id: str
    category: str
    score: int


@dataclass(frozen=True, slots=True)
class QueueItem:
    delivery_id: str
    category: str  # predicted
    score: int
    stratum: str  # the predicted category, or "low-confidence"
    why: str  # shown to the labeler: why this one is in the queue


def _quotas(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` as evenly as possible over strata no bigger than ``sizes``.

    Water-filling: a stratum with fewer items than its even share gives the rest to
    the others; leftovers of an uneven split go to strata in key order.
    """
    quotas = dict.fromkeys(sizes, 0)
    remaining = min(total, sum(sizes.values()))
    open_ = sorted(k for k, n in sizes.items() if n > 0)
    while remaining > 0 and open_:
        share, extra = divmod(remaining, len(open_))
        for i, key in enumerate(open_):
            want = share + (1 if i < extra else 0)
            take = min(want, sizes[key] - quotas[key])
            quotas[key] += take
            remaining -= take
        open_ = [k for k in open_ if quotas[k] < sizes[k]]
    return quotas


def stratified_sample(
    candidates: Iterable[Candidate],
    *,
    size: int,
    seed: int,
    low_confidence_below: int = 60,
    low_confidence_share: float = 0.25,
    categories: Sequence[str] | None = None,
) -> list[QueueItem]:
    """A queue of at most ``size`` distinct candidates.

    ``round(size * low_confidence_share)`` places go to candidates scored below
    ``low_confidence_below`` (any category); the rest are split evenly across the
    predicted categories (``categories`` fixes their order; others follow sorted),
    a category short of its share giving its places to the others; fewer
    low-confidence candidates than places leave those places to the strata. The
    result interleaves the strata (low-confidence first, then each category in turn),
    so the labeler sees a mix.
    """
    if size <= 0:
        return []
    pool = sorted({c.delivery_id: c for c in candidates}.values(), key=lambda c: c.delivery_id)
    rng = random.Random(seed)
    low = [c for c in pool if c.score < low_confidence_below]
    n_low = min(len(low), round(size * max(0.0, min(1.0, low_confidence_share))))
    picked_low = rng.sample(low, n_low)
    taken = {c.delivery_id for c in picked_low}

    by_category: dict[str, list[Candidate]] = {}
    for c in pool:
        if c.delivery_id not in taken:
            by_category.setdefault(c.category, []).append(c)
    order = list(categories or ())
    order += sorted(k for k in by_category if k not in order)
    quotas = _quotas({k: len(by_category.get(k, [])) for k in order}, size - n_low)
    strata: list[tuple[str, list[Candidate]]] = [(LOW_CONFIDENCE, picked_low)]
    for key in order:
        strata.append((key, rng.sample(by_category.get(key, []), quotas[key])))

    queue: list[QueueItem] = []
    depth = max((len(items) for _, items in strata), default=0)
    for i in range(depth):
        for stratum, items in strata:
            if i < len(items):
                c = items[i]
                why = (
                    f"low confidence: the rules score it {c.score}"
                    if stratum == LOW_CONFIDENCE
                    else f"sampled from predicted {stratum}"
                )
                queue.append(QueueItem(c.delivery_id, c.category, c.score, stratum, why))
    return queue

"""The labelling queue: stratified by predicted category plus low-confidence ones."""

from __future__ import annotations

from collections import Counter

import pytest

from intel.labels.sampling import LOW_CONFIDENCE, Candidate, _quotas, stratified_sample

CATS = ("transient-endpoint-down", "permanent-4xx", "rate-limited", "unknown")
T, P, R, U = CATS


def pool(spec: dict[str, tuple[int, int]]) -> list[Candidate]:
    """{category: (confident, low-confidence)} -> candidates with predictable ids."""
    out = []
    for cat, (high, low) in spec.items():
        out += [Candidate(f"{cat[:4]}-h{i:03d}", cat, 95) for i in range(high)]
        out += [Candidate(f"{cat[:4]}-l{i:03d}", cat, 30) for i in range(low)]
    return out


@pytest.mark.parametrize(
    ("sizes", "total", "expected"),
    [
        ({"a": 10, "b": 10, "c": 10}, 9, {"a": 3, "b": 3, "c": 3}),
        ({"a": 10, "b": 10, "c": 10}, 10, {"a": 4, "b": 3, "c": 3}),  # leftover: key order
        ({"a": 1, "b": 10, "c": 10}, 9, {"a": 1, "b": 4, "c": 4}),  # a short: others take it
        ({"a": 0, "b": 2, "c": 100}, 12, {"a": 0, "b": 2, "c": 10}),
        ({"a": 2, "b": 3}, 50, {"a": 2, "b": 3}),  # not enough at all
        ({}, 5, {}),
    ],
)
def test_quotas_water_fill(sizes, total, expected):
    assert _quotas(sizes, total) == expected


@pytest.mark.parametrize(
    ("spec", "size", "share", "want_strata"),
    [
        # even split across four categories, a quarter low-confidence
        ({T: (50, 10), P: (50, 10), R: (50, 10), U: (50, 10)}, 20, 0.25,
         {LOW_CONFIDENCE: 5, T: 4, P: 4, R: 4, U: 3}),
        # a dominant category does not drown the rare ones
        ({T: (900, 0), P: (3, 0), R: (2, 0), U: (40, 0)}, 20, 0.25,
         {T: 8, P: 3, R: 2, U: 7}),
        # no low-confidence candidates: their places go to the strata
        ({T: (10, 0), P: (10, 0)}, 8, 0.5, {T: 4, P: 4}),
        # share 0: pure stratification
        ({T: (5, 5), P: (5, 5)}, 6, 0.0, {T: 3, P: 3}),
        # only low-confidence predictions
        ({U: (0, 30)}, 10, 0.3, {LOW_CONFIDENCE: 3, U: 7}),
        # fewer candidates than places: all of them, once
        ({T: (2, 1), R: (1, 0)}, 50, 0.25, {LOW_CONFIDENCE: 1, T: 2, R: 1}),
    ],
    ids=["even", "rare-kept", "no-low", "no-share", "all-low", "short"],
)
def test_strata(spec, size, share, want_strata):
    queue = stratified_sample(pool(spec), size=size, seed=7, low_confidence_share=share,
                              low_confidence_below=60, categories=CATS)
    assert Counter(item.stratum for item in queue) == Counter(want_strata)
    assert len({item.delivery_id for item in queue}) == len(queue)
    for item in queue:
        if item.stratum == LOW_CONFIDENCE:
            assert item.score < 60 and "low confidence" in item.why
        else:
            assert item.category == item.stratum


def test_deterministic_for_a_seed_and_independent_of_input_order():
    candidates = pool({T: (30, 5), P: (30, 5), R: (4, 1), U: (30, 5)})
    first = stratified_sample(candidates, size=16, seed=3, categories=CATS)
    again = stratified_sample(list(reversed(candidates)), size=16, seed=3, categories=CATS)
    other = stratified_sample(candidates, size=16, seed=4, categories=CATS)
    assert first == again
    assert [i.delivery_id for i in first] != [i.delivery_id for i in other]


def test_queue_interleaves_strata():
    queue = stratified_sample(pool({T: (10, 0), P: (10, 0), R: (10, 0)}), size=6, seed=1,
                              low_confidence_share=0, categories=CATS)
    assert [item.stratum for item in queue] == [T, P, R, T, P, R]


def test_empty_and_zero():
    assert stratified_sample([], size=10, seed=1) == []
    assert stratified_sample(pool({T: (3, 0)}), size=0, seed=1) == []

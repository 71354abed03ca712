"""``max_shot_size``: the shots of one circuit split over several Dask tasks.

A circuit of ``shots`` shots with ``max_shot_size=m`` runs as
``ceil(shots / m)`` parts of at most ``m`` shots, in order.  Part 0 uses the
experiment's own seed (so a circuit that is not split gives a local run's
counts); part ``k > 0`` uses :func:`part_seed`, drawn from the experiment's
seed and ``k`` with numpy's ``SeedSequence``.  The merged counts and memory
(the parts' shots one after another) are therefore the same for the same
``seed_simulator`` and ``max_shot_size``, whatever the cluster; they are a
sample of the same distribution as a local run's, not equal to it.

Only per-shot data can be merged exactly.  A circuit with save instructions
(a saved statevector, probabilities or expectation value is one value of
the whole run, and after a mid-circuit measurement an average over its
shots) is refused with :class:`~svsim.exceptions.SimulatorError` when its
shots would be split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from svsim import engine
from svsim.exceptions import SimulatorError

__all__ = ["Part", "check_shot_split", "merge_parts", "part_seed", "split_shots"]


class Part(NamedTuple):
    """One circuit run on a worker: experiment ``experiment`` of the job, ``shots`` shots."""

    experiment: int
    shots: int
    seed: int


def part_seed(seed: int, part: int) -> int:
    """The seed of shot part ``part`` of an experiment seeded ``seed``: the seed
    itself for part 0, else 63 bits drawn from ``SeedSequence([seed, part])``."""
    if part == 0:
        return seed
    word = np.random.SeedSequence([seed, part]).generate_state(1, dtype=np.uint64)[0]
    return int(word) >> 1


def check_shot_split(circuits: Sequence[Any], shots: int, max_shot_size: int | None) -> None:
    """Refuse, before anything is sent, a circuit whose shots would be split but
    whose results are not all per-shot (it has save instructions)."""
    if max_shot_size is None or shots <= max_shot_size:
        return
    for circuit in circuits:
        if circuit.save_labels:
            labels = ", ".join(repr(label) for label in circuit.save_labels)
            raise SimulatorError(
                f"max_shot_size={max_shot_size} would split the {shots} shots of circuit "
                f"{circuit.name!r} over {math.ceil(shots / max_shot_size)} tasks, but its saved "
                f"values ({labels}) are one value of the whole run, which parts cannot merge "
                f"exactly; remove its save instructions, run it with max_shot_size=None or "
                f">= {shots}, or run it as its own job"
            )


def split_shots(seeds: Sequence[int], shots: int, max_shot_size: int | None) -> list[Part]:
    """Each experiment (with seed ``seeds[i]``) as its shot parts, in order."""
    size = shots if max_shot_size is None else min(max_shot_size, shots)
    count = math.ceil(shots / size)
    return [
        Part(index, min(size, shots - k * size), part_seed(seed, k))
        for index, seed in enumerate(seeds)
        for k in range(count)
    ]


def merge_parts(
    outputs: Sequence[engine.ExperimentOutput], parts: Sequence[Part], seeds: Sequence[int]
) -> list[engine.ExperimentOutput]:
    """One output per experiment: its parts' memory one after another, their shots
    and times added up, the experiment's own seed."""
    merged: list[list[engine.ExperimentOutput]] = [[] for _ in seeds]
    for out, part in zip(outputs, parts, strict=True):
        merged[part.experiment].append(out)
    result = []
    for index, group in enumerate(merged):
        if len(group) == 1:
            result.append(group[0])
            continue
        first = group[0]
        result.append(
            engine.ExperimentOutput(
                memory=np.concatenate([o.memory for o in group], axis=0),
                method=first.method,
                statevector=first.statevector,
                saves=first.saves,
                seed=seeds[index],
                shots=sum(o.shots for o in group),
                threads=first.threads,
                precision=first.precision,
                time_taken=sum(o.time_taken for o in group),
                fusion=first.fusion,
                ops_encoded=first.ops_encoded,
                ops_run=first.ops_run,
            )
        )
    return result

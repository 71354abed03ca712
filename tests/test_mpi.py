"""One statevector over MPI ranks (svsim.mpi), against the one-process run.

Each test launches ``mpiexec -n R python tests/mpi_worker.py CASE ...`` (R = 1,
2, 4; oversubscribed on small machines) and compares what every rank's job
returned with the same circuit run in this process: counts and memory
bit-identical for the same seed, states to 1e-10 (double) or 1e-4 (single).
Skipped, with the reason, where mpi4py or mpiexec is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import svsim

mpi4py = pytest.importorskip("mpi4py", reason="the mpi extra (mpi4py) is not installed")
MPIEXEC = shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))
if MPIEXEC is None:
    pytest.skip("no mpiexec on PATH (pip install mpich)", allow_module_level=True)

import mpi_worker  # noqa: E402  (tests/ is on sys.path: conftest.py)

WORKER = Path(mpi_worker.__file__)
TOL = {"double": 1e-10, "single": 1e-4}


def _oversubscribe() -> list[str]:
    out = subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True).stdout
    return ["--oversubscribe"] if "Open MPI" in out or "OpenRTE" in out else []


def launch(
    ranks: int, case: str, tmp_path: Path, *args: object, timeout: float = 300
) -> tuple[subprocess.CompletedProcess, list[dict]]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [MPIEXEC, *_oversubscribe(), "-n", str(ranks), sys.executable, str(WORKER)]
    proc = subprocess.run(
        [*command, case, str(tmp_path), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=WORKER.parent,
    )
    records = []
    for r in range(ranks):
        path = tmp_path / f"rank{r}.json"
        records.append(json.loads(path.read_text()) if path.exists() else None)
    return proc, records


def one_process(circuit: svsim.Circuit, precision: str, case: str) -> svsim.Result:
    # MPI runs one trajectory per shot; so does this reference, for the same draws.
    backend = svsim.BasicSimulator(precision=precision, shot_branching=False)
    shots = mpi_worker.SHOTS[case]
    return backend.run(circuit, shots=shots, seed_simulator=mpi_worker.SEED, memory=True).result()


def check_same(records: list[dict], expected: svsim.Result, precision: str, tmp_path: Path) -> None:
    data = expected.data(0)
    for record in records:
        assert record is not None
        assert record["counts"] == expected.get_counts()
        assert record["memory"] == expected.get_memory()
        np.testing.assert_allclose(
            record["probabilities"], data["probabilities"], atol=TOL[precision]
        )
        for label in ("xyz", "zz"):
            if label in data:
                assert abs(record[label] - data[label]) <= TOL[precision]
        assert record["has_state"] == (record["rank"] == 0 and "statevector" in data)
        if not record["has_state"]:
            assert "gather a statevector on rank 0 alone" in record["no_state"]
    if "statevector" in data:
        state = np.load(tmp_path / "statevector.npy")
        assert state.dtype == data["statevector"].dtype
        assert np.abs(state - data["statevector"]).max() <= TOL[precision]


@pytest.mark.parametrize("ranks", [1, 2, 4])
@pytest.mark.parametrize(
    ("num_qubits", "precision", "seed"),
    [(7, "double", 1), (7, "single", 2), (14, "double", 3), (15, "single", 4)],
)
def test_random_circuits_match_one_process(
    ranks: int, num_qubits: int, precision: str, seed: int, tmp_path: Path
) -> None:
    proc, records = launch(ranks, "random", tmp_path, num_qubits, precision, seed)
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = one_process(mpi_worker.random_case(num_qubits, seed), precision, "random")
    check_same(records, expected, precision, tmp_path)
    stats = records[0]["mpi"]
    assert stats["ranks"] == ranks
    if ranks > 1:
        assert stats["global_gates"] > 0 and stats["swaps"] > 0 and stats["bytes_sent"] > 0


@pytest.mark.parametrize("ranks", [2, 4])
def test_layered_circuit_exchanges_each_global_qubit_about_once(ranks: int, tmp_path: Path) -> None:
    """Gates that do not wait on a global qubit run ahead of those that do, so
    six layers of dense gates on every qubit bring each global qubit in once
    (and out again for the sampling), not once per layer."""
    proc, records = launch(ranks, "layers", tmp_path, 10, "double", 3)
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = one_process(mpi_worker.layers_case(10, 3), "double", "layers")
    check_same(records, expected, "double", tmp_path)
    global_qubits = ranks.bit_length() - 1
    assert records[0]["mpi"]["swaps"] <= 2 * global_qubits + 1


@pytest.mark.parametrize("ranks", [2, 4])
def test_relabelled_ranks_are_put_back_in_order(ranks: int, tmp_path: Path) -> None:
    proc, records = launch(ranks, "relabel", tmp_path, 8, "double", 0)
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = one_process(mpi_worker.relabel_case(8, 0), "double", "relabel")
    check_same(records, expected, "double", tmp_path)
    assert records[0]["mpi"]["relabels"] > 0
    if ranks == 4:
        assert records[0]["mpi"]["permutations"] == 1


@pytest.mark.parametrize("ranks", [2, 4])
@pytest.mark.parametrize("precision", ["double", "single"])
def test_mid_circuit_measurement_reset_conditions(
    ranks: int, precision: str, tmp_path: Path
) -> None:
    proc, records = launch(ranks, "midcircuit", tmp_path, 8, precision, 5)
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = one_process(mpi_worker.midcircuit_case(8, 5), precision, "midcircuit")
    assert expected.results[0].metadata["shot_method"] == "trajectory"
    check_same(records, expected, precision, tmp_path)


def test_rank_counts_that_are_not_a_power_of_two_are_refused(tmp_path: Path) -> None:
    proc, records = launch(3, "refuse", tmp_path, 10)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for record in records:
        assert "power of two" in record["refused"] and "mpiexec -n 2" in record["refused"]


def test_a_state_too_small_to_split_is_refused(tmp_path: Path) -> None:
    proc, records = launch(4, "refuse", tmp_path, 2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for record in records:
        assert "too few to split over 4 MPI ranks" in record["refused"]


def test_per_rank_memory_check_says_per_rank() -> None:
    from svsim.mpi.experiment import check_memory

    qc = svsim.Circuit(30).h(0)
    check_memory(qc, "double", 8 * 1024 + 64, ranks=2)  # 8 GiB a rank: fits
    with pytest.raises(svsim.SimulatorError, match="per MPI rank.*over 2 ranks"):
        check_memory(qc, "double", 4 * 1024, ranks=2)


def test_cancel_on_one_rank_cancels_every_rank(tmp_path: Path) -> None:
    proc, records = launch(2, "cancel", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert records[1]["cancel_returned"] is True
    assert [r["status"] for r in records] == ["CANCELLED", "CANCELLED"]
    assert all(r["progress"] < 0.9 for r in records)


def test_a_raising_rank_ends_every_rank_in_error_naming_it(tmp_path: Path) -> None:
    proc, records = launch(2, "raise", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [r["status"] for r in records] == ["ERROR", "ERROR"]
    assert "MPI rank 1 of 2 failed" in records[0]["error"]
    assert "injected failure" in records[0]["error"] and "injected failure" in records[1]["error"]


def test_a_dead_rank_aborts_the_mpi_job(tmp_path: Path) -> None:
    # The launcher ends the other ranks when one dies (documented in docs/cluster.md):
    # nothing is left waiting, and mpiexec reports the failure.
    proc, records = launch(2, "die", tmp_path, timeout=120)
    assert proc.returncode != 0
    assert records[1] is None


def test_cli_mpi_prints_the_one_process_counts_on_rank_0() -> None:
    svsim_cli = [sys.executable, "-m", "svsim", "run", "qv", "--qubits", "10", "--seed", "3"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    one = subprocess.run(
        [*svsim_cli, "--json"], capture_output=True, text=True, timeout=120, env=env
    )
    split = subprocess.run(
        [MPIEXEC, *_oversubscribe(), "-n", "2", *svsim_cli, "--json", "--mpi"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert one.returncode == 0 and split.returncode == 0, split.stderr[-3000:]
    one_counts = json.loads(one.stdout)["results"][0]["data"]["counts"]
    lines = [line for line in split.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # rank 0 alone prints
    assert json.loads(lines[0])["results"][0]["data"]["counts"] == one_counts


def test_docs_mpi_example_runs_under_mpiexec(tmp_path: Path) -> None:
    page = (Path(__file__).parent.parent / "docs" / "cluster.md").read_text()
    section = page.split("## One statevector over MPI", 1)[1]
    block = section.split("```py\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "script.py"
    script.write_text(block)
    proc = subprocess.run(
        [MPIEXEC, *_oversubscribe(), "-n", "2", sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(line for line in block.splitlines() if line.startswith("print("))
    shown = line.split("  # ", 1)[1].strip()  # what the print's comment says it shows
    # Every rank prints the same line (the two ranks' lines may arrive in one piece).
    assert proc.stdout.count(shown) == 2 and not proc.stdout.replace(shown, "").strip()

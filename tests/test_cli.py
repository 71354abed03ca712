"""The ``svsim`` command line: run, info and bench, through ``main()`` and as a process.

In-process calls of :func:`svsim.cli.main` cover the options and the bad
input; a few subprocesses check what only a real process shows (the entry
point, stdout holding nothing but JSON, exit codes, no traceback, and
cancellation with SIGINT).
"""

from __future__ import annotations

import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import svsim
from svsim import families
from svsim.cli import main
from svsim.cli import run as cli_run
from svsim.cli.bench import _bench_table
from svsim.cli.common import _format_seconds

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_process(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "svsim", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def api_result(name: str, qubits: int, shots: int, seed: int, depth: int | None = None, **kw):
    """What the Python API gives for the circuit `svsim run` builds with the same seed."""
    circuit = families.build(name, qubits, depth, seed)
    circuit.measure_all()
    backend = svsim.BasicSimulator(**kw)
    return backend.run(circuit, shots=shots, seed_simulator=seed).result(timeout=60)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]


# ------------------------------------------------------------------ svsim run


def test_run_json_in_a_process_matches_the_python_api():
    proc = run_process(
        "run", "random", "--qubits", "6", "--depth", "3", "--shots", "300", "--seed", "5", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # stdout is the JSON and nothing else
    result = svsim.Result.from_dict(data)
    expected = api_result("random", 6, 300, 5, depth=3)
    assert result.get_counts() == expected.get_counts()
    assert data["results"][0]["seed_simulator"] == 5
    assert data["results"][0]["shots"] == 300
    assert data["results"][0]["header"]["name"] == "random_6x3"
    assert data == json.loads(json.dumps(data))
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("name", "qubits", "depth"),
    [("ghz", 5, None), ("qft", 4, None), ("qv", 5, 3), ("random", 3, None)],
)
def test_run_json_matches_the_python_api(capsys, name, qubits, depth):
    argv = ["run", name, "--qubits", str(qubits), "--shots", "500", "--seed", "11", "--json"]
    if depth is not None:
        argv += ["--depth", str(depth)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    result = svsim.Result.from_dict(json.loads(out))
    expected = api_result(name, qubits, 500, 11, depth=depth)
    assert result.get_counts() == expected.get_counts()
    assert sum(result.get_counts().values()) == 500


def test_run_precision_and_threads_reach_the_result(capsys):
    argv = ["run", "ghz", "-n", "4", "--precision", "single", "--threads", "1", "--seed", "3"]
    assert main([*argv, "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)["results"][0]["metadata"]
    assert meta["precision"] == "single"
    assert meta["threads"] == 1


def test_run_summary(capsys):
    assert main(["run", "ghz", "--qubits", "6", "--shots", "400", "--seed", "2"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    counts = api_result("ghz", 6, 400, 2).get_counts()
    assert "ghz_6: 6 qubits, 6 gates, 6 measurements, 400 shots" in out
    assert "precision double" in out and "seed 2" in out
    assert "time" in out and "memory" in out and "1.0 KiB statevector" in out
    assert "2 distinct" in out
    for key, count in counts.items():
        assert any(line.split()[:2] == [key, str(count)] for line in out.splitlines())
    assert "running ghz_6" in captured.err
    assert "method statevector (sampling)" in out


def test_run_a_ghz_circuit_wider_than_memory_with_the_stabilizer_method(capsys):
    pytest.importorskip("stim", reason="needs Stim: pip install '.[stabilizer]'")
    assert main(["run", "ghz", "--qubits", "300", "--shots", "200", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "ghz_300: 300 qubits" in out and "method    stabilizer (Stim), seed 2" in out
    assert "2 distinct" in out and "for the tableau and the shots" in out
    # a statevector cannot be written for it, and other families still must fit
    for argv in (
        ["run", "ghz", "--qubits", "300", "--statevector", "state.npy"],
        ["run", "qft", "--qubits", "300"],
    ):
        assert main(argv) == 2
        assert "do not fit in memory" in capsys.readouterr().err


def test_run_default_seed_is_printed_and_reproduces(capsys):
    assert main(["run", "random", "-n", "4", "-d", "2", "--shots", "200"]) == 0
    out = capsys.readouterr().out
    seed = int(out.split("seed ")[1].split(",")[0])
    assert main(["run", "random", "-n", "4", "-d", "2", "--shots", "200", "--seed", str(seed)]) == 0
    again = capsys.readouterr().out
    assert out.split("outcomes")[1] == again.split("outcomes")[1]


def test_run_top_limits_the_outcomes_shown(capsys):
    assert main(["run", "qv", "-n", "6", "--seed", "1", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "top 3:" in out
    rows = out.split("top 3:")[1].strip().splitlines()
    assert len(rows) == 3
    shown = [int(row.split()[1]) for row in rows]
    assert shown == sorted(shown, reverse=True)


def test_run_plot_and_statevector(tmp_path, capsys):
    plot = tmp_path / "counts.png"
    state = tmp_path / "state.npy"
    argv = [
        "run",
        "qft",
        "-n",
        "5",
        "--seed",
        "4",
        "--plot",
        str(plot),
        "--statevector",
        str(state),
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert plot.stat().st_size > 1000
    assert plot.read_bytes().startswith(PNG_SIGNATURE)
    saved = np.load(state)
    expected = api_result("qft", 5, 1024, 4).get_statevector()
    np.testing.assert_allclose(saved, expected, atol=1e-12)
    assert str(plot) in err and str(state) in err


def test_run_plot_with_many_and_few_outcomes(tmp_path, capsys):
    for name, qubits in (("ghz", 1), ("random", 10)):
        plot = tmp_path / f"{name}.png"
        assert main(["run", name, "-n", str(qubits), "--seed", "1", "--plot", str(plot)]) == 0
        assert plot.read_bytes().startswith(PNG_SIGNATURE)
    capsys.readouterr()


def test_run_draws_a_tqdm_bar_on_a_terminal(monkeypatch, capsys):
    pytest.importorskip("tqdm")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["run", "random", "-n", "12", "-d", "20", "--seed", "1"]) == 0
    drawn = terminal.getvalue()
    assert "random_12x20" in drawn and "100%" in drawn
    assert "running" not in drawn  # the bar replaces the plain message
    assert "100%" not in capsys.readouterr().out


def test_run_without_tqdm_prints_a_plain_message(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `import tqdm` now fails
    assert main(["run", "ghz", "-n", "3", "--seed", "1"]) == 0
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert "running ghz_3" in line and "svsim[cli]" in line
    assert "ghz_3: 3 qubits" in captured.out


def test_plot_without_matplotlib_names_the_extra(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["run", "ghz", "--plot", str(tmp_path / "x.png")]) == 2
    line = one_line(capsys.readouterr().err)
    assert "matplotlib" in line and 'pip install "svsim[cli]"' in line
    assert not (tmp_path / "x.png").exists()


# ------------------------------------------------------------------ bad input


def _bad_inputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    folder = tmp_path / "folder.qasm"
    folder.mkdir()
    too_many = str(svsim.BasicSimulator().max_num_qubits + 1)
    return [
        (["run", "nope"], "unknown circuit 'nope'"),
        (["run", "ghz", "--qubits", "0"], "--qubits"),
        (["run", "ghz", "--qubits", "-3"], "--qubits"),
        (["run", "ghz", "--qubits", "x"], "expected an integer"),
        (["run", "qv", "--qubits", too_many], "do not fit in memory"),
        (["run", "qft", "--qubits", "500"], "do not fit in memory"),
        (["run", "ghz", "--shots", "0"], "--shots"),
        (["run", "random", "--depth", "0"], "--depth"),
        (["run", "ghz", "--depth", "3"], "takes no depth"),
        (["run", "ghz", "--threads", "-1"], "--threads"),
        (["run", "ghz", "--precision", "half"], "invalid choice"),
        (["run", "ghz", "--seed", "-1"], "--seed"),
        (["run", "ghz", "--seed", str(2**63)], "--seed"),
        (["run", str(tmp_path / "missing.qasm")], "cannot read"),
        (["run", str(folder)], "cannot read"),
        (["run", str(folder), "--qubits", "3"], "not to a QASM file"),
        (["run", "ghz", "--plot", str(tmp_path / "no" / "dir.png")], "does not exist"),
        (["run", "ghz", "--statevector", str(tmp_path)], "is a directory"),
        (["run"], "SPEC"),
        (["frobnicate"], "invalid choice"),
        (["bench", "--peers", "nosuchsim"], "unknown peer"),
        (["bench", "--peers", "no_such_module:Peer"], "cannot load peer 'no_such_module:Peer'"),
        (["run", "ghz", "--plot", ""], "--plot needs a file name"),
        (["run", "ghz", "--plot", "/proc/no-such-entry.png"], "cannot be written"),
    ]


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    for argv, message in _bad_inputs(tmp_path):
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        line = one_line(captured.err)
        assert message in line, (argv, line)
        assert captured.out == "", argv


def test_memory_hint_names_single_precision_only_where_it_fits(capsys):
    limit = svsim.BasicSimulator().max_num_qubits
    for qubits, hinted in ((limit + 1, True), (limit + 2, False)):
        assert main(["run", "qft", "--qubits", str(qubits)]) == 2
        assert ("try --precision single" in capsys.readouterr().err) is hinted


def test_warnings_are_one_line(capsys):
    assert main(["run", "ghz", "--qubits", "3", "--threads", "1000"]) == 0
    err = capsys.readouterr().err
    assert "svsim: max_parallel_threads=1000 is more than" in err and "UserWarning" not in err


def test_plot_format_follows_the_extension(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    for name, magic in (("counts.pdf", b"%PDF"), ("counts.png", b"\x89PNG")):
        assert main(["run", "ghz", "--qubits", "3", "--plot", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_bytes().startswith(magic)


def test_output_that_cannot_be_written_is_one_line_and_exit_1():
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "svsim.cli", "info"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 1
    assert one_line(proc.stderr) == "svsim: cannot write the output: No space left on device"


def test_bad_input_in_a_process(tmp_path):
    for argv in (["run", "nope"], ["run", "qft", "--qubits", "99"]):
        proc = run_process(*argv)
        assert proc.returncode == 2
        assert proc.stdout == ""
        one_line(proc.stderr)


# ------------------------------------------------------------------ QASM files

BELL_QASM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""

UNSUPPORTED_QASM = """OPENQASM 2.0;
include "qelib1.inc";
opaque mystery q;
qreg q[1];
mystery q[0];
"""


def _qasm_ready() -> bool:
    try:
        import qiskit  # noqa: F401
    except ImportError:
        return False
    return hasattr(svsim.Circuit, "from_qasm")


def test_qasm_file(tmp_path, capsys):
    path = tmp_path / "bell.qasm"
    path.write_text(BELL_QASM)
    code = main(["run", str(path), "--shots", "200", "--seed", "1", "--json"])
    captured = capsys.readouterr()
    if not _qasm_ready():
        assert code == 2
        assert 'pip install "svsim[qiskit]"' in one_line(captured.err)
        return
    assert code == 0, captured.err
    counts = svsim.Result.from_dict(json.loads(captured.out)).get_counts()
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 200


def test_unsupported_qasm_instruction(tmp_path, capsys):
    path = tmp_path / "odd.qasm"
    path.write_text(UNSUPPORTED_QASM)
    assert main(["run", str(path)]) == 2
    line = one_line(capsys.readouterr().err)
    assert str(path) in line or "svsim[qiskit]" in line


def test_qasm_without_a_reader_names_the_extra(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bell.qasm"
    path.write_text(BELL_QASM)
    monkeypatch.delattr(svsim.Circuit, "from_qasm", raising=False)
    assert main(["run", str(path)]) == 2
    assert 'pip install "svsim[qiskit]"' in one_line(capsys.readouterr().err)


def test_qasm_without_qiskit_names_the_extra(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bell.qasm"
    path.write_text(BELL_QASM)
    monkeypatch.setitem(sys.modules, "qiskit", None)
    assert main(["run", str(path)]) == 2
    assert 'pip install "svsim[qiskit]"' in one_line(capsys.readouterr().err)


# ------------------------------------------------------------------ cancellation


def test_sigint_cancels_a_long_run():
    argv = ["run", "random", "--qubits", "24", "--depth", "400", "--seed", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "svsim", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A child of a non-interactive shell may inherit SIGINT ignored; restore it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: queue.Queue[str] = queue.Queue()

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=30)  # the job is submitted and followed
        assert "running random_24x400" in first
        time.sleep(0.5)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
    err = first + "".join(lines.queue)
    assert code == 130, err
    assert "cancelling job" in err and "CANCELLED" in err
    assert "Traceback" not in err
    assert took < 10, f"cancelling took {took:.1f} s"
    assert proc.stdout is not None and proc.stdout.read() == ""


def test_keyboard_interrupt_cancels_the_job(monkeypatch, capsys):
    """The same path in-process: a Ctrl-C while following the job."""
    jobs = []
    real_run = svsim.BasicSimulator.run

    def run_and_keep(self, *args, **kwargs):
        job = real_run(self, *args, **kwargs)
        jobs.append(job)
        return job

    def interrupted(job, label):
        raise KeyboardInterrupt

    monkeypatch.setattr(svsim.BasicSimulator, "run", run_and_keep)
    monkeypatch.setattr(cli_run, "_follow", interrupted)
    assert main(["run", "random", "-n", "20", "-d", "200", "--seed", "1"]) == 130
    err = capsys.readouterr().err
    assert jobs[0].in_final_state()
    assert jobs[0].cancelled() or "already ended" in err
    assert "cancelling job" in err


# ------------------------------------------------------------------ svsim info


def test_info_in_a_process():
    script = shutil.which("svsim", path=os.path.dirname(sys.executable))
    command = [script] if script else [sys.executable, "-m", "svsim"]
    proc = subprocess.run([*command, "info"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"svsim {svsim.__version__}" in out
    build = svsim.build_info()
    assert f"{build['max_threads']} threads (svsim's thread pool)" in out
    assert f"SIMD {build['simd']}" in out
    assert "in double precision" in out and "in single precision" in out
    from svsim._qiskit_types import HAVE_QISKIT

    kind = "a Qiskit BackendV2" if HAVE_QISKIT else "numpy only (no Qiskit)"
    assert f"BasicSimulator ('basic_simulator'), {kind}" in out


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["version"] == svsim.__version__
    assert info["build"]["openmp"] == svsim.build_info()["openmp"]
    backend = info["backend"]
    assert backend["name"] == svsim.BasicSimulator().name == "basic_simulator"
    assert backend["qiskit_backend_v2"] == (info["extras"]["qiskit"] is not None)
    assert ("stabilizer" in backend["methods"]) == (info["extras"]["stim"] is not None)
    double = info["max_qubits"]["double"]["qubits"]
    single = info["max_qubits"]["single"]["qubits"]
    assert single == double + 1 or single == double  # one more qubit at half the size
    assert abs(double - svsim.BasicSimulator().max_num_qubits) <= 1  # free memory moves
    assert info["max_qubits"]["double"]["statevector_bytes"] == 16 << double


def test_help_version_and_no_command(capsys):
    assert main([]) == 0
    assert "svsim run ghz" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert svsim.__version__ in capsys.readouterr().out
    assert main(["run", "--help"]) == 0
    assert "--statevector" in capsys.readouterr().out


# ------------------------------------------------------------------ svsim bench


def _tiny_bench(monkeypatch):
    """Make `--quick` a few seconds: two small sizes, two families, one thread."""
    from svsim.bench import suite

    quick = suite.BenchConfig.quick.__func__

    def tiny(cls, **overrides):
        return quick(
            cls,
            qubits=[6, 8],
            families=["ghz", "qft"],
            sections=["family"],
            threads=[1],
            precisions=["double"],
            **overrides,
        )

    monkeypatch.setattr(suite.BenchConfig, "quick", classmethod(tiny))


def test_bench_quick(monkeypatch, tmp_path, capsys):
    pytest.importorskip("svsim.bench.suite")
    _tiny_bench(monkeypatch)
    out_dir = tmp_path / "bench"
    assert main(["bench", "--quick", "--peers", "svsim", "--out", str(out_dir)]) == 0
    captured = capsys.readouterr()
    results = json.loads((out_dir / "results.json").read_text())
    medians = {
        (r["family"], r["n"]): r["median_s"]
        for r in results["records"]
        if r["sim"] == "svsim" and r["section"] == "family"
    }
    assert set(medians) == {("ghz", 6), ("ghz", 8), ("qft", 6), ("qft", 8)}
    table = captured.out.splitlines()
    assert table[0].split()[:5] == ["circuit", "n", "precision", "thr", "svsim"]
    for (family, n), median in medians.items():
        row = next(line for line in table if line.split()[:2] == [family, str(n)])
        assert _format_seconds(median) in row
    plots = list((out_dir / "plots").glob("*.png"))
    assert plots and all(p.read_bytes().startswith(PNG_SIGNATURE) for p in plots)
    assert "results.json" in captured.err


def test_bench_table_ratios():
    record = {"section": "family", "family": "qft", "n": 20, "precision": "double", "threads": 2}
    results = {
        "records": [
            {**record, "sim": "svsim", "median_s": 0.5},
            {**record, "sim": "aer", "median_s": 2.0},
            {**record, "sim": "basic", "median_s": None},
            {**record, "section": "micro", "family": "h@q0", "sim": "svsim", "median_s": 1.0},
        ]
    }
    table = _bench_table(results)
    assert table[0].split() == [
        "circuit",
        "n",
        "precision",
        "thr",
        "svsim",
        "aer",
        "basic",
        "svsim/aer",
        "svsim/basic",
    ]
    assert table[2].split() == [
        "qft",
        "20",
        "double",
        "2",
        "500.0",
        "ms",
        "2.00",
        "s",
        "-",
        "0.25",
        "-",
    ]
    assert len(table) == 3  # header, rule, one row: the micro record is left out


def test_an_even_spread_of_outcomes_is_summed_up_not_listed(capsys):
    assert main(["run", "qft", "--qubits", "12", "--shots", "1000", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "distinct in 1000 shots, spread nearly evenly" in out and "entropy" in out
    assert "top 10:" not in out
    # a peaked distribution is still listed, and one qubit is "1 qubit"
    assert main(["run", "ghz", "--qubits", "1", "--shots", "10", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "ghz_1: 1 qubit, 1 gate, 1 measurement, 10 shots" in out and "top 2:" in out

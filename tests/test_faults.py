"""Faults: a kernel that fails, callbacks that raise, exit with jobs running,
closing a backend, and the memory limit wherever a state is made.

A failure ends only the job it happens in: the jobs queued around it run and
are right, and the backend goes on serving.  Interpreter exit and the memory
limit are tested in fresh interpreters (``subprocess``), where exit codes,
resource limits and peak memory can be observed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import svsim
from circuits import chain
from svsim import BasicSimulator, JobStatus, _core, engine
from svsim.backend import BasicProvider

WAIT = 60.0


def bell(name: str = "bell") -> svsim.Circuit:
    return svsim.Circuit(2, 2, name=name).h(0).cx(0, 1).measure([0, 1], [0, 1])


def basis(n: int, value: int, name: str | None = None) -> svsim.Circuit:
    qc = svsim.Circuit(n, name=name or f"basis{value}")
    for q in range(n):
        if value >> q & 1:
            qc.x(q)
    return qc.measure_all()


def script(*parts: str) -> str:
    """Python source from indented pieces (each dedented on its own)."""
    return "\n".join(textwrap.dedent(part) for part in parts)


def run_python(code: str, timeout: float = 60.0) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``code`` in a fresh interpreter; its result and how long it took."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc, time.monotonic() - start


def assert_no_crash(stderr: str) -> None:
    for sign in ("Fatal Python error", "terminate called", "Segmentation fault", "Aborted"):
        assert sign not in stderr, stderr


# ---------------------------------------------------------------- a failing kernel


def test_allocation_refused_by_the_os_ends_only_that_job():
    """Under an address-space limit the kernel's allocation of a 1 GiB state fails
    (std::bad_alloc in C++).  That job ends ERROR with a SimulatorError saying so;
    the job queued before it and the one queued after it are DONE and right."""
    code = """
        import json, resource
        import svsim

        def vm_bytes():
            for line in open("/proc/self/status"):
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024

        backend = svsim.BasicSimulator(max_memory_mb=8192, max_parallel_threads=1)
        backend.run(svsim.Circuit(1), shots=1).result()  # worker thread started
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + (256 << 20), hard))
        small = svsim.Circuit(3, 3).x(0).x(2).measure([0, 1, 2], [0, 1, 2])
        before = backend.run(small, shots=5)
        huge = backend.run(svsim.Circuit(26).h(0), shots=1)  # 1 GiB of complex128
        after = backend.run(small, shots=7)
        out = {"before": before.result(60).get_counts(), "after": after.result(60).get_counts()}
        try:
            huge.result(60)
        except svsim.JobError as exc:
            out["error"] = [type(exc.__cause__).__name__, str(exc.__cause__)]
        out["status"] = huge.status().name
        print(json.dumps(out))
    """
    proc, _ = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert_no_crash(proc.stderr)
    out = json.loads(proc.stdout)
    assert out["status"] == "ERROR"
    assert out["error"][0] == "SimulatorError"
    assert "could not allocate" in out["error"][1] and "precision='single'" in out["error"][1]
    assert out["before"] == {"101": 5} and out["after"] == {"101": 7}


def test_kernel_exception_ends_only_that_job(monkeypatch):
    """Whatever the kernel raises (here MemoryError and RuntimeError, injected for
    circuits so named) ends that job in ERROR, chained to the cause; the jobs
    queued around it on the same worker run and are right."""
    real_run = _core.run

    def flaky_run(*args, **kwargs):
        num_qubits = args[3]
        if num_qubits == 5:
            raise MemoryError("allocation refused")
        if num_qubits == 6:
            raise RuntimeError("kernel fault")
        return real_run(*args, **kwargs)

    monkeypatch.setattr(_core, "run", flaky_run)
    backend = BasicSimulator()
    gate = threading.Event()
    backend.executor.submit(gate.wait, WAIT)  # hold the worker so all queue up
    jobs = [
        backend.run(basis(3, 5), shots=4),
        backend.run(basis(5, 9), shots=4),
        backend.run(basis(4, 3), shots=4),
        backend.run([basis(3, 1), basis(6, 2)], shots=4),  # fails in its second circuit
        backend.run(basis(3, 6), shots=4),
    ]
    gate.set()
    assert jobs[0].result(WAIT).get_counts() == {"101": 4}
    assert jobs[2].result(WAIT).get_counts() == {"0011": 4}
    assert jobs[4].result(WAIT).get_counts() == {"110": 4}
    for job, cause, text in (
        (jobs[1], MemoryError, "allocation"),
        (jobs[3], RuntimeError, "fault"),
    ):
        with pytest.raises(svsim.JobError, match=text) as info:
            job.result(WAIT)
        assert isinstance(info.value.__cause__, cause)
        assert job.status() is JobStatus.ERROR and job.cancel() is False
    assert backend.jobs() == []


def test_failed_job_lets_go_of_its_work_without_the_garbage_collector(monkeypatch):
    """A failure's traceback keeps the frames that ran the job's work, and their
    callers; none of svsim's may hold the work (here its initial statevector)
    once the job is final.  (A tiny job runs inside run(), whose frame holds
    the caller's arguments for as long as the error's traceback lives.)"""
    import gc
    import weakref

    given: list[weakref.ref] = []

    def failing(circuit, **kwargs):
        given.append(weakref.ref(kwargs["initial_statevector"]))
        raise MemoryError("allocation refused")

    monkeypatch.setattr(engine, "run_experiment", failing)
    initial = np.zeros(1 << 12, dtype=complex)
    initial[0] = 1.0
    backend = BasicSimulator()
    gc.disable()
    try:
        for where in ("worker", "caller"):  # queued behind a busy worker; held, run by result()
            if where == "worker":
                backend.executor.submit(time.sleep, 0.05)
            job = backend.run(
                chain(12, 40).measure_all(), shots=4, initial_statevector=initial.copy()
            )
            with pytest.raises(svsim.JobError, match="allocation"):
                job.result(WAIT if where == "worker" else None)
            assert job.status() is JobStatus.ERROR
            assert given[-1]() is None, where
        # Ctrl-C in a job the caller runs: the interrupt goes on, its traceback kept
        # (as a REPL keeps the last one), and still no frame holds the work.
        monkeypatch.setattr(engine, "run_experiment", interrupted(given))
        job = backend.run(chain(12, 40).measure_all(), shots=4, initial_statevector=initial.copy())
        with pytest.raises(KeyboardInterrupt) as caught:
            job.result()
        assert job.status() is JobStatus.CANCELLED and given[-1]() is None
        del caught
    finally:
        gc.enable()
    backend.close()


def interrupted(given: list) -> Callable[..., Any]:
    """A kernel call that records its initial statevector and meets a Ctrl-C."""
    import weakref

    def run(circuit: svsim.Circuit, **kwargs: Any) -> Any:
        given.append(weakref.ref(kwargs["initial_statevector"]))
        raise KeyboardInterrupt

    return run


def test_failure_while_building_the_result_ends_the_job_in_error(monkeypatch):
    from svsim import work as work_module

    real = work_module.result_from_outputs

    def broken(outputs, circuits, **kwargs):
        if circuits[0].name == "broken":
            raise ValueError("cannot build this result")
        return real(outputs, circuits, **kwargs)

    monkeypatch.setattr(work_module, "result_from_outputs", broken)
    backend = BasicSimulator()
    bad = backend.run(bell("broken"), shots=3)
    good = backend.run(bell(), shots=3)
    with pytest.raises(svsim.JobError, match="cannot build") as info:
        bad.result(WAIT)
    assert isinstance(info.value.__cause__, ValueError)
    assert sum(good.result(WAIT).get_counts().values()) == 3


# ---------------------------------------------------------------- callbacks


@pytest.mark.parametrize("error", [RuntimeError("callback bug"), KeyboardInterrupt()])
def test_raising_callback_reaches_its_caller_and_leaves_the_job_running(error):
    """A ``wait_for_final_state`` callback that raises stops that wait (the
    exception is the caller's, as in Qiskit) and nothing else: the job runs to
    its end and the backend serves the next job."""
    backend = BasicSimulator(max_parallel_threads=1)
    job = backend.run(chain(18, 1200, name="long"), shots=1)

    def callback(job_id, status, job):
        raise error

    with pytest.raises(type(error)):
        job.wait_for_final_state(timeout=WAIT, wait=0.001, callback=callback)
    assert not job.in_final_state() or job.done()
    assert job.result(WAIT).get_statevector().shape == (1 << 18,)
    assert job.status() is JobStatus.DONE
    assert backend.run(bell(), shots=5).result(WAIT).get_counts()


def test_callback_that_cancels_its_job():
    backend = BasicSimulator(max_parallel_threads=1)
    job = backend.run(chain(20, 20000, name="long"), shots=1)
    seen = []

    def callback(job_id, status, j):
        seen.append(status)
        if status is JobStatus.RUNNING:
            assert j.cancel() is True

    job.wait_for_final_state(timeout=WAIT, wait=0.005, callback=callback)
    assert job.status() is JobStatus.CANCELLED
    assert seen[-1] is JobStatus.RUNNING


def test_executor_callbacks_that_raise_do_not_break_the_job(caplog):
    """Someone else's callback on the job's future raising is logged by
    ``concurrent.futures`` and changes nothing for the job or the backend."""
    backend = BasicSimulator()
    job = backend.run(basis(16, 5), shots=3)  # not tiny: it runs on the backend's executor
    assert job._future is not None
    job._future.add_done_callback(lambda f: 1 / 0)
    assert sum(job.result(WAIT).get_counts().values()) == 3
    assert sum(backend.run(bell(), shots=4).result(WAIT).get_counts().values()) == 4


# ---------------------------------------------------------------- interpreter exit

EXIT_PRELUDE = """
    import sys, threading, time
    import svsim

    def chain(n, gates):
        qc = svsim.Circuit(n, name="long")
        for k in range(gates // 2):
            qc.rx(0.1 + 0.001 * k, k % n).cx(k % n, (k + 1) % n)
        return qc

    long = chain(22, 40000)  # about half a minute of kernel time
    backend = svsim.BasicSimulator()
    running = backend.run(long, shots=1)
    queued = [backend.run(long, shots=1) for _ in range(3)]
    shared = svsim.BasicProvider().get_backend().run(long, shots=1)
    while not running.running():
        time.sleep(0.001)
    time.sleep(0.05)
    print("progress", running.progress(), flush=True)
"""


def test_exit_with_jobs_running_is_quick_and_clean():
    """A script that ends with a long job running and more queued exits at once,
    with status 0 and nothing on stderr: the exit hook cancels the jobs and
    joins the workers before the interpreter is torn down."""
    report = """
        import atexit, threading

        def report():  # registered before svsim's own hook, so it runs after it
            alive = [t.name for t in threading.enumerate() if t.name.startswith("svsim")]
            states = [job.status().name for job in [running, *queued, shared]]
            print("at exit", states, alive, flush=True)

        atexit.register(report)
    """
    proc, took = run_python(script(report, EXIT_PRELUDE))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith("progress 0.")
    assert "at exit ['CANCELLED', 'CANCELLED', 'CANCELLED', 'CANCELLED', 'CANCELLED'] []" in (
        proc.stdout
    )
    assert took < 10.0  # the jobs alone would take minutes


def test_exit_with_an_exception_or_sys_exit_keeps_the_scripts_status():
    proc, took = run_python(script(EXIT_PRELUDE, "raise RuntimeError('the script failed')"))
    assert proc.returncode == 1
    assert "RuntimeError: the script failed" in proc.stderr
    assert proc.stderr.count("Traceback") == 1
    assert_no_crash(proc.stderr)
    assert took < 10.0
    proc, took = run_python(script(EXIT_PRELUDE, "sys.exit(3)"))
    assert proc.returncode == 3 and proc.stderr == ""
    assert took < 10.0


def test_thread_waiting_for_a_result_gets_it_before_exit():
    """Exit cancels only what nobody can wait for any more: a non-daemon thread
    still waiting for its job's result is let finish first (Python joins it),
    then the rest is cancelled."""
    code = script(
        EXIT_PRELUDE,
        """
        other = svsim.BasicSimulator()
        small = svsim.Circuit(12, 12)
        for q in range(12):
            small.rx(0.2, q)
        small.measure(range(12), range(12))
        job = other.run([small] * 40, shots=2000, seed_simulator=1)

        def wait():
            counts = job.result(60).get_counts()
            print("waited", len(counts), flush=True)

        threading.Thread(target=wait).start()
        """,
    )
    proc, took = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert "waited 40" in proc.stdout
    assert proc.stderr == ""
    assert took < 20.0


def test_interrupt_while_waiting_exits_quickly():
    """Ctrl-C while the main thread waits in ``result()``: KeyboardInterrupt,
    then a quick exit that cancels the running kernel, no crash."""
    code = script(
        EXIT_PRELUDE,
        """
        print("waiting", flush=True)
        running.result()
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stdout:
            if line.startswith("waiting"):
                break
        time.sleep(0.2)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (-signal.SIGINT, 1, 130), (proc.returncode, stderr)
    assert "KeyboardInterrupt" in stderr
    assert_no_crash(stderr)
    assert took < 10.0


# ---------------------------------------------------------------- close()


def test_close_waits_for_the_jobs_then_refuses_new_ones():
    backend = BasicSimulator()
    jobs = [backend.run(basis(4, v), shots=3) for v in range(6)]
    worker = backend.executor
    backend.close()
    assert backend.closed
    assert [job.status() for job in jobs] == [JobStatus.DONE] * 6
    assert jobs[5].result(0).get_counts() == {"0101": 3}
    assert worker._shutdown and worker.join(timeout=WAIT)
    with pytest.raises(svsim.SimulatorError, match="closed"):
        backend.run(bell())
    backend.close()  # again: nothing more to do


def test_run_racing_close_is_refused_and_leaves_no_worker(monkeypatch):
    """run() past its closed check when close() runs, on a backend with no worker
    yet: its job is refused and no worker thread is started after close()."""
    real = BasicSimulator._run_options

    def slow_options(self, options):
        if threading.current_thread().name == "late-run":
            time.sleep(0.3)  # close() runs meanwhile
        return real(self, options)

    monkeypatch.setattr(BasicSimulator, "_run_options", slow_options)
    backend = BasicSimulator()
    outcome: dict[str, object] = {}

    def late_run() -> None:
        try:
            outcome["job"] = backend.run(chain(12, 40).measure_all(), shots=4)
        except svsim.JobError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=late_run, name="late-run")
    thread.start()
    time.sleep(0.05)
    backend.close()
    thread.join(WAIT)
    assert "error" in outcome and backend.jobs() == []
    prefix = f"svsim-{id(backend):x}"
    assert not [t for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]


def test_close_with_cancel_stops_running_and_queued_jobs_at_once():
    backend = BasicSimulator()
    running = backend.run(chain(22, 40000), shots=1)
    queued = [backend.run(bell(), shots=3) for _ in range(3)]
    while not running.running():
        time.sleep(0.001)
    start = time.monotonic()
    backend.close(cancel_jobs=True)
    assert time.monotonic() - start < 5.0
    assert running.status() is JobStatus.CANCELLED
    assert all(job.status() is JobStatus.CANCELLED for job in queued)


def test_context_manager_closes_and_cancels_on_an_exception():
    with BasicSimulator() as backend:
        done = backend.run(bell(), shots=3)
    assert backend.closed and done.status() is JobStatus.DONE

    with pytest.raises(ZeroDivisionError), BasicSimulator() as backend:
        running = backend.run(chain(22, 40000), shots=1)
        queued = backend.run(bell(), shots=3)
        raise ZeroDivisionError("leaving the block on an error")
    assert running.status() is JobStatus.CANCELLED
    assert queued.status() is JobStatus.CANCELLED


def test_close_leaves_a_given_executor_open():
    pool = ThreadPoolExecutor(max_workers=1)
    with BasicSimulator(executor=pool) as backend:
        backend.run(bell(), shots=2)
    assert pool.submit(lambda: 7).result(WAIT) == 7
    pool.shutdown()


def test_provider_replaces_its_closed_backend():
    provider = BasicProvider()
    first = provider.get_backend()
    first.close()
    second = provider.get_backend()
    assert second is not first and not second.closed
    assert second.run(bell(), shots=2).result(WAIT).get_counts()


# ---------------------------------------------------------------- memory limits

MiB = 1 << 20


def state_mib(n: int, precision: str = "double") -> float:
    return engine.state_bytes(n, precision) / MiB


def test_refusal_before_allocation_says_bytes_limit_and_remedies():
    backend = BasicSimulator(max_memory_mb=64)
    rss = int(open("/proc/self/statm").read().split()[1]) * 4096
    with pytest.raises(svsim.SimulatorError) as info:
        # (a t gate, so that the stabilizer method cannot take it instead)
        backend.run(svsim.Circuit(23).h(0).t(0), shots=1)  # 128 MiB
    message = str(info.value)
    assert "134,217,728 bytes" in message and "23 qubits" in message
    assert "67,108,864 bytes" in message and "max_memory_mb=64" in message
    assert "precision='single'" in message and "raise max_memory_mb to at least 128" in message
    assert backend.jobs() == []
    assert int(open("/proc/self/statm").read().split()[1]) * 4096 < rss + 32 * MiB
    # in single precision the same circuit fits
    single = backend.run(svsim.Circuit(22).h(0), shots=1, precision="single").result(WAIT)
    assert single.get_statevector().dtype == np.complex64


def test_mid_circuit_statevector_saves_count_as_states():
    qc = svsim.Circuit(20).h(0).save_statevector("middle").x(1).save_statevector("end")
    # the state and two saves: 3 x 16 MiB, whatever the kernel shares at the end
    with pytest.raises(svsim.SimulatorError, match="3 statevectors of 20 qubits"):
        BasicSimulator(max_memory_mb=40).run(qc)
    result = BasicSimulator(max_memory_mb=48).run(qc).result(WAIT)
    assert abs(result.get_statevector(label="middle")[1]) > 0.7


def test_shots_count_against_the_limit():
    with pytest.raises(svsim.SimulatorError, match="fewer shots"):
        BasicSimulator(max_memory_mb=1024).run(bell(), shots=10**9)
    with pytest.raises(svsim.SimulatorError, match=r"1,000,000,000,000 shots"):
        BasicSimulator().run(bell(), shots=10**12)
    # memory=True keeps a string per shot: it counts too
    shots = 1 << 16
    small = BasicSimulator(max_memory_mb=3)
    small.run(bell(), shots=shots, memory=False).result(WAIT)
    with pytest.raises(svsim.SimulatorError, match="together"):
        small.run(bell(), shots=shots, memory=True)


def test_initial_statevector_counts_against_the_limit():
    psi = np.zeros(1 << 16, dtype=np.complex128)
    psi[3] = 1.0
    qc = basis(16, 0)
    with pytest.raises(svsim.SimulatorError, match="initial statevector"):
        BasicSimulator(max_memory_mb=1.5).run(qc, initial_statevector=psi, shots=1)
    result = BasicSimulator(max_memory_mb=2.5).run(qc, initial_statevector=psi, shots=4)
    assert result.result(WAIT).get_counts() == {format(3, "016b"): 4}


def test_multi_circuit_job_counts_the_states_its_result_keeps():
    """Each 18-qubit circuit (4 MiB) fits alone; the result keeps all three final
    states, so the job needs 12 MiB: refused at 10, run at 13."""
    circuits = [basis(18, v, name=f"c{v}") for v in (1, 2, 3)]
    with pytest.raises(svsim.SimulatorError, match="3 circuits need .* together"):
        BasicSimulator(max_memory_mb=10).run(circuits, shots=2)
    result = BasicSimulator(max_memory_mb=13).run(circuits, shots=2).result(WAIT)
    assert [r.final_statevector.nbytes for r in result.results] == [4 * MiB] * 3


def test_each_experiment_gets_what_the_earlier_ones_leave(monkeypatch):
    """At run time, experiment i's limit is max_memory_mb less the states and shot
    data the earlier experiments' outputs hold."""
    seen = []
    real = engine.run_experiment

    def spy(circuit, **kwargs):
        seen.append(kwargs["max_memory_mb"])
        return real(circuit, **kwargs)

    monkeypatch.setattr(engine, "run_experiment", spy)
    circuits = [basis(18, v) for v in (1, 2, 3)]
    BasicSimulator(max_memory_mb=40).run(circuits, shots=1000).result(WAIT)
    shot_data = 1000 * 8 / MiB  # 18 clbits: one 64-bit word per shot
    kept = state_mib(18) + shot_data
    assert seen == pytest.approx([40, 40 - kept, 40 - 2 * kept])


def test_trajectory_prefix_copy_only_where_it_fits(monkeypatch):
    """Per-shot trajectories keep a copy of the state before the first
    measurement only when the state, the copy, the shots' data and an initial
    state all fit; the results are the same either way."""
    flags = []
    real = _core.run

    def spy(*args, **kwargs):
        flags.append(args[13])  # allow_prefix_copy
        return real(*args, **kwargs)

    monkeypatch.setattr(_core, "run", spy)
    qc = svsim.Circuit(16, 1).h(range(16)).measure(0, 0).x(1, condition=(0, 1)).measure_all()
    shots = 64
    state = engine.state_bytes(16, "double")
    shot_data = engine.shot_bytes(qc.num_clbits, shots)
    fits = (2 * state + shot_data) / MiB
    results = []
    for limit in (fits, fits - 1 / MiB, fits - 0.5):
        job = BasicSimulator(max_memory_mb=limit, shot_branching=False).run(
            qc, shots=shots, seed_simulator=5
        )
        result = job.result(WAIT)
        assert result.results[0].metadata["shot_method"] == "trajectory"
        results.append(result.get_counts())
    assert flags == [True, False, False]
    assert results[0] == results[1] == results[2]
    # an initial statevector takes its share of the room too
    psi = np.zeros(1 << 16, dtype=np.complex128)
    psi[0] = 1.0
    flags.clear()
    backend = BasicSimulator(max_memory_mb=fits + 0.5, shot_branching=False)
    backend.run(qc, shots=shots, initial_statevector=psi).result(WAIT)
    assert flags == [False]
    flags.clear()
    backend = BasicSimulator(max_memory_mb=fits + 1, shot_branching=False)
    backend.run(qc, shots=shots, initial_statevector=psi).result(WAIT)
    assert flags == [True]


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc")
@pytest.mark.parametrize(
    ("limit_mb", "branching", "states"),
    [(100, False, 1), (200, False, 2), (100, True, 1), (200, True, 2)],
)
def test_trajectory_peak_memory_follows_the_limit(limit_mb, branching, states):
    """Measured in a fresh process (peak RSS reset just before the job): a 22-qubit
    (64 MiB) mid-circuit circuit peaks at one state under a 100 MiB limit, and at
    two under 200 MiB: per-shot trajectories keep the prefix copy, branching two
    branches (under 100 MiB it falls back to trajectories instead of a second state)."""
    shots = 40 if branching else 3  # 40: the random measurement surely splits
    code = f"""
        import svsim

        def status(key):
            for line in open("/proc/self/status"):
                if line.startswith(key):
                    return int(line.split()[1]) // 1024

        qc = svsim.Circuit(22, 1).h(range(22)).measure(0, 0).x(1, condition=(0, 1))
        backend = svsim.BasicSimulator(
            max_memory_mb={limit_mb}, max_parallel_threads=1, shot_branching={branching}
        )
        backend.run(svsim.Circuit(2).h(0), shots=1).result()
        open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM)
        base = status("VmRSS:")
        result = backend.run(qc, shots={shots}, seed_simulator=1).result(60)
        meta = result.results[0].metadata
        print(status("VmHWM:") - base, sum(result.get_counts().values()), meta["shot_method"])
    """
    proc, _ = run_python(code)
    assert proc.returncode == 0, proc.stderr
    grew, counted, method = proc.stdout.split()
    grew_mib = int(grew)
    assert int(counted) == shots
    assert method == ("branching" if branching and states == 2 else "trajectory")
    if states == 2:
        assert 120 <= grew_mib < 170, grew_mib
    else:
        assert 60 <= grew_mib < 100, grew_mib


def test_default_limit_follows_available_memory(monkeypatch):
    monkeypatch.setattr(engine, "available_memory_bytes", lambda: 100 * MiB)
    with pytest.raises(svsim.SimulatorError, match=r"max_memory_mb=80\b"):
        BasicSimulator().run(svsim.Circuit(23).t(0), shots=1)  # t: not Clifford
    assert BasicSimulator().max_num_qubits == 22


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_refused_runs_allocate_nothing():
    backend = BasicSimulator(max_memory_mb=256)
    before = int(open("/proc/self/statm").read().split()[1]) * 4096
    for _ in range(20):
        with pytest.raises(svsim.SimulatorError):
            backend.run(svsim.Circuit(30).t(0), shots=1)  # t: not Clifford
    after = int(open("/proc/self/statm").read().split()[1]) * 4096
    assert after - before < 8 * MiB


def test_saved_probabilities_count_against_the_limit():
    circuit = svsim.Circuit(20)
    circuit.h(range(20))
    circuit.save_probabilities()  # 8 MiB beside the 16 MiB state
    with pytest.raises(svsim.SimulatorError, match="8,388,608 for saved probabilities"):
        BasicSimulator(max_memory_mb=17).run(circuit)
    result = BasicSimulator(max_memory_mb=24).run(circuit).result(WAIT)
    assert abs(result.get_probabilities().sum() - 1.0) < 1e-10


def test_a_save_of_every_qubit_holds_its_probabilities_once():
    """At the peak, a run that saves the probabilities of all 22 qubits holds the
    state (64 MiB) and one array of probabilities (32 MiB); it used to hold a
    second array of the same size (a table of every basis state's offset)."""
    code = """
        import resource, svsim
        from svsim import engine
        c = svsim.Circuit(22)
        c.h(range(22))
        c.save_probabilities()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out = engine.run_experiment(c, shots=1, seed=1)
        grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
        assert abs(out.saves["probabilities"].sum() - 1) < 1e-10
        print(grew / (16 << 22))
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) < 1.6  # 1.5 states: the state and half a state of doubles

"""The Qiskit ``Target`` of svsim's backend: :func:`build_target`."""

from __future__ import annotations

from qiskit.circuit import IfElseOp
from qiskit.circuit.library import MCPhaseGate, MCXGate, UnitaryGate, get_standard_gate_name_mapping
from qiskit.transpiler import Target

from svsim.qiskit.convert import NATIVE_GATES

__all__ = ["build_target"]


def build_target() -> Target:
    """The ``Target`` of :class:`svsim.BasicSimulator`, on any number of qubits, no
    coupling map: every operation of Qiskit's own ``BasicSimulator`` target (read
    from it, so a newer Qiskit's additions come along; gates svsim has no native
    path for run as dense matrices), svsim's native gates (:data:`NATIVE_GATES`:
    ``mcx`` and ``mcphase`` with any number of controls, ``unitary`` of any size),
    ``measure``, ``reset``, ``delay`` and ``if_else``."""
    from qiskit.providers.basic_provider import BasicSimulator as QiskitBasicSimulator

    target = Target(description="svsim statevector simulator", num_qubits=None)
    mapping = get_standard_gate_name_mapping()
    names = dict.fromkeys(
        (*QiskitBasicSimulator().target.operation_names, *NATIVE_GATES, "measure", "reset")
    )
    variadic = {"mcx": MCXGate, "mcphase": MCPhaseGate, "unitary": UnitaryGate}
    for name in names:
        if name in variadic:
            target.add_instruction(variadic[name], name=name)
        elif name in mapping:
            target.add_instruction(mapping[name], properties=None, name=name)
    target.add_instruction(IfElseOp, name="if_else")
    return target

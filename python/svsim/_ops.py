"""The compact op list that Python hands to the C++ runner.

A circuit is encoded as three flat numpy arrays, so one call crosses into C++
per experiment and the kernel never touches Python objects:

``ops``     int64, shape (n_ops, OP_FIELDS): one row per operation.
``qubits``  int32: for each op, its targets, then its controls, then the
            classical bits of its condition, starting at ``ops[i, QUBIT_OFFSET]``.
``values``  complex128: the op's numbers (matrix, diagonal, Pauli codes),
            starting at ``ops[i, VALUE_OFFSET]``.

Matrices use Qiskit's order: target 0 is the least significant bit of the
row and column index.  Controls are always active on |1>.
"""

from __future__ import annotations

# Columns of ``ops``.
KIND = 0
NUM_TARGETS = 1
NUM_CONTROLS = 2
QUBIT_OFFSET = 3
VALUE_OFFSET = 4
SLOT = 5  # measure: the clbit; save ops: index into the saves list
COND_BITS = 6  # number of condition clbits, 0 when unconditional
COND_VALUE = 7  # bit j of this value is compared with the j-th condition clbit
OP_FIELDS = 8

# Values of ``ops[:, KIND]``; the C++ enum in cpp/include/svsim/program.h mirrors these.
DENSE = 0  # values: 4**k row-major matrix
DIAGONAL = 1  # values: 2**k diagonal; k == 0 is a global phase
FLIP = 2  # X on every target where the controls are set; no values
SWAP = 3  # swap of two targets where the controls are set; no values
MEASURE = 4  # one target, SLOT = clbit
RESET = 5  # one target
SAVE_STATEVECTOR = 6  # SLOT = save index
SAVE_PROBABILITIES = 7  # targets = the qubits, SLOT = save index
SAVE_EXPECTATION = 8  # targets = the qubits, values = Pauli codes (real part), SLOT = save index

PAULI_CODES = {"I": 0, "X": 1, "Y": 2, "Z": 3}

// A 3-qubit GHZ state with a user-defined gate, in OpenQASM 2.
OPENQASM 2.0;
include "qelib1.inc";

gate entangle a, b { cx a, b; }

qreg q[3];
creg c[3];
h q[0];
entangle q[0], q[1];
entangle q[1], q[2];
measure q -> c;

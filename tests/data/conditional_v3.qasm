// Mid-circuit measurement and classical feed-forward, in OpenQASM 3.
OPENQASM 3.0;
include "stdgates.inc";

qubit[3] q;
bit[2] m;
bit[1] out;

h q[0];
m[0] = measure q[0];
if (m[0]) {
  x q[1];
} else {
  h q[1];
}
m[1] = measure q[1];
if (m == 3) {
  x q[2];
}
out[0] = measure q[2];

"""Adapters: one class per simulator, each with the same small interface
(:class:`~svsim.bench.peers.base.Peer`), and the registry of them, :data:`PEERS`.

One module per peer family: ``svsim_peer`` (svsim), ``qiskit_peers`` (BasicSimulator,
Aer), ``qulacs_peer``, ``qsim_peer``, ``lightning_peer`` (PennyLane Lightning) and
``qibo_peer`` (Qibo with qibojit).

Every peer is imported inside :meth:`Peer.setup`, never at import time, so a
missing peer costs a note, not an error.  Thread counts that a library reads
from the environment at import (qulacs, Lightning) are set by the suite, which
runs each peer in its own process.
"""

from __future__ import annotations

import importlib

from svsim.bench.peers.base import Peer, counts_from_bitstrings, counts_from_ints
from svsim.bench.peers.lightning_peer import LightningPeer
from svsim.bench.peers.qibo_peer import QiboPeer
from svsim.bench.peers.qiskit_peers import AerPeer, BasicSimulatorPeer
from svsim.bench.peers.qsim_peer import QsimPeer
from svsim.bench.peers.qulacs_peer import QulacsPeer
from svsim.bench.peers.svsim_peer import SvsimPeer, svsim_api, svsim_execute

__all__ = [
    "PEERS",
    "AerPeer",
    "BasicSimulatorPeer",
    "LightningPeer",
    "Peer",
    "QiboPeer",
    "QsimPeer",
    "QulacsPeer",
    "SvsimPeer",
    "counts_from_bitstrings",
    "counts_from_ints",
    "make_peer",
    "svsim_api",
    "svsim_execute",
]

PEERS: dict[str, type[Peer]] = {
    "svsim": SvsimPeer,
    "basic": BasicSimulatorPeer,
    "aer": AerPeer,
    "qulacs": QulacsPeer,
    "qsim": QsimPeer,
    "lightning": LightningPeer,
    "qibojit": QiboPeer,
}


def make_peer(spec: str | Peer) -> Peer:
    """A peer from its name in :data:`PEERS`, from ``"module:Class"``, or as given."""
    if isinstance(spec, Peer):
        return spec
    if spec in PEERS:
        return PEERS[spec]()
    if ":" in spec:
        module, _, attr = spec.partition(":")
        peer = getattr(importlib.import_module(module), attr)()
        if not isinstance(peer, Peer):
            raise TypeError(f"{spec} is not a svsim.bench.peers.Peer")
        return peer
    raise ValueError(f"unknown peer {spec!r}; choose from {', '.join(PEERS)} or module:Class")

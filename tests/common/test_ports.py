"""The shared port signatures: parameters, equality, direction, and connecting two blocks."""

from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accelgen.hdl.common.ports import (
    HostWriteSignature,
    ReadPortSignature,
    entry_layout,
    entry_stream,
)


def test_write_signature_parameters_and_equality():
    sig = HostWriteSignature(addr_width=5, data_shape=signed(12), en_width=4)
    assert (sig.addr_width, sig.data_shape, sig.en_width) == (5, signed(12), 4)
    assert sig == HostWriteSignature(addr_width=5, data_shape=signed(12), en_width=4)
    assert sig != HostWriteSignature(addr_width=5, data_shape=12, en_width=4)
    assert repr(sig) == "HostWriteSignature(addr_width=5, data_shape=signed(12), en_width=4)"
    assert {n: (m.flow, m.shape) for n, m in sig.members.items()} == {
        "addr": (Out, 5),
        "data": (Out, signed(12)),
        "en": (Out, 4),
    }


def test_read_signature_with_and_without_enable():
    sig = ReadPortSignature(addr_width=3, data_shape=8)
    assert list(sig.members) == ["addr", "en", "data"]
    assert sig.members["data"].flow == In
    assert list(ReadPortSignature(addr_width=3, data_shape=8, enable=False).members) == [
        "addr",
        "data",
    ]
    assert sig != ReadPortSignature(addr_width=3, data_shape=8, enable=False)


def test_entry_stream_payload():
    layout = entry_layout(16)
    assert {n: f.shape for n, f in layout} == {"act": signed(16), "v": 4, "z": 4, "first": 1}
    sig = entry_stream(16)
    assert sig.members["payload"].shape == layout and sig.always_ready


def test_initiator_connects_to_target():
    port = dict(addr_width=4, data_shape=signed(8))
    initiator = wiring.Signature({"wr": Out(HostWriteSignature(**port))}).create()
    target = wiring.Signature({"wr": In(HostWriteSignature(**port))}).create()
    m = Module()
    wiring.connect(m, initiator.wr, target.wr)  # raises on a direction or shape mismatch

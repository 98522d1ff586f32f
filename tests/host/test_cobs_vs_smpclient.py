"""Our COBS framing against smpclient's Cobs(), byte for byte."""

from hypothesis import given, settings
from hypothesis import strategies as st
from smpclient.transport.serial.framing.cobs import Cobs

from protocol import smp_cobs

messages = st.binary(min_size=8, max_size=1500).map(lambda m: b"\x0a" + m[1:])


@settings(max_examples=300, deadline=None)
@given(messages)
def test_encode_is_smpclients(message):
    assert smp_cobs.encode(message) == b"".join(Cobs().encode(message))


@settings(max_examples=200, deadline=None)
@given(st.lists(messages, min_size=1, max_size=5), st.integers(1, 300))
def test_each_side_reads_the_other(batch, chunk):
    theirs = Cobs()
    ours = smp_cobs.CobsDecoder(max_message=2000)
    stream = b"".join(smp_cobs.encode(m) for m in batch)
    got = []
    for i in range(0, len(stream), chunk):
        theirs.feed(stream[i : i + chunk])
        got += ours.feed(stream[i : i + chunk])
    assert got == batch
    assert [theirs.take() for _ in batch] == batch

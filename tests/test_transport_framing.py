"""Properties of the bounded LSP frame reader (transport.FrameReader), in process, on generated streams
cut into chunks at arbitrary places."""

from __future__ import annotations

import asyncio
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipaa_lsp.transport import Body, FrameReader, Oversized, ParseFailure, decode_body

LIMIT = 2000
TOKEN = re.compile(rb"(?i)content-length:")


def read_all(data: bytes, cuts: list[int], limit: int = LIMIT) -> list:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in zip(points, points[1:]) if b > a]

    async def read(_n: int) -> bytes:
        return chunks.pop(0) if chunks else b""

    async def run() -> list:
        return [event async for event in FrameReader(read, lambda: limit).frames()]

    return asyncio.run(asyncio.wait_for(run(), 10))


def frame(body: bytes, headers: tuple[bytes, ...] = ()) -> bytes:
    return b"".join(h + b"\r\n" for h in headers) + b"Content-Length: %d\r\n\r\n" % len(body) + body


bodies = st.binary(max_size=300)
extra_headers = st.lists(st.sampled_from([b"Content-Type: application/vscode-jsonrpc; charset=utf-8",
                                          b"content-type: x", b"X-Other: 1"]), max_size=2).map(tuple)
cuts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=12)
fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(st.lists(st.tuples(bodies, extra_headers), max_size=6), cuts)
def test_valid_frames_come_out_whole_however_the_stream_is_cut(frames, cut_at):
    data = b"".join(frame(b, h) for b, h in frames)
    assert read_all(data, cut_at) == [Body(b) for b, _ in frames]


@fast
@given(st.binary(max_size=3000).filter(lambda g: not TOKEN.search(g)), bodies, cuts)
def test_after_garbage_the_next_frame_is_found(garbage, body, cut_at):
    events = read_all(garbage + frame(body), cut_at)
    assert events and events[-1] == Body(body)


@fast
@given(st.integers(min_value=LIMIT + 1, max_value=50_000), bodies, cuts)
def test_an_oversized_body_is_skipped_and_the_next_frame_read(length, body, cut_at):
    big = (b'{"jsonrpc":"2.0","id":7,"method":"m","params":"' + b"x" * length)[:length]
    events = read_all(b"Content-Length: %d\r\n\r\n" % length + big + frame(body), cut_at)
    assert [type(e) for e in events] == [Oversized, Body] and events[1] == Body(body)
    assert events[0].length == length and len(events[0].prefix) <= 4096


@fast
@given(st.lists(st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"Content-Length: ", b"content-length:", b"\r\n", b"\r\n\r\n", b"9" * 20, b"12",
                     b"Content-Length: 99999999999\r\n\r\n", b"Content-Length: 3\r\n\r\n{}"]),
    bodies.map(frame)), max_size=20), cuts)
def test_any_stream_ends_without_error(parts, cut_at):
    for event in read_all(b"".join(parts), cut_at):
        assert isinstance(event, (Body, Oversized))
        if isinstance(event, Body):
            assert len(event.data) <= LIMIT


@fast
@given(st.binary(max_size=500))
def test_decoding_a_body_raises_only_parse_failure(data):
    try:
        decode_body(data)
    except ParseFailure:
        pass


def test_decoding_deep_nesting_is_a_parse_failure():
    for body in (b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
        try:
            decode_body(body)
        except ParseFailure as exc:
            assert exc.rest == b""
        else:
            raise AssertionError("accepted")


def test_a_length_too_long_gives_back_the_next_frames_start():
    try:
        decode_body(b'{"a":1}Cont')
    except ParseFailure as exc:
        assert exc.rest == b"Cont"
    else:
        raise AssertionError("accepted")

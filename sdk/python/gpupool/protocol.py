"""Frames of docs/protocol.md §2: a 4-byte little-endian length, then that many bytes of
UTF-8 JSON holding one object with a "type" field."""

import json
import os
import select
import socket
import struct
import time

__all__ = ["PROTOCOL_VERSION", "MAX_FRAME_BYTES", "ProtocolError", "Channel", "encode_frame", "dumps"]

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 256 * 1024 * 1024
HEADER = struct.Struct("<I")
_pack = HEADER.pack
_BUF_BYTES = 1 << 20  # receive buffer; grows for larger frames, shrinks back when drained
SPIN_ENV = "GPUPOOL_SPIN_US"
DEFAULT_SPIN_US = 100
MAX_SPIN_US = 1_000_000

_encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
dumps = _encoder.encode


class ProtocolError(Exception):
    """The peer broke the framing (oversized frame, EOF inside a frame, not JSON)."""


def encode_frame(payload):
    """bytes of one frame holding ``payload`` (bytes of UTF-8 JSON)."""
    n = len(payload)
    if n > MAX_FRAME_BYTES:
        raise ProtocolError("frame of %d bytes exceeds the %d-byte limit" % (n, MAX_FRAME_BYTES))
    return _pack(n) + payload


def spin_seconds(environ=os.environ):
    """How long ``frames()`` polls for the next frame before it sleeps in the kernel, from
    GPUPOOL_SPIN_US (microseconds; default 100, 0 turns polling off).

    Why poll: a sleeping worker is woken by the kernel from another CPU, and on a virtual
    machine that wake-up (an inter-processor interrupt through the hypervisor) is most of a
    round trip: the echo between a Node and a Python process on the 2-core dev VM takes p50
    57-61 us, 16-24 us when the reader polls (`node bench/dispatch/ipc-floor.mjs 20000 100`,
    bench/results/dispatch/2026-11-22-spin/). Under load the next frame is already buffered
    and nothing polls; idle, a worker polls this long once per batch, calling sched_yield
    between tries so that a runnable process on the same CPU goes first.
    """
    value = environ.get(SPIN_ENV, "")
    if value == "":
        return DEFAULT_SPIN_US / 1e6
    us = int(value) if value.isascii() and value.isdigit() else -1
    if not 0 <= us <= MAX_SPIN_US:
        raise ValueError("%s=%r: expected whole microseconds from 0 (no polling) to %d" % (SPIN_ENV, value, MAX_SPIN_US))
    return us / 1e6


class Channel:
    """The protocol descriptor: a stream socket (``recv_into``/``sendall``), or, failing
    that, any readable+writable descriptor (``os.readv``/``os.write``)."""

    def __init__(self, fd, spin=None):
        self.fd = fd
        #: Seconds ``frames()`` polls a socket before a blocking read (see ``spin_seconds``).
        self.spin = spin_seconds() if spin is None else spin
        #: Bytes received and not yet handed out by ``frames()`` (see ``frame_arriving``).
        self.buffered = 0
        self._poll = None
        try:
            os.set_inheritable(fd, False)  # model subprocesses must not hold the stream open
        except OSError:
            pass
        try:
            sock = socket.socket(fileno=fd)
        except OSError:  # not a socket (ENOTSOCK): a pipe-like descriptor
            sock = None
        self.sock = sock
        if sock is not None:
            sock.setblocking(True)
            self.recv_into = sock.recv_into
            self.sendall = sock.sendall
        else:
            self.recv_into = lambda view: os.readv(fd, [view])

            def sendall(data, _write=os.write, _fd=fd):
                view = memoryview(data)
                while view:
                    view = view[_write(_fd, view):]
            self.sendall = sendall

    def frame_arriving(self):
        """Whether the next frame has begun to arrive: bytes buffered, or readable (or EOF)
        on the descriptor. Never blocks."""
        if self.buffered:
            return True
        if self._poll is None:
            self._poll = select.poll()  # not select(): it cannot take descriptors >= 1024
            self._poll.register(self.fd, select.POLLIN)
        return bool(self._poll.poll(0))

    def send(self, obj):
        """Send one message (a dict); not the hot path."""
        self.sendall(encode_frame(dumps(obj).encode("utf-8")))

    def frames(self):
        """Yield each frame's payload as a str, in order; returns at EOF between frames.

        Reads into one preallocated buffer with ``recv_into``, as much as the kernel has:
        with two batches in flight one syscall usually brings in both frames.
        """
        recv_into = self.recv_into
        spin = self.spin if self.sock is not None else 0
        if spin:
            dontwait = socket.MSG_DONTWAIT
            clock = time.perf_counter
            yield_cpu = os.sched_yield
        unpack_from = HEADER.unpack_from
        buf = bytearray(_BUF_BYTES)
        view = memoryview(buf)
        size = _BUF_BYTES
        start = end = 0
        need = 4
        while True:
            avail = end - start
            if avail >= 4:
                n = unpack_from(buf, start)[0]
                if n > MAX_FRAME_BYTES:
                    raise ProtocolError("frame of %d bytes exceeds the %d-byte limit" % (n, MAX_FRAME_BYTES))
                if avail - 4 >= n:
                    s = start + 4
                    start = s + n
                    try:
                        payload = str(view[s:start], "utf-8")
                    except UnicodeDecodeError as e:
                        raise ProtocolError("frame is not UTF-8: %s" % e)
                    self.buffered = end - start
                    if start == end:
                        start = end = 0
                        if size > _BUF_BYTES:  # a big frame passed: give the memory back
                            view.release()
                            buf = bytearray(_BUF_BYTES)
                            view = memoryview(buf)
                            size = _BUF_BYTES
                    yield payload
                    continue
                need = 4 + n
            else:
                need = 4
            if start + need > size:  # the frame does not fit after `start`: move it down, or grow
                if need > size:
                    size = need if need > 2 * size else 2 * size
                    if size > MAX_FRAME_BYTES + 4:
                        size = max(need, MAX_FRAME_BYTES + 4)
                    nbuf = bytearray(size)
                else:
                    nbuf = bytearray(size)
                nbuf[0:avail] = view[start:end]
                view.release()
                buf = nbuf
                view = memoryview(buf)
                start, end = 0, avail
            got = -1  # recv_into never returns a negative count: -1 means "not received yet"
            tail = view[end:]
            if spin:
                deadline = clock() + spin
                while True:
                    try:
                        got = recv_into(tail, 0, dontwait)
                        break
                    except BlockingIOError:
                        if clock() >= deadline:
                            break
                        yield_cpu()
            if got < 0:
                got = recv_into(tail)
            tail.release()
            if not got:
                if end - start >= 4:
                    raise ProtocolError("end of stream inside a frame (%d of its %d bytes)" % (end - start - 4, need - 4))
                if end != start:
                    raise ProtocolError("end of stream inside a frame header (%d of 4 bytes)" % (end - start))
                return
            end += got

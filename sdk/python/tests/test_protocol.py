"""Frame reading/writing on a socket and on a plain descriptor."""
import json
import os
import socket
import threading
import time
import unittest

from gpupool.protocol import MAX_FRAME_BYTES, Channel, ProtocolError, encode_frame, spin_seconds
from tests._harness import frame


def channel_pair(spin=None):
    a, b = socket.socketpair()
    fd = os.dup(b.fileno())
    b.close()
    return a, Channel(fd, spin)


class SpinSetting(unittest.TestCase):
    def test_default_zero_and_a_value(self):
        self.assertEqual(spin_seconds({}), 100e-6)
        self.assertEqual(spin_seconds({"GPUPOOL_SPIN_US": ""}), 100e-6)
        self.assertEqual(spin_seconds({"GPUPOOL_SPIN_US": "0"}), 0)
        self.assertEqual(spin_seconds({"GPUPOOL_SPIN_US": "250"}), 250e-6)

    def test_bad_values_name_the_value_and_the_range(self):
        for bad in ("fast", "-1", "1.5", "1000001", " 5", "1_000", "\u0661"):
            with self.assertRaises(ValueError) as e:
                spin_seconds({"GPUPOOL_SPIN_US": bad})
            self.assertEqual(str(e.exception), "GPUPOOL_SPIN_US=%r: expected whole microseconds from 0 "
                                               "(no polling) to 1000000" % bad)


class Polling(unittest.TestCase):
    """frames() polls the socket (MSG_DONTWAIT) for `spin` seconds before it sleeps in recv."""

    def recording_pair(self, spin):
        """A channel whose receives are recorded as "poll" (MSG_DONTWAIT) or "block" with
        whether they got bytes; frames() reads `recv_into` from the channel, so this sees
        every call it makes."""
        peer, chan = channel_pair(spin)
        self.addCleanup(peer.close)
        self.addCleanup(chan.sock.close)
        calls = []
        real = chan.recv_into

        def recv_into(view, nbytes=0, flags=0):
            kind = "poll" if flags & socket.MSG_DONTWAIT else "block"
            try:
                got = real(view, nbytes, flags)
            except BlockingIOError:
                calls.append((kind, "nothing"))
                raise
            calls.append((kind, got))
            return got
        chan.recv_into = recv_into
        return peer, chan, calls

    def send_later(self, peer, data, delay):
        def feed():
            time.sleep(delay)
            peer.sendall(data)
            peer.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=feed)
        t.start()
        self.addCleanup(t.join)

    def test_a_frame_that_arrives_while_polling_is_read_by_a_poll(self):
        peer, chan, calls = self.recording_pair(spin=5.0)
        self.send_later(peer, frame(b'{"type":"stop"}'), 0.1)
        self.assertEqual(list(chan.frames()), ['{"type":"stop"}'])
        self.assertEqual([c for c in calls if c[0] == "block"], [])
        self.assertIn(("poll", 19), calls)
        self.assertEqual(calls[0], ("poll", "nothing"))  # it did wait by polling

    def test_after_the_window_it_sleeps_in_recv(self):
        peer, chan, calls = self.recording_pair(spin=0.001)
        self.send_later(peer, frame(b'{"type":"stop"}'), 0.1)
        self.assertEqual(list(chan.frames()), ['{"type":"stop"}'])
        self.assertEqual(calls[calls.index(("block", 19)) - 1], ("poll", "nothing"))

    def test_no_polling_with_zero(self):
        peer, chan, calls = self.recording_pair(spin=0)
        self.send_later(peer, frame(b'{"type":"stop"}'), 0.05)
        self.assertEqual(list(chan.frames()), ['{"type":"stop"}'])
        self.assertEqual({c[0] for c in calls}, {"block"})

    def test_header_now_body_after_the_window(self):
        peer, chan, calls = self.recording_pair(spin=0.001)
        data = frame(b'{"type":"batch","id":1,"items":[]}')
        peer.sendall(data[:4])
        self.send_later(peer, data[4:], 0.1)
        self.assertEqual(list(chan.frames()), ['{"type":"batch","id":1,"items":[]}'])
        self.assertEqual(calls[0], ("poll", 4))
        self.assertIn(("block", len(data) - 4), calls)

    def test_end_of_stream_while_polling_ends_at_once(self):
        peer, chan = channel_pair(5.0)
        self.addCleanup(chan.sock.close)
        threading.Timer(0.05, peer.close).start()
        t0 = time.monotonic()
        self.assertEqual(list(chan.frames()), [])
        self.assertLess(time.monotonic() - t0, 2.0)  # not after the 5 s window


class Frames(unittest.TestCase):
    def setUp(self):
        self.peer, self.chan = channel_pair(spin=100e-6)  # the default, whatever the environment says
        self.addCleanup(self.peer.close)
        self.addCleanup(self.chan.sock.close)

    def test_byte_by_byte_and_many_in_one_write(self):
        msgs = [{"type": "batch", "id": i, "items": ["é" * i]} for i in range(5)]
        data = b"".join(frame(json.dumps(m, ensure_ascii=False).encode()) for m in msgs)

        def feed():
            for i in range(0, 30):
                self.peer.sendall(data[i:i + 1])
            self.peer.sendall(data[30:])
            self.peer.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=feed)
        t.start()
        got = [json.loads(p) for p in self.chan.frames()]
        t.join()
        self.assertEqual(got, msgs)

    def test_frames_larger_than_the_buffer(self):
        big = "x" * (3 * 1024 * 1024 + 7)
        msgs = [{"a": big}, {"b": 1}, {"c": big[:5000]}]

        def feed():
            for m in msgs:
                self.peer.sendall(frame(m))
            self.peer.close()
        t = threading.Thread(target=feed)
        t.start()
        got = [json.loads(p) for p in self.chan.frames()]
        t.join()
        self.assertEqual(got, msgs)

    def test_empty_stream(self):
        self.peer.close()
        self.assertEqual(list(self.chan.frames()), [])

    def test_eof_inside_header(self):
        self.peer.sendall(b"\x05\x00")
        self.peer.close()
        with self.assertRaisesRegex(ProtocolError, r"inside a frame header \(2 of 4 bytes\)"):
            list(self.chan.frames())

    def test_oversized(self):
        self.peer.sendall((MAX_FRAME_BYTES + 1).to_bytes(4, "little"))
        with self.assertRaisesRegex(ProtocolError, "exceeds"):
            next(self.chan.frames())

    def test_not_utf8(self):
        self.peer.sendall(frame(b'{"type":"\xff"}'))
        with self.assertRaisesRegex(ProtocolError, "not UTF-8"):
            next(self.chan.frames())

    def test_send(self):
        self.chan.send({"type": "ready", "max_batch": 3})
        self.assertEqual(self.peer.recv(100), b'\x1e\x00\x00\x00{"type":"ready","max_batch":3}')

    def test_fd_is_made_non_inheritable(self):
        self.assertFalse(os.get_inheritable(self.chan.fd))

    def test_encode_frame_limit(self):
        self.assertEqual(encode_frame(b"{}"), b"\x02\x00\x00\x00{}")


class PlainDescriptor(unittest.TestCase):
    def test_pipe_fallback(self):
        r, w = os.pipe()
        chan = Channel(r)
        self.assertIsNone(chan.sock)
        os.write(w, frame({"type": "stop"}) + frame({"type": "x"}))
        os.close(w)
        self.assertEqual([json.loads(p) for p in chan.frames()], [{"type": "stop"}, {"type": "x"}])
        os.close(r)

    def test_pipe_write(self):
        r, w = os.pipe()
        chan = Channel(w)
        chan.send({"type": "ready"})
        os.close(w)
        self.assertEqual(os.read(r, 100), frame(b'{"type":"ready"}'))
        os.close(r)


if __name__ == "__main__":
    unittest.main()

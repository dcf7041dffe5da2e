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
        for bad in ("fast", "-1", "1.5", "1000001"):
            with self.assertRaises(ValueError) as e:
                spin_seconds({"GPUPOOL_SPIN_US": bad})
            self.assertEqual(str(e.exception), "GPUPOOL_SPIN_US=%r: expected whole microseconds from 0 "
                                               "(no polling) to 1000000" % bad)


class Polling(unittest.TestCase):
    """frames() polls the socket for `spin` seconds before it sleeps in recv."""

    def cpu_while_waiting(self, spin, delay=0.2):
        """Process CPU seconds spent while frames() waits `delay` s for a frame, and the frames."""
        peer, chan = channel_pair(spin)
        self.addCleanup(peer.close)
        self.addCleanup(chan.sock.close)

        def feed():
            time.sleep(delay)
            peer.sendall(frame(b'{"type":"stop"}'))
            peer.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=feed)
        cpu0 = time.process_time()
        t.start()
        got = list(chan.frames())
        t.join()
        return time.process_time() - cpu0, got

    def test_a_frame_that_arrives_while_polling_is_read(self):
        cpu, got = self.cpu_while_waiting(spin=5.0)
        self.assertEqual(got, ['{"type":"stop"}'])
        self.assertGreater(cpu, 0.02)  # it polled (a blocking recv costs ~0)

    def test_after_the_window_it_sleeps_in_recv(self):
        cpu, got = self.cpu_while_waiting(spin=0.001)
        self.assertEqual(got, ['{"type":"stop"}'])
        self.assertLess(cpu, 0.02)

    def test_end_of_stream_while_polling(self):
        peer, chan = channel_pair(5.0)
        self.addCleanup(chan.sock.close)
        threading.Timer(0.05, peer.close).start()
        self.assertEqual(list(chan.frames()), [])


class Frames(unittest.TestCase):
    def setUp(self):
        self.peer, self.chan = channel_pair()
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

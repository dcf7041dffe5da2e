"""Frame reading/writing on a socket and on a plain descriptor."""
import json
import os
import socket
import threading
import unittest

from gpupool.protocol import MAX_FRAME_BYTES, Channel, ProtocolError, encode_frame
from tests._harness import frame


def channel_pair():
    a, b = socket.socketpair()
    fd = os.dup(b.fileno())
    b.close()
    return a, Channel(fd)


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

"""Spawn a worker as gpupool does (socket on fd 3) and talk to it frame by frame."""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

SDK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(SDK_DIR, "tests", "fixtures")
HDR = struct.Struct("<I")
#: `ready` from an SDK worker with the default GPUPOOL_SPIN_US: it polls 100 us for its next batch.
READY = {"type": "ready", "release": True, "poll_us": 100}


def frame(obj):
    payload = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return HDR.pack(len(payload)) + payload


class WorkerProcess:
    def __init__(self, fixture, env=None, timeout=20.0, kind="cpu"):
        self.sock, child = socket.socketpair()
        self.sock.settimeout(timeout)
        self.buf = b""
        self.stdout = tempfile.TemporaryFile()
        self.stderr = tempfile.TemporaryFile()
        full_env = dict(os.environ)
        full_env.update({
            "GPUPOOL_PROTOCOL_FD": "3",
            "GPUPOOL_DEVICE_KIND": kind,
            "GPUPOOL_WORKER_ID": "test/cpu/0",
            "GPUPOOL_MODEL": "test",
            "GPUPOOL_DEVICE_IDS": "",
            "GPUPOOL_DEVICE_UUIDS": "",
            "PYTHONPATH": SDK_DIR,
            "GPUPOOL_SPIN_US": "",  # the default, whatever the environment of the tests says
        })
        if kind == "cpu":
            full_env["CUDA_VISIBLE_DEVICES"] = ""  # as gpupool pins a cpu worker
        full_env.update(env or {})
        path = fixture if os.path.isabs(fixture) else os.path.join(FIXTURES, fixture)
        child_fd = child.fileno()
        # The child end becomes fd 3. pass_fds cannot do it: Popen closes every descriptor it
        # was not told to keep *after* preexec_fn, so a fresh fd 3 would be closed again. With
        # close_fds=False only inheritable descriptors survive exec, and Python opens all of
        # its own non-inheritable (PEP 446); dup2 makes the new fd 3 inheritable.
        self.proc = subprocess.Popen(
            [sys.executable, path], env=full_env, stdin=subprocess.DEVNULL,
            stdout=self.stdout, stderr=self.stderr, close_fds=False,
            preexec_fn=lambda: os.dup2(child_fd, 3))
        child.close()

    # -- frames --
    def send(self, obj):
        self.sock.sendall(frame(obj))

    def send_raw(self, data):
        self.sock.sendall(data)

    def read(self):
        """The next frame as a dict; None at EOF."""
        while True:
            if len(self.buf) >= 4:
                (n,) = HDR.unpack_from(self.buf)
                if len(self.buf) >= 4 + n:
                    payload, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return json.loads(payload)
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                if self.buf:
                    raise AssertionError("EOF inside a frame: %r" % self.buf)
                return None
            self.buf += chunk

    def handshake(self):
        hello = self.read()
        ready = self.read()
        return hello, ready

    # -- process --
    def wait(self, timeout=20.0):
        return self.proc.wait(timeout)

    def output(self):
        self.stdout.seek(0)
        self.stderr.seek(0)
        return self.stdout.read().decode(errors="replace"), self.stderr.read().decode(errors="replace")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.stdout.close()
        self.stderr.close()


def wait_until(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()

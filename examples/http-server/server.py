#!/usr/bin/env python3
"""A small HTTP model server, standard library only, of the kind gpupool runs as `kind: http`
replicas: one process per card, each told its port on the command line.

    python3 server.py --port 8101 [--host 127.0.0.1] [--torch [--hold-mib 256]] [--log-requests]

GET  /health   200 {"status": "ok"} once the model is loaded
GET  /info     which process and device this replica is
POST /predict  {"inputs": [numbers or strings], "sleep_ms": 0}
               -> {"outputs": [...], "pid", "device", "computed_on"}: numbers doubled,
               strings reversed; on the GPU when PyTorch sees one
POST /echo     the request body, streamed back as it comes (chunked in, chunked out)

With `--torch`, where PyTorch sees a GPU, it holds `--hold-mib` MiB on cuda:0 (so
`nvidia-smi` shows this process on its card) and doubles numbers there; otherwise, and
without `--torch` (importing PyTorch takes seconds), it runs on the CPU. gpupool pins each replica with CUDA_VISIBLE_DEVICES, so cuda:0 is the card it gave.
"""
import argparse
import json
import os
import sys
import time
from urllib.parse import urlsplit
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Model:
    """Loaded once per process; `device` is what this replica sees, from its environment."""

    def __init__(self, use_torch, hold_mib):
        self.torch = None
        self.held = None
        self.device = {
            "worker": os.environ.get("GPUPOOL_WORKER_ID"),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "gpupool_device_ids": os.environ.get("GPUPOOL_DEVICE_IDS"),
        }
        if not use_torch:
            return
        try:
            import torch  # optional: the server works without it
        except ImportError:
            return
        if not torch.cuda.is_available():
            return
        self.torch = torch
        props = torch.cuda.get_device_properties(0)
        self.device["name"] = props.name
        uuid = getattr(props, "uuid", None)
        if uuid is not None:
            self.device["uuid"] = "GPU-" + str(uuid)
        if hold_mib > 0:
            self.held = torch.empty(hold_mib * 1024 * 1024, dtype=torch.uint8, device="cuda:0")
            torch.cuda.synchronize()

    def predict(self, inputs):
        numbers = [x for x in inputs if isinstance(x, (int, float)) and not isinstance(x, bool)]
        doubled = iter([])
        computed_on = "cpu"
        if numbers and self.torch is not None:
            t = self.torch.tensor(numbers, dtype=self.torch.float64, device="cuda:0") * 2
            doubled = iter(t.tolist())
            computed_on = "cuda:0"
        elif numbers:
            doubled = iter([x * 2 for x in numbers])
        outputs = []
        for x in inputs:
            if isinstance(x, (int, float)) and not isinstance(x, bool):
                outputs.append(next(doubled))
            elif isinstance(x, str):
                outputs.append(x[::-1])
            else:
                outputs.append(x)
        return outputs, computed_on


def make_handler(model, log_requests):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the proxy reuses its connections
        # Headers and body go out in two writes; with Nagle on, the second waits for the
        # client's delayed ACK (~40 ms a request).
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):
            if log_requests:
                sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

        def send_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def chunked(self):
            return "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()

        def body_pieces(self):
            """The request body as it arrives: by Content-Length, or chunk by chunk."""
            if self.chunked():
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return
                    yield self.rfile.read(size)
                    self.rfile.readline()  # the CRLF after each chunk
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                piece = self.rfile.read(min(65536, left))
                if not piece:
                    return
                left -= len(piece)
                yield piece

        def read_body(self):
            return b"".join(self.body_pieces())

        def route(self):
            return urlsplit(self.path).path

        def do_GET(self):
            if self.route() == "/health":
                self.send_json(200, {"status": "ok"})
            elif self.route() == "/info":
                self.send_json(200, {"pid": os.getpid(), "device": model.device})
            else:
                self.send_json(404, {"error": "no route %s" % self.path})

        def do_POST(self):
            if self.route() == "/echo":
                return self.echo()
            if self.route() != "/predict":
                self.read_body()
                return self.send_json(404, {"error": "no route %s" % self.path})
            try:
                request = json.loads(self.read_body() or b"{}")
                inputs = request["inputs"]
                if not isinstance(inputs, list):
                    raise ValueError("inputs must be a list")
            except (ValueError, KeyError, TypeError) as err:
                return self.send_json(400, {"error": "expected {\"inputs\": [...]}: %s" % err})
            sleep_ms = request.get("sleep_ms", 0)
            if sleep_ms:
                time.sleep(sleep_ms / 1000)  # stands in for a slow model
            outputs, computed_on = model.predict(inputs)
            self.send_json(200, {"outputs": outputs, "pid": os.getpid(), "device": model.device, "computed_on": computed_on})

        def echo(self):
            """Streams the body back as it comes, in the framing it came in."""
            self.send_response(200)
            self.send_header("Content-Type", self.headers.get("Content-Type") or "application/octet-stream")
            if self.chunked():
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", self.headers.get("Content-Length") or "0")
            self.end_headers()
            for piece in self.body_pieces():
                if self.chunked():
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    self.wfile.write(piece)
            if self.chunked():
                self.wfile.write(b"0\r\n\r\n")

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--torch", action="store_true", help="use PyTorch and the visible GPU, where there is one")
    parser.add_argument("--hold-mib", type=int, default=0, help="with --torch: MiB to hold on the GPU")
    parser.add_argument("--log-requests", action="store_true")
    args = parser.parse_args()
    model = Model(args.torch, args.hold_mib)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(model, args.log_requests))
    server.daemon_threads = True
    print("serving on %s:%d (pid %d, device %s)" % (args.host, args.port, os.getpid(), json.dumps(model.device)), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

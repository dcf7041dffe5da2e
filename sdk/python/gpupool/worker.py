"""The worker loop: hello, setup, ready, then batches until stop or end of stream."""

import collections
import gc
import json
import math
import os
import signal
import sys
import traceback

from . import errors as _errors
from .batch_memory import meter_for
from .device import describe_devices, device_from_env
from .errors import ItemError, classify, free_device_memory
from .protocol import HEADER, MAX_FRAME_BYTES, PROTOCOL_VERSION, Channel, ProtocolError

__all__ = ["Worker", "serve", "run_worker", "EXIT_SETUP", "EXIT_PROTOCOL", "EXIT_FATAL"]

SDK_VERSION = "0.1.0"
EXIT_SETUP = 1      # setup raised (a `fatal` frame was sent first)
EXIT_PROTOCOL = 2   # the stream broke the framing, or the worker was not started by gpupool
EXIT_FATAL = 70     # predict hit a fatal device error (a `failed` kind fatal frame was sent first)
_MAX_MESSAGE = 16 * 1024
#: Batches a launch/collect worker holds at once: one being collected, one launched behind it.
PIPELINE_DEPTH = 2
_MAX_TRACEBACK = 64 * 1024


class Worker:
    """Subclass it: ``setup(device)`` once, then ``predict(batch)`` many times.

    ``predict`` takes a list of inputs and returns a list of outputs of the same length.
    An output may be a ``gpupool.ItemError`` to fail that item alone; an exception fails
    the whole batch (classified as oom / fatal / batch, see ``gpupool.errors``).

    A GPU model can instead define ``launch(batch)`` and ``collect(launched)``, which split
    predict at the device sync: ``launch`` queues the batch's device work and returns without
    waiting (PyTorch kernels are asynchronous), ``collect`` receives what ``launch`` returned,
    waits for it and returns the outputs. The SDK then launches the next batch before
    collecting the last, so the device never waits for the host. Queue the copy back in
    ``launch`` with ``gpupool.HostCopy`` (a ``.tolist()`` in ``collect`` would wait for the
    next batch too). Both are needed; when they are defined, ``predict`` is not called.
    """

    #: Largest batch this worker accepts (sent in ``ready``); None: no limit of its own.
    max_batch = None
    #: Framework reported in ``hello`` when the SDK cannot tell (e.g. "onnxruntime 1.22").
    framework = None

    def setup(self, device):
        """Load the model; ``device.torch`` is "cuda:0", "npu:0" or "cpu"."""

    def predict(self, batch):
        raise NotImplementedError("a gpupool.Worker must implement predict(batch)")

    def teardown(self):
        """Called once after ``stop``, when every batch received has been answered."""

    def batch_memory(self):
        """Bytes of device memory the batch just predicted took at its peak, or None. Override it
        only for memory PyTorch's counters do not see: by default the SDK measures a PyTorch
        model on a GPU itself (the peak allocated during predict, above what was allocated
        before) and sends it with the answer, so that gpupool can tell a batch far heavier than
        usual (docs/protocol.md, ``result``). Not measured for launch/collect workers."""
        return None

    def release_device_memory(self):
        """Drop what you cache on the device (buffers kept between batches), when gpupool asks:
        another worker on the same device has an item that needs it whole, or this worker just
        ran a batch holding an item that ran out of memory where batches of its size fit, or
        another's batch ran out of memory for its size, or the batch limit the workers on its
        device share has grown. Called between batches, never beside
        predict or collect. The SDK then collects garbage and empties PyTorch's cache
        itself; most workers need nothing here."""


# ---- encoding results ----------------------------------------------------------------------

class _HasItemErrors(Exception):
    pass


def _fast_default(o):
    # Called by the C encoder only for objects JSON does not know: never on the plain path.
    if isinstance(o, ItemError):
        raise _HasItemErrors
    return _convert(o)


def _convert(o):
    """numpy / torch values and a few stdlib types to JSON types; else TypeError."""
    tolist = getattr(o, "tolist", None)  # numpy arrays and scalars, torch tensors
    if tolist is not None and callable(tolist):
        detach = getattr(o, "detach", None)
        if detach is not None and callable(detach):  # torch: leave autograd, copy to host
            o = detach().cpu()
            tolist = o.tolist
        return tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    raise TypeError("%s is not JSON serializable" % type(o).__name__)


def _slow_default(o):
    if isinstance(o, ItemError):
        raise TypeError("an ItemError can only be a whole output, not inside one")
    return _convert(o)


# Plain path: compact; ASCII escapes (as fast as raw UTF-8 here, the frame is always valid
# UTF-8 even with lone surrogates, and .encode() is a copy); no circular-reference bookkeeping
# (a cycle raises RecursionError and takes the careful path).  Unknown types reach
# _fast_default, which is how an ItemError is noticed without looking at every output.
_fast_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False,
                                default=_fast_default).encode
_slow_encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_slow_default)
_slow_encode = _slow_encoder.encode


def _sanitize(o):
    """NaN and ±Infinity become null, as JavaScript's JSON.stringify does."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _sanitize(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_sanitize(v) for v in o]
    try:
        return _sanitize(_convert(o))
    except TypeError:
        return o


def _encode_output(o):
    try:
        return _slow_encode(o)
    except ValueError:  # NaN / Infinity (or a circular reference)
        return _slow_encode(_sanitize(o))


def _as_list(outputs):
    if outputs is None or isinstance(outputs, (str, bytes, dict)):
        raise TypeError("predict returned %s; it must return a list with one output per input"
                        % type(outputs).__name__)
    return list(outputs)


def _id_json(bid):
    return str(bid) if type(bid) is int else _slow_encode(bid)


def _result_slow(bid, outputs, memory_field=""):
    """Result with ItemErrors mapped into ``errors``, odd types converted, unserialisable
    outputs failed alone."""
    parts = []
    errs = {}
    for i, o in enumerate(outputs):
        if isinstance(o, ItemError):
            errs[str(i)] = o.to_json()
            parts.append("null")
            continue
        try:
            parts.append(_encode_output(o))
        except Exception as e:
            if classify(e) != _errors.BATCH:
                # Copying a device tensor to the host is where an asynchronous CUDA error
                # surfaces: a device error fails the batch (fatal: recycle), not one item.
                raise
            errs[str(i)] = {"message": "output is not JSON: %s: %s" % (type(e).__name__, e)}
            parts.append("null")
    errors_field = ',"errors":' + _slow_encode(errs) if errs else ""
    if _form_accepted("result_lines"):  # the careful path's form
        # Each output's text as written here, one a line: gpupool passes it on as it is. In the
        # classic result it parses and writes the batch again, which rounds integers above 2^53
        # and writes 1.0 as 1 in the other outputs of a batch with one item error.
        return ('{"type":"result_lines","id":%s,"count":%d%s%s}\n%s' % (
            _id_json(bid), len(parts), errors_field, memory_field, "\n".join(parts))).encode("utf-8")
    return ('{"type":"result","id":%s,"outputs":[%s]%s%s}' % (
        _id_json(bid), ",".join(parts), errors_field, memory_field)).encode("utf-8")


def _failed_frame(bid, kind, message, tb=None):
    msg = {"type": "failed", "id": bid, "kind": kind, "message": message}
    if tb:
        msg["traceback"] = tb
    return _slow_encode(msg).encode("utf-8")


def _describe_exc(e):
    try:
        text = str(e)
    except Exception:
        text = "<unprintable>"
    message = "%s: %s" % (type(e).__name__, text) if text else type(e).__name__
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "…"
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    if len(tb) > _MAX_TRACEBACK:
        tb = "…" + tb[-_MAX_TRACEBACK:]
    return message, tb


def _flush_std():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _exit_now(code):
    """Exit without running destructors: after a fatal device error they can hang."""
    _flush_std()
    os._exit(code)


# ---- the loop ------------------------------------------------------------------------------

def _form_accepted(form):
    """Whether the gpupool that started us reads the answer form `form` (it names it in GPUPOOL_RESULT_FORMS)."""
    return form in os.environ.get("GPUPOOL_RESULT_FORMS", "").split(",")


def _result_form():
    """The fast result form's %-template, or None for the classic ``result``."""
    # `result_array`: the outputs as one JSON array after a header line; gpupool splits it into
    # each output's text, where the classic `result` costs it a parse and a stringify per item.
    if _form_accepted("result_array"):
        # "strict": its encoder refuses NaN and Infinity (allow_nan=False), so gpupool need not check each bare value.
        return '{"type":"result_array","id":%s,"count":%d,"strict":true}\n%s'
    return None


def _read_batch(payload, loads=json.loads):
    """(kind, id, items) of one frame; kind is "batch", "stop" or another type (ignored)."""
    try:
        msg = loads(payload)
        kind = msg["type"]
        if kind != "batch":
            return kind, None, None
        items = msg["items"]
        if type(items) is not list:
            raise TypeError("items is %s, not a list" % type(items).__name__)
        return kind, msg["id"], items
    except (ValueError, TypeError, KeyError) as e:
        raise ProtocolError("bad message: %s: %s (%.200r)" % (type(e).__name__, e, payload))


def _call(fn, arg):
    """(fn(arg), None), or (None, failure) when it raised. The failure is described here and the
    exception is gone when this returns, with the tensors its frames held, so an OOM answered
    afterwards can give that memory back."""
    try:
        return fn(arg), None
    except Exception as e:
        failure = (classify(e),) + _describe_exc(e)
    return None, failure


def _answer(chan, bid, n, outputs, failure, fast_form, memory=None):
    """Send the answer to batch ``bid`` of ``n`` items: its outputs, or its failure (and exit
    after a fatal one). ``outputs`` is what predict/collect returned when ``failure`` is None;
    ``memory``, what the batch took of device memory (``batch_memory``), when measured."""
    if failure is None:
        try:
            if type(outputs) is not list:
                outputs = _as_list(outputs)
            if len(outputs) != n:
                raise ValueError("predict returned %d outputs for %d inputs" % (len(outputs), n))
        except Exception as e:
            failure = (classify(e),) + _describe_exc(e)
            del e
    if failure is None:
        memory_field = "" if memory is None else ',"batch_memory":%d' % memory
        try:
            id_json = bid if type(bid) is int else _slow_encode(bid)
            if fast_form is not None:
                form = fast_form if memory is None else fast_form.replace("}\n", memory_field + "}\n", 1)
                data = (form % (id_json, n, _fast_encode(outputs))).encode("utf-8")
            else:
                data = ('{"type":"result","id":%s,"outputs":%s%s}' % (id_json, _fast_encode(outputs), memory_field)).encode("utf-8")
        except Exception:  # an ItemError, NaN, a tensor, a lone surrogate: the careful path
            try:
                data = _result_slow(bid, outputs, memory_field)
            except Exception as e:
                failure = (classify(e),) + _describe_exc(e)
                del e
        outputs = None
        if failure is None and len(data) > MAX_FRAME_BYTES:
            failure = (_errors.BATCH, "result of %d bytes exceeds the %d-byte frame limit: "
                       "return smaller outputs (e.g. write files and return paths)"
                       % (len(data), MAX_FRAME_BYTES), None)
    if failure is not None:
        data = _send_failure(bid, failure)
    chan.sendall(HEADER.pack(len(data)) + data)
    if failure is not None and failure[0] == _errors.FATAL:
        _exit_now(EXIT_FATAL)


def _release(chan, instance):
    """Answer ``release``: give back the device memory this worker caches, then say so."""
    hook = getattr(instance, "release_device_memory", None)
    if hook is not None:
        try:
            hook()
        except Exception:
            sys.stderr.write("gpupool: release failed (memory not given back):\n" + traceback.format_exc())
    free_device_memory()
    chan.send({"type": "released"})


def _answer_batches(chan, worker):
    """Answer batches one after another until ``stop`` (returns True) or EOF (False).

    Single-threaded on purpose: the next batch is already in the socket buffer (gpupool keeps
    two in flight), and reading + decoding it takes microseconds; a reader thread would add a
    queue hand-off and GIL traffic to every batch.
    """
    predict = worker.predict
    read_batch = _read_batch
    call = _call
    answer = _answer
    fast_form = _result_form()
    meter = meter_for(worker, Worker.batch_memory)
    # A model put on the GPU in its first predict (lazily) is seen after it: looked for once more.
    look_again = meter is None
    for payload in chan.frames():
        kind, bid, items = read_batch(payload)
        if kind != "batch":
            if kind == "stop":
                return True
            if kind == "release":
                _release(chan, worker)
            continue  # unknown types are ignored (forward compatibility)
        if meter is None:
            outputs, failure = call(predict, items)
            answer(chan, bid, len(items), outputs, failure, fast_form)
            if look_again:
                look_again = False
                meter = meter_for(worker, Worker.batch_memory)
        else:
            outputs, failure = _measured_call(meter, predict, items)
            answer(chan, bid, len(items), outputs, failure, fast_form, None if failure else _measure(meter.stop))
    return False


def _measured_call(meter, fn, arg):
    """_call, between the meter's start and (by the caller) its stop."""
    try:
        meter.start()
    except Exception:
        pass  # then stop() measures from an older baseline: an overestimate, never a failed batch
    return _call(fn, arg)


def _measure(stop):
    """The meter's reading, or None when it cannot tell (a failed read never fails the batch)."""
    try:
        return stop()
    except Exception:
        return None


def _answer_pipelined(chan, worker):
    """``launch``/``collect`` workers: batch k+1 is launched before batch k is collected.

    The device then has k+1 queued while the host waits for k's results and sends them, so it
    never idles between batches; with plain ``predict`` it idles from the end of each batch
    until the next one is decoded and launched. A batch is collected early (without waiting
    for a next one) when no next frame has begun to arrive, so a lone batch is not held back.
    gpupool keeps PIPELINE_DEPTH + 1 batches in flight to such a worker (``ready.pipeline``).
    """
    launch, collect = worker.launch, worker.collect
    fast_form = _result_form()
    frames = chan.frames()
    pending = collections.deque()  # (id, item count, what launch returned), oldest first

    def collect_oldest():
        bid, n, launched = pending.popleft()
        outputs, failure = _call(collect, launched)
        launched = None
        _answer(chan, bid, n, outputs, failure, fast_form)

    while True:
        if pending and (len(pending) >= PIPELINE_DEPTH or not chan.frame_arriving()):
            collect_oldest()
            continue
        payload = next(frames, None)
        if payload is None:
            return False  # end of stream: gpupool is gone, nobody to answer
        kind, bid, items = _read_batch(payload)
        if kind != "batch":
            if kind == "stop":
                while pending:
                    collect_oldest()
                return True
            if kind == "release":
                # Between batches, as _answer_batches: a release after a heavy batch may come with
                # others in flight, and a worker's release_device_memory() may drop buffers their collect uses.
                while pending:
                    collect_oldest()
                _release(chan, worker)
            continue
        launched, failure = _call(launch, items)
        if failure is not None:
            _answer(chan, bid, len(items), None, failure, fast_form)
            continue
        pending.append((bid, len(items), launched))
        # Only `pending` may hold the batch: a stray reference would keep its device memory
        # (and an idle worker's last batch) alive after it was collected.
        launched = items = payload = None


def _send_failure(bid, failure):
    kind, message, tb = failure
    if tb:
        if not tb.endswith("\n"):
            tb += "\n"
        # The count lets gpupool leave exactly this report out of the stderr it quotes when the
        # worker dies (an exception message of several lines has no other visible end).
        lines = tb.count("\n")
        sys.stderr.write("gpupool: batch %s failed (%s), %d line%s:\n%s" % (bid, kind, lines, "" if lines == 1 else "s", tb))
        _flush_std()
    if kind == _errors.OOM:
        free_device_memory()  # the exception (and its frames' tensors) is gone by now
    return _failed_frame(bid, kind, message, tb)


def _is_pipelined(instance):
    """Whether the worker splits predict into launch/collect.

    Both are needed. One alone next to a predict of its own is taken for an unrelated helper
    of that name (predict is used, with a warning); one alone without predict cannot work.
    """
    has_launch = callable(getattr(instance, "launch", None))
    has_collect = callable(getattr(instance, "collect", None))
    if has_launch == has_collect:
        return has_launch
    present, missing = ("launch", "collect") if has_launch else ("collect", "launch")
    if type(instance).predict is not Worker.predict:
        sys.stderr.write("gpupool: %s is defined but %s is not: using predict\n" % (present, missing))
        return False
    raise TypeError("a gpupool.Worker with %s must also define %s (or neither, and predict)" % (present, missing))


def _protocol_fd():
    value = os.environ.get("GPUPOOL_PROTOCOL_FD")
    if value is None:
        sys.stderr.write(
            "gpupool: GPUPOOL_PROTOCOL_FD is not set: this program is a gpupool worker; "
            "start it through gpupool (see docs/protocol.md)\n")
        _exit_now(EXIT_PROTOCOL)
    try:
        fd = int(value)
        os.fstat(fd)
    except (ValueError, OSError) as e:
        sys.stderr.write("gpupool: GPUPOOL_PROTOCOL_FD=%r is not an open descriptor: %s\n" % (value, e))
        _exit_now(EXIT_PROTOCOL)
    return fd


def serve(worker):
    """Run a worker (a ``Worker`` subclass, or an instance) until gpupool stops it; never returns.

    Exit status: 0 after ``stop`` or end of stream, 1 if setup failed, 2 on a protocol error,
    70 after a fatal device error.
    """
    try:  # gpupool owns shutdown (stop, then SIGTERM): a Ctrl-C in its terminal must not
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # kill workers mid-batch
    except (ValueError, OSError):  # not the main thread
        pass
    try:
        sys.stdout.reconfigure(line_buffering=True)  # prints reach the worker log promptly
    except Exception:
        pass
    fd = _protocol_fd()
    try:
        chan = Channel(fd)
    except ValueError as e:  # a bad GPUPOOL_SPIN_US: gpupool shows this line as the start failure
        sys.stderr.write("gpupool: %s\n" % e)
        _exit_now(EXIT_PROTOCOL)
    device = device_from_env()
    try:
        framework, devices, problem = describe_devices(device.kind)
    except Exception as e:  # never let the look-around stop the hello
        framework, devices, problem = None, None, "%s: %s" % (type(e).__name__, e)
    framework = getattr(worker, "framework", None) or framework
    hello = {"type": "hello", "protocol": PROTOCOL_VERSION, "pid": os.getpid(),
             "sdk": "python/" + SDK_VERSION}
    if framework:
        hello["framework"] = framework
    if devices is not None:
        hello["devices"] = devices
    if problem:
        hello["problem"] = problem
        sys.stderr.write("gpupool: %s\n" % problem)
    try:
        chan.send(hello)
        try:
            instance = worker() if isinstance(worker, type) else worker
            pipelined = _is_pipelined(instance)  # before setup: a 30 s load should not come first
            instance.setup(device)
        except Exception as e:
            message, tb = _describe_exc(e)
            del e
            sys.stderr.write("gpupool: setup failed:\n" + tb)
            chan.send({"type": "fatal", "message": message, "traceback": tb})
            _exit_now(EXIT_SETUP)
        # The model's objects live as long as the process: keep the collector from walking
        # them again and again (gen-2 passes over a big module tree cost milliseconds).
        gc.collect()
        gc.freeze()
        ready = {"type": "ready", "release": True}
        max_batch = getattr(instance, "max_batch", None)
        if max_batch:
            ready["max_batch"] = int(max_batch)
        if pipelined:
            ready["pipeline"] = PIPELINE_DEPTH
        if chan.sock is not None and chan.spin > 0:  # frames() polls only a socket
            ready["poll_us"] = int(round(chan.spin * 1e6))
        chan.send(ready)
        stopped = (_answer_pipelined if pipelined else _answer_batches)(chan, instance)
    except ProtocolError as e:
        sys.stderr.write("gpupool: protocol error: %s\n" % e)
        try:
            chan.send({"type": "fatal", "message": "protocol error: %s" % e})
        except OSError:
            pass
        _exit_now(EXIT_PROTOCOL)
    except (BrokenPipeError, ConnectionResetError):
        _exit_now(0)  # gpupool is gone: nobody to answer
    if not stopped:
        _exit_now(0)  # end of stream: gpupool is gone; exit without waiting on anything
    try:
        teardown = getattr(instance, "teardown", None)
        if teardown is not None:
            teardown()
    except Exception:
        sys.stderr.write("gpupool: teardown failed:\n" + traceback.format_exc())
    _flush_std()
    sys.exit(0)


def run_worker(predict_fn, setup_fn=None, *, teardown_fn=None, max_batch=None, framework=None):
    """Serve plain functions: ``setup_fn(device)`` once, then ``predict_fn(batch)`` per batch."""

    class _FunctionWorker(Worker):
        def setup(self, device):
            if setup_fn is not None:
                setup_fn(device)

        def predict(self, batch):
            return predict_fn(batch)

        def teardown(self):
            if teardown_fn is not None:
                teardown_fn()

    _FunctionWorker.max_batch = max_batch
    _FunctionWorker.framework = framework
    _FunctionWorker.predict = staticmethod(predict_fn)  # one call less per batch
    serve(_FunctionWorker)

# hearth's in-instance bootstrap for Python 3.11 (docs/protocol.md).
#
# Loads one function's handler, reports `ready` (or `init_error`) on the
# channel, then serves `invoke` messages one at a time with Lambda's handler
# semantics. Standard library only; runs under Debian's /usr/bin/python3 so that
# python3-* packages import.
#
# Structure (so that a zygote can reuse the pieces after a fork):
#   read_environment(env)  -> (channel_fd, FunctionSpec)   environment parsing only
#   Channel(fd)                                            framing over the socket
#   load_function(spec)    -> LoadedFunction               raises InitFailure
#   serve(channel, fn)                                     the invocation loop
# Nothing that has to be unique per instance is created at import time.

import importlib
import json
import os
import socket
import struct
import sys
import time
import traceback

MAX_FRAME_BYTES = 32 * 1024 * 1024
SENTINEL_PREFIX = "\0HEARTH-END "
_BOOTSTRAP_FILE = os.path.realpath(__file__)
_BOOTSTRAP_DIR = os.path.dirname(_BOOTSTRAP_FILE)
_IMPORTLIB_DIR = os.path.dirname(os.path.realpath(importlib.__file__)) + os.sep


class InitFailure(Exception):
    """The function could not be loaded: reported as `init_error`."""

    def __init__(self, error):
        super().__init__(error["errorMessage"])
        self.error = error


class ProtocolError(Exception):
    """The agent broke the protocol: the channel is closed and the process exits 1."""


class ChannelClosed(Exception):
    """The agent closed the channel."""


# ---------------------------------------------------------------------------
# Environment


class FunctionSpec:
    __slots__ = ("handler", "task_root", "function_name", "function_version", "memory_mb", "timeout_s")

    def __init__(self, handler, task_root, function_name="", function_version="", memory_mb=0, timeout_s=0):
        self.handler = handler
        self.task_root = task_root
        self.function_name = function_name
        self.function_version = function_version
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s


def read_environment(env):
    """Reads the bootstrap's configuration (docs/protocol.md, "Process contract")."""

    def required(name):
        value = env.get(name, "")
        if value == "":
            raise ValueError("hearth bootstrap: environment variable %s is not set" % name)
        return value

    fd_text = required("HEARTH_CHANNEL_FD")
    try:
        channel_fd = int(fd_text)
    except ValueError:
        raise ValueError("hearth bootstrap: HEARTH_CHANNEL_FD is not a file descriptor: %r" % fd_text) from None
    task_root = required("HEARTH_TASK_ROOT")
    if not os.path.isabs(task_root):
        raise ValueError("hearth bootstrap: HEARTH_TASK_ROOT must be an absolute path, got %r" % task_root)

    def number(name):
        try:
            return int(env.get(name, "0"))
        except ValueError:
            return 0

    spec = FunctionSpec(
        handler=required("HEARTH_HANDLER"),
        task_root=task_root,
        function_name=env.get("HEARTH_FUNCTION_NAME", ""),
        function_version=env.get("HEARTH_FUNCTION_VERSION", ""),
        memory_mb=number("HEARTH_MEMORY_MB"),
        timeout_s=number("HEARTH_TIMEOUT_S"),
    )
    return channel_fd, spec


# ---------------------------------------------------------------------------
# Channel


class Channel:
    """Length-prefixed JSON frames over a stream socket."""

    def __init__(self, fd):
        self.sock = socket.socket(fileno=fd)
        self.sock.settimeout(None)

    def _read_exact(self, n):
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            try:
                k = self.sock.recv_into(view[got:], n - got)
            except InterruptedError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                raise ChannelClosed() from None
            if k == 0:
                raise ChannelClosed()
            got += k
        return buf

    def receive(self):
        """The next message; raises ChannelClosed at end of stream, ProtocolError on a bad frame."""
        header = self._read_exact(4)
        (length,) = struct.unpack(">I", header)
        if length > MAX_FRAME_BYTES:
            raise ProtocolError("frame of %d bytes exceeds the limit of %d" % (length, MAX_FRAME_BYTES))
        body = self._read_exact(length)
        try:
            message = json.loads(body.decode("utf-8"))
        except ValueError as e:
            raise ProtocolError("frame is not JSON: %s" % e) from None
        if not isinstance(message, dict):
            raise ProtocolError("frame is not a JSON object")
        return message

    def send(self, message):
        body = encode_json(message)
        if len(body) > MAX_FRAME_BYTES:
            raise ValueError("frame of %d bytes exceeds the limit of %d" % (len(body), MAX_FRAME_BYTES))
        try:
            self.sock.sendall(struct.pack(">I", len(body)))
            self.sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            raise ChannelClosed() from None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def encode_json(message):
    try:
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates cannot be UTF-8: escape them instead.
        return json.dumps(message, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------------------
# Errors


def _user_frames(tb):
    """Traceback entries without the bootstrap's and importlib's own frames."""
    def is_runtime_frame(frame):
        name = frame.filename
        if name.startswith("<frozen importlib"):
            return True
        real = os.path.realpath(name)
        return real == _BOOTSTRAP_FILE or real.startswith(_IMPORTLIB_DIR)

    return traceback.StackSummary.from_list([f for f in traceback.extract_tb(tb) if not is_runtime_frame(f)])


def error_from_exception(e, error_type=None, message=None):
    """Lambda's error shape for an exception."""
    return {
        "errorType": error_type or type(e).__name__,
        "errorMessage": message if message is not None else _safe_str(e),
        "stackTrace": _user_frames(e.__traceback__).format(),
    }


def _safe_str(value):
    try:
        return str(value)
    except Exception:
        return "(the exception could not be converted to a string)"


def runtime_error(error_type, message, stack_trace=None):
    return {"errorType": error_type, "errorMessage": message, "stackTrace": stack_trace or []}


# ---------------------------------------------------------------------------
# Loading


class LoadedFunction:
    __slots__ = ("handler", "init_ms", "spec")

    def __init__(self, handler, init_ms, spec):
        self.handler = handler
        self.init_ms = init_ms
        self.spec = spec


def load_function(spec):
    """Imports the handler's module (running the function's init) and finds the handler."""
    t0 = time.perf_counter()
    modname, dot, fname = spec.handler.rpartition(".")
    if not dot or not modname or not fname or modname.endswith("/"):
        raise InitFailure(runtime_error("Runtime.MalformedHandlerName", "Bad handler '%s': expected 'module.function', e.g. 'app.handler'" % spec.handler))
    module_name = modname.replace("/", ".")
    parts = module_name.split(".")
    if any(p == "" or p == ".." for p in parts) or modname.startswith("/"):
        raise InitFailure(runtime_error("Runtime.MalformedHandlerName", "Bad handler '%s': the module must be inside the function's code" % spec.handler))

    task_root = os.path.abspath(spec.task_root)
    top = parts[0]
    if top in sys.builtin_module_names:
        raise InitFailure(runtime_error("Runtime.BuiltInModuleConflict", "Cannot use built-in module %s as a handler module" % top))
    existing = sys.modules.get(top)
    if existing is not None and not _is_under(getattr(existing, "__file__", None), task_root):
        raise InitFailure(
            runtime_error("Runtime.BuiltInModuleConflict", "Cannot use module name '%s' for the handler: the runtime already uses a module of that name" % top)
        )

    try:
        os.chdir(task_root)
    except OSError as e:
        raise InitFailure(runtime_error("Runtime.ImportModuleError", "Unable to enter the function's directory %s: %s" % (task_root, e))) from None
    # The function's code comes first on the path; the bootstrap's own directory is not on it.
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != _BOOTSTRAP_DIR]
    sys.path.insert(0, task_root)
    importlib.invalidate_caches()

    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise InitFailure(error_from_exception(e, "Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, _safe_str(e)))) from None
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s\n' % (e.filename, e.lineno, (e.text or "").strip())]
        raise InitFailure(runtime_error("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, _safe_str(e)), trace)) from None
    except Exception as e:
        raise InitFailure(error_from_exception(e)) from None

    if not hasattr(module, fname):
        raise InitFailure(runtime_error("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname)))
    handler = getattr(module, fname)
    if not callable(handler):
        raise InitFailure(runtime_error("Runtime.HandlerNotFound", "Handler '%s' on module '%s' is not callable" % (fname, modname)))
    return LoadedFunction(handler, (time.perf_counter() - t0) * 1000.0, spec)


def _is_under(file, root):
    if not file:
        return False
    file = os.path.abspath(file)
    return file == root or file.startswith(root.rstrip(os.sep) + os.sep)


# ---------------------------------------------------------------------------
# Output


def _write_fully(fd, data):
    view = memoryview(data)
    while len(view) > 0:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        except InterruptedError:
            continue
        except OSError:
            return  # EPIPE/EBADF: nobody reads this stream any more
        view = view[n:]


def flush_stdio():
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass


def write_sentinels(request_id):
    """Flushes the function's output, then marks the end of invocation `request_id`."""
    flush_stdio()
    line = (SENTINEL_PREFIX + request_id + "\n").encode("utf-8", "backslashreplace")
    _write_fully(1, line)
    _write_fully(2, line)


# ---------------------------------------------------------------------------
# Invocations


class LambdaContext:
    """Lambda's context object."""

    def __init__(self, request_id, deadline_ms, context):
        self.aws_request_id = request_id
        self.function_name = str(context.get("functionName", ""))
        self.function_version = str(context.get("functionVersion", ""))
        try:
            self.memory_limit_in_mb = int(context.get("memoryLimitMB", 0))
        except (TypeError, ValueError):
            self.memory_limit_in_mb = 0
        self.invoked_function_arn = str(context.get("invokedFunctionArn", ""))
        self.log_group_name = str(context.get("logGroupName", ""))
        self.log_stream_name = str(context.get("logStreamName", ""))
        self.client_context = None
        self.identity = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self):
        return "LambdaContext([aws_request_id=%s,function_name=%s,function_version=%s,memory_limit_in_mb=%s])" % (
            self.aws_request_id,
            self.function_name,
            self.function_version,
            self.memory_limit_in_mb,
        )


def invoke(fn, message):
    """Runs the handler for one `invoke` message and returns the `result` message."""
    request_id = message["id"]
    try:
        event = json.loads(message["event"])
    except ValueError as e:
        error = runtime_error("Runtime.InvalidEvent", "The event is not JSON: %s" % e)
        return {"t": "result", "id": request_id, "ok": False, "error": error, "execMs": 0, "startedAt": time.time() * 1000.0}
    context = LambdaContext(request_id, float(message.get("deadline", 0)), message.get("context") or {})
    handler = fn.handler
    started_at = time.time() * 1000.0
    t0 = time.perf_counter()
    try:
        value = handler(event, context)
    except Exception as e:
        exec_ms = (time.perf_counter() - t0) * 1000.0
        return {"t": "result", "id": request_id, "ok": False, "error": error_from_exception(e), "execMs": exec_ms, "startedAt": started_at}
    exec_ms = (time.perf_counter() - t0) * 1000.0
    try:
        payload = json.dumps(value, allow_nan=False)
    except Exception as e:
        error = runtime_error("Runtime.SerializationError", "Unable to marshal response: %s" % _safe_str(e))
        return {"t": "result", "id": request_id, "ok": False, "error": error, "execMs": exec_ms, "startedAt": started_at}
    return {"t": "result", "id": request_id, "ok": True, "payload": payload, "execMs": exec_ms, "startedAt": started_at}


def serve(channel, fn):
    """Serves invocations until the channel closes (returns) or the agent breaks the protocol (raises)."""
    while True:
        message = channel.receive()
        if message.get("t") != "invoke":
            raise ProtocolError("unexpected message type %r" % (message.get("t"),))
        if not isinstance(message.get("id"), str) or not isinstance(message.get("event"), str):
            raise ProtocolError("invoke needs a string id and a string event")
        result = invoke(fn, message)
        write_sentinels(message["id"])
        try:
            channel.send(result)
        except ValueError:
            error = runtime_error(
                "Function.ResponseSizeTooLarge", "Response payload size exceeded the maximum frame size (%d bytes)" % MAX_FRAME_BYTES
            )
            too_large = {"t": "result", "id": result["id"], "ok": False, "error": error}
            too_large["execMs"] = result["execMs"]
            too_large["startedAt"] = result["startedAt"]
            channel.send(too_large)


# ---------------------------------------------------------------------------
# Main (cold start)


def _exit(status):
    """Exits now, without waiting for threads the function may have started."""
    flush_stdio()
    os._exit(status)


def main():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass
    try:
        channel_fd, spec = read_environment(os.environ)
    except ValueError as e:
        _write_fully(2, ("%s\n" % e).encode("utf-8"))
        _exit(1)
    channel = Channel(channel_fd)
    try:
        try:
            fn = load_function(spec)
        except InitFailure as failure:
            flush_stdio()
            channel.send({"t": "init_error", "error": failure.error})
            _exit(1)
        channel.send({"t": "ready", "pid": os.getpid(), "initMs": fn.init_ms})
        serve(channel, fn)
    except ChannelClosed:
        _exit(0)
    except SystemExit as e:
        # The function called sys.exit(): exit with its status, without waiting for its threads.
        code = e.code
        if code is None:
            _exit(0)
        if isinstance(code, int):
            _exit(code & 0xFF)
        _write_fully(2, ("%s\n" % (code,)).encode("utf-8", "backslashreplace"))
        _exit(1)
    except ProtocolError as e:
        _write_fully(2, ("hearth bootstrap: protocol error: %s\n" % e).encode("utf-8"))
        channel.close()
        _exit(1)
    _exit(0)


# ---------------------------------------------------------------------------
# Zygote and template mode (docs/protocol.md, "Zygotes and templates")
#
# The zygote is trusted: it runs only this file and operator-chosen preloads.
# It forks a child per template request; the child loads the function (its
# init runs once) and becomes template[F], which forks one instance per request.
# Requests arrive with file descriptors (SCM_RIGHTS) on a control socket.

MAX_CONTROL_FDS = 8


def _recv_request(sock):
    """One control frame and the fds sent with it; None at end of stream."""
    header, fds, _flags, _addr = socket.recv_fds(sock, 4, MAX_CONTROL_FDS)
    if len(header) == 0:
        return None, []
    while len(header) < 4:
        more = sock.recv(4 - len(header))
        if not more:
            raise ChannelClosed()
        header += more
    (length,) = struct.unpack(">I", header)
    if length > MAX_FRAME_BYTES:
        raise ProtocolError("control frame of %d bytes exceeds the limit" % length)
    body = bytearray()
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            raise ChannelClosed()
        body += chunk
    message = json.loads(body.decode("utf-8"))
    if not isinstance(message, dict):
        raise ProtocolError("control frame is not a JSON object")
    return message, fds


def _send_frame(sock, message):
    body = encode_json(message)
    sock.sendall(struct.pack(">I", len(body)) + body)


def _install_fds(fds, status=None):
    """Makes fds[0..2] the process's channel (3), stdout (1) and stderr (2), and `status`
    (the sandbox's status fd, if any) fd 4; closes every other fd."""
    channel, out, err = fds[0], fds[1], fds[2]
    # Move them out of the way first so that dup2 cannot clobber one with another.
    moved = [os.dup(fd) for fd in (channel, out, err) + ((status,) if status is not None else ())]
    for fd in set(fds) | ({status} if status is not None else set()):
        os.close(fd)
    os.dup2(moved[1], 1)
    os.dup2(moved[2], 2)
    os.dup2(moved[0], 3)
    first_free = 4
    if status is not None:
        os.dup2(moved[3], 4)
        first_free = 5
    os.closerange(first_free, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 65536)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass


def _reap(sock):
    """Reaps exited children and reports them: {t: 'exit', pid, code, signal}."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        report = {"t": "exit", "pid": pid, "code": code if code >= 0 else None, "signal": -code if code < 0 else None}
        try:
            _send_frame(sock, report)
        except OSError:
            return


_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid):
    """PR_SET_PDEATHSIG(SIGKILL): a fork child dies with its parent (agent → zygote → template → instance).
    parent_pid None: the child is pid 1 of a new pid namespace (its parent is outside: getppid() is 0)."""
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if parent_pid is not None and os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


# ---- the sandbox (native/sandbox-lib.c, loaded by the zygote) -------------------------
#
# A sandboxed template request carries `sandbox: {template: [...], instance: [...]}`:
# the enter-sandbox plan for the template (src/sandbox/enter.ts planToArgs, with
# --template-caps) and the options each forked instance enters with (instance.c).

_sandbox_lib = None


def _load_sandbox_lib(path):
    """ctypes.PyDLL: the GIL stays held across the calls (they fork)."""
    import ctypes

    global _sandbox_lib
    lib = ctypes.PyDLL(path, use_errno=True)
    lib.hearth_lib_enter_sandbox.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
    lib.hearth_lib_enter_sandbox.restype = ctypes.c_int
    lib.hearth_clone_instance.argtypes = []
    lib.hearth_clone_instance.restype = ctypes.c_int
    lib.hearth_instance_enter.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.c_char_p, ctypes.c_size_t]
    lib.hearth_instance_enter.restype = ctypes.c_int
    for name in ("PyOS_BeforeFork", "PyOS_AfterFork_Child", "PyOS_AfterFork_Parent"):
        getattr(ctypes.pythonapi, name).restype = None
    _sandbox_lib = lib


def _c_argv(args):
    """A writable NULL-terminated char*[] (the C parser splits strings in place); keep the result alive."""
    import ctypes

    buffers = [ctypes.create_string_buffer(a.encode("utf-8")) for a in ["hearth"] + list(args)]
    argv = (ctypes.c_char_p * (len(buffers) + 1))(*[ctypes.cast(b, ctypes.c_char_p) for b in buffers], None)
    return buffers, argv


def _enter_sandbox(args):
    """Runs the enter-sandbox sequence; returns in the sandboxed child (this process becomes its supervisor)."""
    import ctypes

    if _sandbox_lib is None:
        raise RuntimeError("a sandboxed template was requested but the zygote has no sandbox library")
    buffers, argv = _c_argv(args)
    ctypes.pythonapi.PyOS_BeforeFork()
    _sandbox_lib.hearth_lib_enter_sandbox(len(buffers), argv)  # only the sandboxed child returns
    ctypes.pythonapi.PyOS_AfterFork_Child()


def _fork_away_from_pid_1():
    """The sandboxed template is pid 1 of the sandbox's pid namespace, and each instance will be
    pid 1 of its own: OpenSSL (ssl, cryptography) notices a fork only by a change of getpid(), so
    with equal pids every instance would continue its template's random generator. Fork once:
    pid 1 stays as the namespace's init (it reaps, and exits like the template), the template is pid 2."""
    pid = os.fork()
    if pid == 0:
        _die_with_parent(1)
        return
    for fd in range(0, 5):
        try:
            os.close(fd)
        except OSError:
            pass
    while True:
        try:
            reaped, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        if reaped == pid:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def _fork_instance(sandboxed):
    """os.fork(), or inside a sandbox a fork into the instance's own mount and pid namespace."""
    import ctypes

    if not sandboxed:
        return os.fork()
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = _sandbox_lib.hearth_clone_instance()
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, "clone(CLONE_NEWNS|CLONE_NEWPID): " + os.strerror(err))
    return pid


def _enter_instance(args):
    """In the instance: private /tmp and /proc, no capabilities, the final uid, the full seccomp filter."""
    import ctypes

    buffers, argv = _c_argv(args)
    err = ctypes.create_string_buffer(512)
    if _sandbox_lib.hearth_instance_enter(len(buffers), argv, err, len(err)) != 0:
        raise OSError(ctypes.get_errno(), "instance sandbox: " + err.value.decode("utf-8", "replace"))


def _requests(control, kind):
    """Yields (message, fds) for each well-formed `kind` request; reaps children while idle; exits at end of stream."""
    control.settimeout(0.1)  # wake up to reap children
    while True:
        try:
            message, got = _recv_request(control)
        except socket.timeout:
            _reap(control)
            continue
        except (ChannelClosed, ConnectionResetError):
            _exit(0)
        if message is None:
            _exit(0)
        if message.get("t") != kind or len(got) < 3:
            for fd in got:
                os.close(fd)
            _send_frame(control, {"t": "error", "id": message.get("id"), "message": "expected a %s request with 3 fds" % kind})
            continue
        yield message, got


def _apply_function_environment(spec_message):
    for key, value in (spec_message.get("env") or {}).items():
        os.environ[str(key)] = str(value)


def _after_fork_in_instance(fn):
    """Uniqueness after fork: fresh random state, then the function's own hook."""
    import random

    random.seed()  # the random module also reseeds itself at fork; this keeps the guarantee explicit
    module = sys.modules.get(fn.handler.__module__)
    hook = getattr(module, "hearth_after_fork", None)
    if callable(hook):
        hook()


def template_main(request, fds):
    """In the zygote's child: become template[F] (load F once), then fork instances on request."""
    sandbox = request.get("sandbox")
    if sandbox is not None and len(fds) < 4:
        raise RuntimeError("a sandboxed template request needs 4 fds (channel, stdout, stderr, status)")
    _install_fds(fds[:3], fds[3] if sandbox is not None else None)
    if sandbox is not None:
        _enter_sandbox(sandbox["template"])  # fd 4 (status) is closed in the sandboxed child
        _fork_away_from_pid_1()
    control = socket.socket(fileno=3)
    spec_message = request["spec"]
    _apply_function_environment(spec_message)
    spec = FunctionSpec(
        handler=spec_message["handler"],
        task_root=spec_message["taskRoot"],
        function_name=spec_message.get("functionName", ""),
        function_version=str(spec_message.get("functionVersion", "")),
        memory_mb=int(spec_message.get("memoryMB", 0)),
        timeout_s=int(spec_message.get("timeoutS", 0)),
    )
    try:
        fn = load_function(spec)
    except InitFailure as failure:
        flush_stdio()
        _send_frame(control, {"t": "init_error", "error": failure.error})
        _exit(1)
    flush_stdio()
    _send_frame(control, {"t": "ready", "pid": os.getpid(), "initMs": fn.init_ms})
    template_pid = os.getpid()
    for message, got in _requests(control, "fork"):
        flush_stdio()
        pid = _fork_instance(sandbox is not None)
        if pid == 0:
            # The child must never fall back into the template's loop: any failure ends it.
            try:
                _die_with_parent(template_pid if sandbox is None else None)
                control.close()
                # Join the instance's own cgroup(s) first: fds 3.. are cgroup.procs files the agent opened.
                for fd in got[3:]:
                    os.write(fd, b"0")
                    os.close(fd)
                _install_fds(got[:3])
                if sandbox is not None:
                    _enter_instance(sandbox["instance"])
            except BaseException as e:
                _write_fully(2, ("hearth bootstrap: instance setup failed: %r\n" % (e,)).encode("utf-8", "backslashreplace"))
                os._exit(1)
            _instance_main(fn)
        for fd in got:
            os.close(fd)
        _send_frame(control, {"t": "forked", "id": message.get("id"), "pid": pid})
        _reap(control)


def _instance_main(fn):
    channel = Channel(3)
    try:
        _after_fork_in_instance(fn)
        channel.send({"t": "ready", "pid": os.getpid(), "initMs": 0})
        serve(channel, fn)
    except ChannelClosed:
        _exit(0)
    except SystemExit as e:
        code = e.code
        _exit(0 if code is None else (code & 0xFF if isinstance(code, int) else 1))
    except ProtocolError as e:
        _write_fully(2, ("hearth bootstrap: protocol error: %s\n" % e).encode("utf-8"))
        _exit(1)
    except BaseException as e:  # an after-fork hook failed: this instance must not serve
        _write_fully(2, ("hearth bootstrap: instance failed after fork: %r\n" % (e,)).encode("utf-8", "backslashreplace"))
        _exit(1)
    _exit(0)


def zygote_main():
    """Trusted fork server: preloads modules, forks one child per template request."""
    control = socket.socket(fileno=int(os.environ.get("HEARTH_CHANNEL_FD", "3")))
    zygote_pid = os.getpid()
    # What every template needs anyway is imported once here, not after each fork.
    import ctypes  # noqa: F401  (used by _die_with_parent in every child)
    import random  # noqa: F401

    for name in filter(None, os.environ.get("HEARTH_PRELOAD", "").split(",")):
        importlib.import_module(name.strip())
    if os.environ.get("HEARTH_SANDBOX_LIB"):
        _load_sandbox_lib(os.environ["HEARTH_SANDBOX_LIB"])
    for key in [k for k in os.environ if k.startswith("HEARTH_")]:
        del os.environ[key]
    _send_frame(control, {"t": "zygote-ready", "pid": os.getpid()})
    for message, got in _requests(control, "template"):
        pid = os.fork()
        if pid == 0:
            control.close()
            try:
                _die_with_parent(zygote_pid)
                template_main(message, got)
            except BaseException as e:
                _write_fully(2, ("hearth bootstrap: template failed: %r\n" % (e,)).encode("utf-8", "backslashreplace"))
            _exit(1)
        for fd in got:
            os.close(fd)
        _send_frame(control, {"t": "spawned", "id": message.get("id"), "pid": pid})
        _reap(control)


if __name__ == "__main__":
    if os.environ.get("HEARTH_MODE") == "zygote":
        zygote_main()
    else:
        main()

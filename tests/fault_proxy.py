"""A fault-injecting HTTP proxy on 127.0.0.1 that sits in front of the STS emulator.

Its ``mode`` can be switched at any time, also between the attempts of one call:

- ``"pass"``: forward each request to the emulator unchanged (after ``delay`` seconds, if set);
- ``"throttle"``: answer HTTP 400 with the STS error code ``Throttling``;
- ``"500"`` / ``"503"``: answer HTTP 500 (``InternalFailure``) / 503 (``ServiceUnavailable``)
  with an STS-style XML error body;
- ``"hang"``: accept the connection, read the whole request and never answer; the handler lets
  go when the client closes its end or when the proxy shuts down.

``set(mode, times=N)`` answers only the next N requests that way, then passes again (a transient
fault). ``port`` may name a port to listen on, e.g. one that was refused a moment ago.

Every request received counts as one attempt (:attr:`FaultProxy.attempts`), whatever the mode.
Only loopback is ever contacted: the proxy listens on 127.0.0.1 and forwards to the emulator URL
it is given, which must be a loopback URL too.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal

__all__ = ["MODES", "FaultProxy", "Mode", "closed_port", "unanswered_port"]

Mode = Literal["pass", "throttle", "500", "503", "hang"]
MODES: tuple[Mode, ...] = ("pass", "throttle", "500", "503", "hang")

_ERROR_BODY = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>{kind}</Type>
    <Code>{code}</Code>
    <Message>{message}</Message>
  </Error>
  <RequestId>c0ffee00-0000-4000-8000-{number:012d}</RequestId>
</ErrorResponse>
"""
# mode: (HTTP status, error type, error code, message), as STS answers them.
_ERRORS: dict[str, tuple[int, str, str, str]] = {
    "throttle": (400, "Sender", "Throttling", "Rate exceeded"),
    "500": (500, "Receiver", "InternalFailure",
            "The request processing has failed because of an unknown error."),
    "503": (503, "Receiver", "ServiceUnavailable", "Service is unavailable. Try again later."),
}
# Not forwarded: they describe one connection, not the request.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                         "te", "trailer", "trailers", "transfer-encoding", "upgrade"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connecting to it is refused at once.

    The port is bound (which makes the kernel pick a free one) and released again; nothing
    listens there afterwards unless another program happens to take it in the meantime.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def unanswered_port(probe_timeout: float = 0.3) -> Iterator[int]:
    """A port on 127.0.0.1 where a TCP connect neither succeeds nor fails: its listener's accept
    queue is full, so the kernel drops new SYNs and the client waits for its connect timeout.

    Yields the port; raises OSError when the platform refuses instead of dropping (then a probe
    connect returns at once rather than timing out).
    """
    with ExitStack() as stack:
        listener = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # Linux queues backlog + 1 = 1 connection, never accepted
        port: int = listener.getsockname()[1]
        stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        probe = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        probe.settimeout(probe_timeout)
        try:
            probe.connect(("127.0.0.1", port))
        except TimeoutError:
            pass
        else:
            raise OSError("connections to a full accept queue are not left unanswered here")
        yield port


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    timeout = 60  # an idle kept-alive connection is dropped after this long

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        number, mode, delay = proxy._arrived()
        if mode == "pass":
            self._forward(proxy, body, delay)
        elif mode == "hang":
            self._hang(proxy)
        else:
            status, kind, code, message = _ERRORS[mode]
            self._reply(status, _ERROR_BODY.format(kind=kind, code=code, message=message,
                                                   number=number).encode(),
                        [("Content-Type", "text/xml")])

    def _reply(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _forward(self, proxy: FaultProxy, body: bytes, delay: float) -> None:
        if delay > 0:
            time.sleep(delay)
        target = urllib.parse.urlsplit(proxy.upstream)
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() not in _HOP_BY_HOP}
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port,
                                                timeout=30)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = [(name, value) for name, value in response.getheaders()
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length"]
            self._reply(response.status, data, kept)
        finally:
            connection.close()

    def _hang(self, proxy: FaultProxy) -> None:
        """Say nothing until the client hangs up or the proxy is shut down."""
        self.close_connection = True
        while not proxy._released.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return  # the client gave up (its read timeout) and closed
                except OSError:
                    return


class FaultProxy:
    """A threaded HTTP server on 127.0.0.1:0 in front of ``upstream`` (the STS emulator).

    Use as a context manager; ``url`` is the address to configure as the STS endpoint.
    """

    def __init__(self, upstream: str, mode: Mode = "pass", delay: float = 0.0,
                 port: int = 0) -> None:
        host = urllib.parse.urlsplit(upstream).hostname
        if host not in _LOOPBACK:
            raise ValueError(f"the proxy only forwards to loopback, not {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self.mode: Mode = mode
        self.delay = delay
        self._left: int | None = None  # requests still to answer in ``mode`` before "pass"
        self._count = 0
        self._times: list[float] = []
        self._count_lock = threading.Lock()
        self._released = threading.Event()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.proxy = self
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"fault-proxy-{self.port}", daemon=True)
        self._started = False
        self.closed = False

    def _arrived(self) -> tuple[int, Mode, float]:
        """Count one request; the mode (and delay) that answers it."""
        with self._count_lock:
            self._count += 1
            self._times.append(time.monotonic())
            mode, delay = self.mode, self.delay
            if self._left is not None:
                self._left -= 1
                if self._left <= 0:
                    self.mode, self.delay, self._left = "pass", 0.0, None
            return self._count, mode, delay

    @property
    def attempts(self) -> int:
        """Requests received since start (or the last :meth:`reset`), whatever the mode."""
        with self._count_lock:
            return self._count

    @property
    def arrival_times(self) -> list[float]:
        """``time.monotonic()`` at each request's arrival (after its body was read)."""
        with self._count_lock:
            return list(self._times)

    def reset(self) -> None:
        with self._count_lock:
            self._count = 0
            self._times.clear()

    def set(self, mode: Mode, delay: float = 0.0, times: int | None = None) -> None:
        """Answer from now on in ``mode`` (``delay``: seconds before forwarding, "pass" only);
        with ``times``, only the next ``times`` requests, then pass again."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        with self._count_lock:
            self.mode, self.delay, self._left = mode, delay, times

    def start(self) -> FaultProxy:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def close(self) -> None:
        """Release hanging requests, stop serving and close the listening socket: from then on,
        connections to ``port`` are refused."""
        self.closed = True
        self._released.set()
        if self._started and self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(10)
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FaultProxy({self.url}, mode={self.mode!r}, attempts={self.attempts})"

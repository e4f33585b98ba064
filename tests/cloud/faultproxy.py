"""A small HTTP/1.1-aware TCP proxy that injects transient failures in front of a storage server.

It runs an asyncio loop in a background thread, listens on 127.0.0.1 (a free port) and forwards
to one upstream host:port. It reads each request (head and body, Content-Length or chunked) so
that it can decide per request, not only per connection, what to do with it:

- ``forward``: send it upstream on this connection's upstream socket and relay the response.
- ``reset``: drop the connection with a TCP RST (SO_LINGER 0), no response.
- ``close``: close the connection cleanly (FIN) without any response.
- ``503`` / ``500``: answer a raw ``HTTP/1.1 503``/``500`` and close.
- ``stall``: answer nothing, hold the connection for ``stall_s`` seconds (longer than the
  client's request timeout), then close it.
- ``slow``: wait ``slow_s`` seconds (shorter than the timeout), then forward.
- ``cut``: forward, relay the response head and half of its body, then reset the connection
  (a connection lost in the middle of a download).

``plan(n, method, target)`` chooses the action; ``n`` is the 1-based number of the request
among those of the same method. Everything the proxy did is counted in ``stats`` and listed in
``log`` so that a test can assert that each kind of failure really happened.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import struct
import threading
import time
from typing import Callable

Plan = Callable[[int, str, str], str]


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int, plan: Plan, *, stall_s: float = 6.0, slow_s: float = 1.0):
        self.upstream = (upstream_host, upstream_port)
        self.plan = plan
        self.stall_s = stall_s
        self.slow_s = slow_s
        self.stats: collections.Counter[str] = collections.Counter()
        self.log: list[tuple[float, str, str, str]] = []  # (time, action, method, target)
        self.errors: list[str] = []
        self._per_method: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._tasks: set[asyncio.Task] = set()
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.port = fut.result(timeout=10)
        return self

    def __exit__(self, *exc) -> None:
        fut = asyncio.run_coroutine_threadsafe(self._stop(), self._loop)
        try:
            fut.result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.sleep(0)

    # -- one client connection -------------------------------------------------------------

    def _decide(self, method: str, target: str) -> str:
        with self._lock:
            self._per_method[method] += 1
            n = self._per_method[method]
            action = self.plan(n, method, target)
            self.stats[action] += 1
            self.stats[f"{action} {method}"] += 1
            self.log.append((time.monotonic(), action, method, target))
        return action

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        up_r: asyncio.StreamReader | None = None
        up_w: asyncio.StreamWriter | None = None
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, target, headers = _parse_head(head)
                if headers.get("expect", "").lower() == "100-continue":
                    # Answer the interim response here and forward the request without it.
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    await writer.drain()
                    head = _drop_header(head, b"expect")
                body = await _read_body(reader, headers, request=True)
                action = self._decide(method, target)
                if action == "reset":
                    _rst(writer)
                    return
                if action == "close":
                    return
                if action in ("503", "500"):
                    text = b"<Error><Code>ServiceUnavailable</Code><Message>injected by the test proxy</Message></Error>"
                    reason = b"Service Unavailable" if action == "503" else b"Internal Server Error"
                    writer.write(
                        b"HTTP/1.1 " + action.encode() + b" " + reason + b"\r\n"
                        b"Content-Type: application/xml\r\nContent-Length: " + str(len(text)).encode() + b"\r\n"
                        b"Connection: close\r\n\r\n" + text
                    )
                    await writer.drain()
                    return
                if action == "stall":
                    try:
                        await asyncio.wait_for(reader.read(), timeout=self.stall_s)
                    except (asyncio.TimeoutError, ConnectionError):
                        pass
                    return
                if action == "slow":
                    await asyncio.sleep(self.slow_s)
                elif action not in ("forward", "cut"):
                    raise ValueError(f"unknown action {action!r}")
                if up_w is None:
                    up_r, up_w = await asyncio.open_connection(*self.upstream)
                up_w.write(head + body)
                await up_w.drain()
                resp_head = await up_r.readuntil(b"\r\n\r\n")
                status, resp_headers = _parse_status(resp_head)
                no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
                if no_body:
                    resp_body = b""
                elif "content-length" in resp_headers or "chunked" in resp_headers.get("transfer-encoding", ""):
                    resp_body = await _read_body(up_r, resp_headers, request=False)
                else:
                    resp_body = await up_r.read()  # delimited by the upstream closing
                if action == "cut":
                    writer.write(resp_head + resp_body[: len(resp_body) // 2])
                    await writer.drain()
                    _rst(writer)
                    return
                writer.write(resp_head + resp_body)
                if not no_body and "content-length" not in resp_headers and "chunked" not in resp_headers.get("transfer-encoding", ""):
                    await writer.drain()
                    return
                await writer.drain()
                if "close" in resp_headers.get("connection", "").lower():
                    return
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - recorded for the test to show
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            self._tasks.discard(task)
            for w in (writer, up_w):
                if w is not None:
                    try:
                        w.close()
                    except Exception:  # noqa: BLE001
                        pass


def _rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _drop_header(head: bytes, name: bytes) -> bytes:
    lines = head.split(b"\r\n")
    kept = [line for line in lines if not line.lower().startswith(name + b":")]
    return b"\r\n".join(kept)


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    return method, target, _headers(lines[1:])


def _parse_status(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    return int(lines[0].split(" ", 2)[1]), _headers(lines[1:])


def _headers(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return out


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str], *, request: bool) -> bytes:
    """The raw bytes of a message body (chunk framing kept), as they must be relayed."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        out = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            out += size_line
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    line = await reader.readuntil(b"\r\n")
                    out += line
                    if line == b"\r\n":
                        return bytes(out)
            out += await reader.readexactly(size + 2)
    length = int(headers.get("content-length", "0"))
    return await reader.readexactly(length) if length else b""

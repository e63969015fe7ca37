"""A real HTTP receiver on 127.0.0.1 for webhook tests and the benchmark:
records every request (headers, raw body, the time it arrived) and answers
as told — ``ok`` (204), ``fail`` (500), ``hang`` (sleeps past the sender's
timeout, then 204) or ``block`` (holds the request until released)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived
    path: str


@dataclass
class Receiver:
    mode: str = "ok"
    hang_seconds: float = 3.0
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body,
                                                  time.time(), self.path))
                receiver.arrived.set()
                mode = receiver.mode
                if mode == "hang":
                    time.sleep(receiver.hang_seconds)
                elif mode == "block":
                    while not receiver.release.is_set():  # released by the test (or the server closing)
                        time.sleep(0.05)
                status = 500 if mode == "fail" else 204
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up (timeout) or died

            def log_message(self, *args):  # quiet
                pass

        Server = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 128})  # 5 drops concurrent SYNs
        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

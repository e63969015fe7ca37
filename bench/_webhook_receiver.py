"""A webhook receiver in a process of its own (bench/webhook_delivery.py):
answers 204 at once and appends one JSON line per request to FILE —
``{"id": webhook-id, "serial": data.serial or null, "at": time.time()}``.
Prints its URL on the first line of standard output."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    out = open(sys.argv[1], "a", buffering=1)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            at = time.time()
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()
            with lock:
                out.write(json.dumps({"id": self.headers.get("webhook-id"),
                                      "serial": body["data"].get("serial"), "at": at}) + "\n")

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the default backlog of 5 drops concurrent connections' SYNs (1 s retries)

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}/hook", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

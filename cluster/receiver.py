#!/usr/bin/env python3
"""A webhook receiver for Muster's check scripts (cluster/, crash/, bench/events.sh).

  receiver.py --port-file FILE --out FILE

A threaded HTTP server on 127.0.0.1 (a free port, written to --port-file once it listens)
that answers every POST with 200 and appends one JSON line per delivery to --out: arrival
time (epoch seconds), the `muster-event-id`, `muster-delivery-attempt` and
`logto-signature-sha-256` headers, and the raw body as received. The line is written and
flushed before the answer goes out, so a delivery Muster counts as delivered is on file.
Signatures are checked afterwards against the hook's signing key (cluster/eventcheck.py),
since the key exists only once the hook is made, after the receiver listens.

Standard library only. Runs as its own process so it does not share a GIL with the load.
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    out = open(a.out, "a", buffering=1)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: Muster's client pools connections
        # The status line and headers go out in one write, the body in another: with Nagle's
        # algorithm on, the body waits for the delayed ACK (40 ms on Linux), which capped
        # this receiver near 25 answers a second per connection.
        disable_nagle_algorithm = True

        def do_POST(self):
            n = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(n)
            line = json.dumps({
                "t": time.time(),
                "id": self.headers.get("muster-event-id"),
                "attempt": self.headers.get("muster-delivery-attempt"),
                "sig": self.headers.get("logto-signature-sha-256"),
                "body": raw.decode("utf-8", errors="replace"),
            })
            with lock:
                out.write(line + "\n")
                out.flush()
            self.send_response(200)
            self.send_header("content-length", "2")
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # up to 64 deliveries in flight per instance connect at once

        def handle_error(self, request, client_address):
            # A killed server resets its pooled connections: expected here, not worth a trace.
            if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                super().handle_error(request, client_address)

    srv = Server(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()

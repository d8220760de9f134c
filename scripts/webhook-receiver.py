#!/usr/bin/env python3
"""A webhook receiver for benchmarks: answers every POST with 204 and appends one line per
delivery to a file: `<occurred_at ms> <arrival ms> <type> <webhook-id>`.

    scripts/webhook-receiver.py PORT FILE            # serve until killed
    scripts/webhook-receiver.py --report FILE        # p50 / p90 / p99 / max of arrival - occurred_at

The latency it reports is from the change (the event's `occurred_at`, taken when the request
started its change, before the commit) to the receiver: an upper bound of commit → receiver.
"""
import json
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def millis(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        arrived = time.time() * 1000
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            event = json.loads(body)
            line = f"{millis(event['occurred_at']):.0f} {arrived:.1f} {event['type']} {self.headers.get('webhook-id')}\n"
        except (ValueError, KeyError):
            line = None
        if line:
            with LOCK, open(self.server.out, "a") as out:
                out.write(line)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def report(path: str) -> None:
    latencies = []
    ids = set()
    with open(path) as f:
        for line in f:
            occurred, arrived, _, msg_id = line.split()
            ids.add(msg_id)
            latencies.append(float(arrived) - float(occurred))
    if not latencies:
        print("no deliveries")
        return
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    print(
        f"deliveries={len(latencies)} distinct={len(ids)} "
        f"p50={pct(50):.0f}ms p90={pct(90):.0f}ms p99={pct(99):.0f}ms max={latencies[-1]:.0f}ms"
    )


if __name__ == "__main__":
    if sys.argv[1] == "--report":
        report(sys.argv[2])
    else:
        server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
        server.out = sys.argv[2]
        server.serve_forever()

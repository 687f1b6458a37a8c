"""mason's test service: says who it is over HTTP, calls its links, loops requests.

    mason-testsvc serve                      answer GET on $PORT (default 8080)
    mason-testsvc call SERVICE               one request to $MASON_LINK_<SERVICE>_URL
    mason-testsvc loop URL --count N --rate R --seconds S [--stop-file F]

``serve`` answers ``/`` with a JSON object naming the app, service, replica and
host (from MASON_* variables), and ``/call/<service>`` by calling that link and
returning its answer, so one request crosses both proxies. ``loop`` sends
requests at a fixed rate over fresh connections (bounded by count and time)
and prints one JSON line: how many succeeded and failed, and the first errors.
Standard library only: the image has nothing but Debian's python3.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def whoami() -> dict:
    return {
        key: os.environ.get(f"MASON_{key.upper()}", "")
        for key in ("pod", "app", "service", "replica", "host")
    }


def fetch(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/", headers={"Connection": "close"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def link_url(service: str) -> str:
    name = "MASON_LINK_" + service.upper().replace("-", "_") + "_URL"
    url = os.environ.get(name)
    if not url:
        raise KeyError(f"{name} is not set: {service!r} is not a declared link")
    return url


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        # One write for head and body: two small writes meet Nagle and delayed
        # ACKs on a kept-alive connection and cost 40 ms a request.
        self._headers_buffer.append(b"\r\n" + data)
        self.flush_headers()

    def do_GET(self) -> None:
        if self.path.startswith("/call/"):
            service = self.path[len("/call/") :]
            try:
                status, body = fetch(link_url(service))
                self._send(status, {"via": whoami(), "answer": json.loads(body)})
            except Exception as exc:
                self._send(502, {"via": whoami(), "error": f"{type(exc).__name__}: {exc}"})
            return
        self._send(200, {**whoami(), "path": self.path})

    def log_message(self, *args) -> None:  # quiet: a benchmark target must not log
        pass


def serve() -> None:
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 - in its own network
    server.daemon_threads = True
    server.serve_forever()


def loop(url: str, count: int, rate: float, seconds: float, stop_file: str | None) -> dict:
    ok = failed = 0
    errors: list[str] = []
    latencies: list[float] = []
    interval = 1.0 / rate
    start = time.monotonic()
    deadline = start + seconds
    for i in range(count):
        due = start + i * interval
        now = time.monotonic()
        if now > deadline or (stop_file and os.path.exists(stop_file)):
            break
        if due > now:
            time.sleep(due - now)
        t0 = time.perf_counter()
        try:
            status, _ = fetch(url)
            if status != 200:
                raise RuntimeError(f"HTTP {status}")
            ok += 1
            latencies.append(time.perf_counter() - t0)
        except Exception as exc:
            failed += 1
            if len(errors) < 5:
                errors.append(f"{type(exc).__name__}: {exc}")
    return {
        "ok": ok,
        "failed": failed,
        "errors": errors,
        "elapsed": round(time.monotonic() - start, 3),
        "latencies_ms": [round(x * 1000, 3) for x in latencies] if os.environ.get("LAT") else [],
    }


def main(argv: list[str]) -> int:
    if not argv or argv[0] == "serve":
        serve()
        return 0
    if argv[0] == "call":
        status, body = fetch(link_url(argv[1]))
        sys.stdout.write(body.decode() + "\n")
        return 0 if status == 200 else 1
    if argv[0] == "loop":
        opts = {"--count": "100", "--rate": "50", "--seconds": "30", "--stop-file": ""}
        rest = argv[2:]
        for key, value in zip(rest[::2], rest[1::2], strict=True):
            opts[key] = value
        result = loop(
            argv[1],
            count=int(opts["--count"]),
            rate=float(opts["--rate"]),
            seconds=float(opts["--seconds"]),
            stop_file=opts["--stop-file"] or None,
        )
        sys.stdout.write(json.dumps(result) + "\n")
        return 0 if result["failed"] == 0 else 1
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""mason's sample app: a guestbook over HTTP.

GET /            count the visit in Redis, list the messages from PostgreSQL
POST /?msg=TEXT  store a message (also: GET /sign?msg=TEXT)
GET /health      200 when PostgreSQL and Redis answer

Both addons are reached through mason's mTLS proxy beside this container
(MASON_POSTGRESQL_* and MASON_REDIS_* name it); nothing here knows about TLS.
"""

import json
import os
import socket
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import psycopg2
import redis

PORT = 8080
PREFIX = os.environ.get("MASON_REDIS_PREFIX", "guestbook:")


def db():
    conn = psycopg2.connect(os.environ["MASON_POSTGRESQL_URL"], connect_timeout=5)
    conn.autocommit = True
    return conn


def cache():
    """Redis, when the app was given the addon (visits are counted only then)."""
    url = os.environ.get("MASON_REDIS_URL")
    return redis.Redis.from_url(url, socket_timeout=5) if url else None


def setup():
    with db() as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS messages (id serial PRIMARY KEY, text text NOT NULL, "
            "at timestamptz NOT NULL DEFAULT now())"
        )


class Handler(BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sign(self, text):
        with db() as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO messages (text) VALUES (%s) RETURNING id", (text,))
            return cur.fetchone()[0]

    def do_GET(self):
        url = urlparse(self.path)
        try:
            if url.path == "/health":
                if cache() is not None:
                    cache().ping()
                with db() as conn, conn.cursor() as cur:
                    cur.execute("SELECT 1")
                return self._send(200, {"status": "ok"})
            if url.path == "/sign":
                text = parse_qs(url.query).get("msg", [""])[0]
                return self._send(201, {"id": self._sign(text)})
            visits = cache().incr(PREFIX + "visits") if cache() is not None else None
            with db() as conn, conn.cursor() as cur:
                cur.execute("SELECT text FROM messages ORDER BY id")
                messages = [row[0] for row in cur.fetchall()]
            return self._send(
                200,
                {
                    "app": "guestbook",
                    "served_by": socket.gethostname(),
                    "replica": os.environ.get("MASON_REPLICA"),
                    "host": os.environ.get("MASON_HOST"),
                    "visits": visits,
                    "messages": messages,
                },
            )
        except Exception as exc:  # the client sees why, the log too
            print(f"error: {exc}", file=sys.stderr, flush=True)
            return self._send(503, {"error": str(exc)})

    def do_POST(self):
        text = parse_qs(urlparse(self.path).query).get("msg", [""])[0]
        try:
            return self._send(201, {"id": self._sign(text)})
        except Exception as exc:
            return self._send(503, {"error": str(exc)})

    def log_message(self, fmt, *args):
        print(fmt % args, file=sys.stderr, flush=True)


def check():
    """The container's healthcheck: the app and both addons answer."""
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=3) as resp:
        sys.exit(0 if resp.status == 200 else 1)


if __name__ == "__main__":
    if "--check" in sys.argv:
        check()
    for _ in range(30):  # the addons may still be starting
        try:
            setup()
            break
        except Exception as exc:
            print(f"waiting for PostgreSQL: {exc}", file=sys.stderr, flush=True)
            time.sleep(2)
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()  # noqa: S104

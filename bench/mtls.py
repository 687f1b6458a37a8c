"""Benchmark mason's mTLS sidecar pair: added latency and full TLS 1.3 handshakes per core.

    .venv/bin/python bench/mtls.py [--rate 1000] [--seconds 10] [--out bench/results/mtls.json]

Runs on this machine's Docker engine only, with mason's own images (built if
missing) and containers it names ``mxbench-*`` and removes afterwards:

    client ──plain──▶ caller's proxy ══mTLS 1.3══▶ callee's proxy ──plain──▶ service
    client ─────────────────────── direct ───────────────────────────────▶ service

1. Latency: the same client (Python, in a container on the caller's private
   network) sends GETs at a fixed rate over one kept-alive connection, first
   direct to the service, then through the proxy pair; and again with a fresh
   connection per request (every request pays a connection through both proxies).
   Reports p50/p90/p99/max and the added p50/p99 (through minus direct).
2. Handshakes: client processes on the host open fresh mutual-TLS 1.3
   connections (no resumption) to the callee's proxy on 127.0.0.1 for a fixed
   time; the proxy runs one thread, so handshakes / CPU-seconds it used (from
   its cgroup) is full handshakes per second per core.

Every loop is bounded by count and time; traffic goes only to 127.0.0.1 and the
benchmark's own containers. Writes one JSON document (and prints it).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mason.core import pki, proxy
from mason.providers.docker.sidecar import PROXY, sidecar_image
from tests.sidecars import TESTSVC, service_image

POD = "mxbench"
PREFIX = "mxbench-"
HS_PORT = 18443  # 127.0.0.1 only

CLIENT = r"""
import http.client, json, sys, time, os
host, port = sys.argv[1], int(sys.argv[2])
rate, seconds, keep = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "1"
count = int(rate * seconds)
lat, failed = [], 0
conn = http.client.HTTPConnection(host, port, timeout=5) if keep else None
for _ in range(200):  # warm-up (connections, caches), not measured
    c = conn or http.client.HTTPConnection(host, port, timeout=5)
    c.request("GET", "/"); c.getresponse().read()
    if not keep: c.close()
start = time.perf_counter(); interval = 1.0 / rate
for i in range(count):
    due = start + i * interval
    now = time.perf_counter()
    if due > now:
        time.sleep(due - now)
    t0 = time.perf_counter()
    try:
        c = conn or http.client.HTTPConnection(host, port, timeout=5)
        c.request("GET", "/")
        r = c.getresponse(); r.read()
        if not keep: c.close()
        lat.append(time.perf_counter() - t0)
    except Exception:
        failed += 1
        if keep: conn = http.client.HTTPConnection(host, port, timeout=5)
    if time.perf_counter() - start > seconds * 2:
        break
print(json.dumps({"latencies": lat, "failed": failed, "elapsed": time.perf_counter() - start}))
"""


def docker_flags(params: dict) -> list[str]:
    """`docker create` flags for mason's proxy container settings (as the roles apply)."""
    flags = ["--read-only"] if params["read_only"] else []
    flags += [f for t in params["tmpfs"] for f in ("--tmpfs", t)]
    flags += [f for c in params["cap_drop"] for f in ("--cap-drop", c)]
    flags += [f for c in params["capabilities"] for f in ("--cap-add", c)]
    return flags + [f for o in params["security_opts"] for f in ("--security-opt", o)]


def docker_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def cleanup(client: docker.DockerClient) -> None:
    for c in client.containers.list(all=True, filters={"name": PREFIX}):
        c.remove(force=True)
    for n in client.networks.list(filters={"name": PREFIX}):
        n.remove()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def summary(run: dict) -> dict:
    lat = run["latencies"]
    return {
        "requests": len(lat),
        "failed": run["failed"],
        "achieved_rate": round(len(lat) / run["elapsed"], 1) if run["elapsed"] else 0,
        "p50_ms": round(pct(lat, 0.50), 3),
        "p90_ms": round(pct(lat, 0.90), 3),
        "p99_ms": round(pct(lat, 0.99), 3),
        "max_ms": round(max(lat) * 1000, 3) if lat else None,
    }


def _handshaker(args: tuple[str, str, float]) -> int:
    bundle, ca, seconds = args
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(bundle)
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with (
            socket.create_connection(("127.0.0.1", HS_PORT), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname="api.shop.mxbench.mason") as conn,
        ):
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while conn.recv(4096):
                pass
        done += 1
    return done


def cpu_ns(container) -> int:
    """CPU time (ns) the container used so far, from its cgroup on this machine (v1 or v2)."""
    cid = container.id
    for path in (
        f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage",
        f"/sys/fs/cgroup/docker/{cid}/cpu.stat",
        f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat",
    ):
        if os.path.exists(path):
            text = Path(path).read_text()
            if path.endswith("cpuacct.usage"):
                return int(text)
            usec = next(int(x.split()[1]) for x in text.splitlines() if x.startswith("usage_usec"))
            return usec * 1000
    raise RuntimeError(f"no cgroup CPU accounting found for container {container.name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=float, default=1000.0, help="requests per second (default 1000)")
    ap.add_argument("--seconds", type=float, default=10.0, help="per latency run (default 10)")
    ap.add_argument(
        "--fresh-rate", type=float, default=200.0, help="rate of the fresh-connection runs"
    )
    ap.add_argument("--hs-seconds", type=float, default=8.0, help="handshake run length")
    ap.add_argument("--hs-clients", type=int, default=2, help="handshake client processes")
    ap.add_argument("--out", type=Path, default=Path("bench/results/mtls.json"))
    opts = ap.parse_args()

    client = docker.from_env()
    images = {PROXY: sidecar_image(client, PROXY, print), TESTSVC: service_image(client, print)}
    cleanup(client)
    work = Path(tempfile.mkdtemp(prefix="mxbench-"))
    os.chmod(work, 0o700)
    try:
        ca_key = pki.new_private_key()
        ca = pki.build_ca(POD, ca_key)
        for app_svc in ("shop-web-1", "shop-api-1"):
            app, svc, _ = app_svc.split("-")
            ident = pki.Identity(POD, app, svc)
            key = pki.new_private_key()
            cert = pki.sign_csr(pki.build_csr(key, ident), ident, ca, ca_key)
            d = work / "tls" / app_svc
            d.mkdir(parents=True)
            (d / "proxy.pem").write_bytes(pki.cert_pem(cert) + pki.key_pem(key))
            (d / "ca.pem").write_bytes(pki.cert_pem(ca))
            (d / "crl.pem").write_bytes(pki.crl_pem(pki.build_crl(ca, ca_key)))  # as deploys do
            os.chmod(d / "proxy.pem", 0o600)

        net = {n: f"{PREFIX}{n}" for n in ("web", "api", "edge")}
        client.networks.create(net["web"], internal=True)
        client.networks.create(net["api"], internal=True)
        client.networks.create(net["edge"])
        svc_name = "mason-shop-api-1"  # the name the rendered config forwards to

        def run_proxy(inst: proxy.Instance, network: str, publish: list[str]) -> None:
            cfg = work / "cfg" / inst.name
            cfg.mkdir(parents=True)
            (cfg / "haproxy.cfg").write_text(
                proxy.render_haproxy(inst).replace(
                    "    user haproxy\n", "    nbthread 1\n    user haproxy\n"
                )
            )
            name = f"{PREFIX}proxy-{inst.service}"
            tls = work / "tls" / inst.name
            docker_cli(
                "create", "--name", name, "--network", network, "--network-alias", "mason-proxy",
                "-v", f"{cfg}:/etc/haproxy/mason:ro", "-v", f"{tls}:/etc/haproxy/tls:ro",
                *docker_flags(proxy.proxy_container()), *publish, images[PROXY],
            )  # fmt: skip
            docker_cli("network", "connect", net["edge"], name)
            docker_cli("start", name)

        docker_cli(
            "run", "-d", "--name", f"{PREFIX}api", "--network", net["api"],
            "--network-alias", svc_name, images[TESTSVC],
        )  # fmt: skip
        web_r = {"replica": 1, "host": "bench", "address": "-", "proxy_port": 1}
        api_r = {"replica": 1, "host": "bench2", "address": "-", "proxy_port": 8443}
        plan = {
            "apps": {"shop": {
                "web": {"port": 8080, "scheme": "http", "links": ["api"], "replicas": [web_r]},
                "api": {"port": 8080, "scheme": "http", "replicas": [api_r]},
            }}
        }  # fmt: skip
        api_inst = next(
            i for i in proxy.instances(proxy.plan_from_dict(plan, pod=POD)) if i.service == "api"
        )
        run_proxy(api_inst, net["api"], ["-p", f"127.0.0.1:{HS_PORT}:8443"])
        api_proxy = client.containers.get(f"{PREFIX}proxy-api")
        api_proxy.reload()
        api_ip = api_proxy.attrs["NetworkSettings"]["Networks"][net["edge"]]["IPAddress"]
        plan["apps"]["shop"]["api"]["replicas"][0]["address"] = api_ip
        web_inst = next(
            i for i in proxy.instances(proxy.plan_from_dict(plan, pod=POD)) if i.service == "web"
        )
        run_proxy(web_inst, net["web"], [])
        # The client sits on the caller's private network, and on the service's for the baseline.
        docker_cli(
            "run", "-d", "--name", f"{PREFIX}client", "--network", net["web"],
            "--entrypoint", "sleep", images[TESTSVC], "3600",
        )  # fmt: skip
        docker_cli("network", "connect", net["api"], f"{PREFIX}client")
        time.sleep(3)  # health checks mark the upstream up

        def load(url_host: str, port: int, rate: float, keep: bool) -> dict:
            proc = docker_cli(
                "exec", f"{PREFIX}client", "python3", "-c", CLIENT, url_host, str(port),
                str(rate), str(opts.seconds), "1" if keep else "0",
            )  # fmt: skip
            return summary(json.loads(proc.stdout))

        results: dict = {
            "benchmark": "mason mTLS sidecar pair (HAProxy 2.6, TLS 1.3, ECDSA P-256)",
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "loadavg_before": os.getloadavg(),
            },
            "rate": opts.rate,
            "seconds": opts.seconds,
        }
        print("latency, kept-alive connection ...", file=sys.stderr)
        direct = load(svc_name, 8080, opts.rate, True)
        through = load(f"{PREFIX}proxy-web", 15001, opts.rate, True)
        results["keepalive"] = {
            "direct": direct,
            "through_proxies": through,
            "added_p50_ms": round(through["p50_ms"] - direct["p50_ms"], 3),
            "added_p99_ms": round(through["p99_ms"] - direct["p99_ms"], 3),
        }
        print("latency, fresh connection per request ...", file=sys.stderr)
        direct_f = load(svc_name, 8080, opts.fresh_rate, False)
        through_f = load(f"{PREFIX}proxy-web", 15001, opts.fresh_rate, False)
        results["fresh_connection"] = {
            "rate": opts.fresh_rate,
            "direct": direct_f,
            "through_proxies": through_f,
            "added_p50_ms": round(through_f["p50_ms"] - direct_f["p50_ms"], 3),
            "added_p99_ms": round(through_f["p99_ms"] - direct_f["p99_ms"], 3),
        }
        print("full TLS 1.3 handshakes ...", file=sys.stderr)
        bundle, ca_file = work / "tls/shop-web-1/proxy.pem", work / "tls/shop-web-1/ca.pem"
        before = cpu_ns(api_proxy)
        t0 = time.monotonic()
        with multiprocessing.Pool(opts.hs_clients) as pool:
            counts = pool.map(
                _handshaker, [(str(bundle), str(ca_file), opts.hs_seconds)] * opts.hs_clients
            )
        wall = time.monotonic() - t0
        used = (cpu_ns(api_proxy) - before) / 1e9
        total = sum(counts)
        results["handshakes"] = {
            "full_handshakes": total,
            "wall_seconds": round(wall, 2),
            "per_second_wall": round(total / wall, 1),
            "proxy_cpu_seconds": round(used, 3),
            "per_cpu_second": round(total / used, 1) if used else None,
            "note": "mutual auth, no resumption; proxy pinned to one thread",
        }
        results["loadavg_after"] = os.getloadavg()
    finally:
        cleanup(client)
        subprocess.run(["rm", "-rf", str(work)], check=False)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

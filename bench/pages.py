"""The main pages under 16 concurrent clients on gunicorn, beside a bare Flask endpoint.

    python -m bench.pages                                   # SQLite demo county, built here
    python -m bench.pages --database sqlite:////tmp/demo.sqlite   # reuse a seeded database
    python -m bench.pages --backend postgresql              # the demo county on PostGIS

Builds the demo county (``flask db upgrade`` then ``flask demo seed``; the build time is not in
the figures), then starts two gunicorns with the SAME configuration as the production image
(``-w 3``, sync workers, the Dockerfile's command line): one serving the app
(``app:create_app()``), one serving a bare Flask app whose one endpoint returns a small string
(``bench.pages:bare_app()``). Each demo login the main pages need logs in once (the login page's
CSRF token, then the form), and a load generator in separate processes (16 clients: 4
processes of 4 threads, each client one request at a time, no pause) GETs, round-robin, the
household page and the collective page (the village administrator), "my household" and the
marketplace (the farmer), the bureau's queue (the bureau's reviewer). Every answer must be a
200 with the page's HTML: anything else fails the run.

A round is 1 s of warm-up then ``--seconds`` of measurement of the pages, then the same of the
bare endpoint; the figures are the medians over ``--rounds`` rounds: the pages' p95 latency
(``page_p95_ms``) and their requests per second divided by the bare endpoint's
(``page_throughput_vs_bare``). Results go to bench/out/pages_<backend>.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 (the demo county's published password)
CLIENTS = 16
PROCESSES = 4
#: The production image's gunicorn (Dockerfile), less the address.
GUNICORN = ["-w", "3", "--timeout", "60", "--graceful-timeout", "30"]


def bare_app():
    """The anchor: Flask with one endpoint returning a small string, nothing else."""
    from flask import Flask

    bare = Flask("bare")

    @bare.get("/")
    def hello() -> str:
        return "ok"

    return bare


# --- what the clients ask for


@dataclass
class Login:
    username: str
    password: str
    urls: list[str]
    cookie: str = ""


@dataclass
class Plan:
    """Who logs in and which pages each of them GETs."""

    logins: list[Login] = field(default_factory=list)

    def requests(self) -> list[tuple[str, str]]:
        """(url, cookie) pairs, the logins' pages interleaved."""
        out = []
        longest = max(len(x.urls) for x in self.logins)
        for i in range(longest):
            for x in self.logins:
                if i < len(x.urls):
                    out.append((x.urls[i], x.cookie))
        return out


def demo_plan(database_url: str) -> Plan:
    """The demo county's main pages, with the demo logins that read them."""
    import sqlalchemy as sa

    from app.config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(database_url))
    with engine.connect() as conn:

        def one(sql: str, **params) -> int:
            value = conn.execute(sa.text(sql), params).scalar()
            if value is None:
                raise SystemExit(f"the demo county is not there: {sql} found nothing")
            return int(value)

        def household_of(username: str) -> int:
            return one(
                "SELECT m.household_uid FROM app_user u JOIN household_member m"
                " ON m.person_uid = u.person_uid AND m.end_lifespan IS NULL"
                " WHERE u.username = :u",
                u=username,
            )

        collective = one(
            "SELECT uc.collective_id FROM app_user u JOIN user_collective uc"
            " ON uc.user_id = u.id WHERE u.username = 'village_admin'"
        )
        household = household_of("farmer")
    engine.dispose()
    return Plan(
        [
            Login(
                "village_admin",
                DEMO_PASSWORD,
                [f"/households/{household}", f"/collectives/{collective}"],
            ),
            Login("farmer", DEMO_PASSWORD, ["/my", "/market/"]),
            Login("bureau", DEMO_PASSWORD, ["/market/queue"]),
        ]
    )


# --- HTTP, stdlib only


def _get(conn: http.client.HTTPConnection, url: str, cookie: str = "") -> tuple[int, bytes]:
    conn.request("GET", url, headers={"Cookie": cookie} if cookie else {})
    r = conn.getresponse()
    return r.status, r.read()


def log_in(port: int, login: Login) -> str:
    """The session cookie of a login through the login form (CSRF token and all)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/login")
    r = conn.getresponse()
    page = r.read().decode()
    jar = {}
    for name, value in r.getheaders():
        if name.lower() == "set-cookie":
            k, v = value.split(";", 1)[0].split("=", 1)
            jar[k] = v
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    form = {"username": login.username, "password": login.password}
    if token:
        form["csrf_token"] = token.group(1)
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    conn.request(
        "POST",
        "/login",
        body=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    r = conn.getresponse()
    r.read()
    for name, value in r.getheaders():
        if name.lower() == "set-cookie":
            k, v = value.split(";", 1)[0].split("=", 1)
            jar[k] = v
    conn.close()
    if r.status not in (302, 303):
        raise SystemExit(f"{login.username} could not log in (HTTP {r.status})")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _client_process(port, requests, threads, offset, ready, times, out) -> None:
    """One load-generating process: ``threads`` clients, each a request at a time, from the
    moment every process is ready (``ready``, a barrier) and the clock is set (``times``)."""
    ready.wait()
    while times[2] == 0:  # the clock is set just after the barrier
        time.sleep(0.001)
    start_at, warm_until, stop_at = times[:]
    results: list[tuple[list[float], int, list[str]]] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies: list[float] = []
        bad: list[str] = []
        done = 0  # warm-up and the last one included: the servers' CPU is spent on all
        i = offset + k
        while time.time() < start_at:
            time.sleep(0.001)
        while True:
            url, cookie = requests[i % len(requests)]
            i += 1
            began = time.perf_counter()
            try:
                status, body = _get(conn, url, cookie)
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status, body = _get(conn, url, cookie)
            took = time.perf_counter() - began
            now = time.time()
            done += 1
            if now >= stop_at:
                break
            if now >= warm_until:
                latencies.append(took * 1000)
                if status != 200 or not body:
                    bad.append(f"{url}: HTTP {status}")
        conn.close()
        with lock:
            results.append((latencies, done, bad))

    pool = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(results)


def load(port: int, requests: list[tuple[str, str]], seconds: float, warm: float = 1.0) -> dict:
    """``CLIENTS`` clients in ``PROCESSES`` processes GET ``requests`` round-robin for
    ``warm`` + ``seconds``; the figures of the last ``seconds``, and the server's CPU time
    per request (over every request of the round: a figure the machine's other work does not
    inflate as much as it does the wall-clock ones)."""
    cpu_before = server_cpu_s(port)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    ready = ctx.Barrier(PROCESSES + 1)
    times = ctx.Array("d", 3)
    per = CLIENTS // PROCESSES
    procs = [
        ctx.Process(target=_client_process, args=(port, requests, per, p * per, ready, times, out))
        for p in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    ready.wait(timeout=300)  # every process started (spawning takes a while on a busy machine)
    start_at = time.time() + 0.05
    times[:] = [start_at, start_at + warm, start_at + warm + seconds]
    gathered = [out.get(timeout=seconds + warm + 120) for _ in procs]
    for p in procs:
        p.join()
    cpu = server_cpu_s(port) - cpu_before
    done = sum(n for batch in gathered for _l, n, _b in batch)
    latencies = sorted(x for batch in gathered for lat, _n, _b in batch for x in lat)
    bad = [b for batch in gathered for _l, _n, bads in batch for b in bads]
    if bad:
        raise SystemExit(f"{len(bad)} answers were not pages, e.g. {bad[:3]}")
    if not latencies:
        return {"requests": 0, "per_s": 0.0, "p50_ms": 0.0, "p95_ms": 0.0, "cpu_ms": 0.0}
    return {
        "cpu_ms": round(cpu * 1000 / done, 3) if done else 0.0,
        "requests": len(latencies),
        "per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 2),
    }


# --- servers


#: The gunicorn master's pid of each port served.
_MASTERS: dict[int, int] = {}
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def server_cpu_s(port: int) -> float:
    """CPU seconds (user + system) used so far by the gunicorn serving ``port``: its master
    and live workers, from /proc (0 where there is no /proc)."""
    master = _MASTERS.get(port)
    if master is None or not os.path.exists(f"/proc/{master}"):
        return 0.0
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        children = []
    total = 0
    for pid in [str(master), *children]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a worker that just ended
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(target: str, env: dict[str, str], ready: str = "/") -> Iterator[int]:
    """``target`` served by gunicorn with the production image's options; yields the port."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", *GUNICORN, "-b", f"127.0.0.1:{port}", target]
    with tempfile.TemporaryFile() as log:
        yield from _serve(cmd, port, env, log, ready)


def _serve(cmd: list[str], port: int, env: dict[str, str], log, ready: str) -> Iterator[int]:
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)
    _MASTERS[port] = proc.pid
    try:
        deadline = time.time() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError as err:
                if proc.poll() is not None or time.time() > deadline:
                    log.seek(0)
                    tail = log.read().decode()[-3000:]
                    raise SystemExit(f"gunicorn did not start:\n{tail}") from err
                time.sleep(0.2)
        _wait_ready(port, ready, deadline + 120)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(port: int, path: str, deadline: float) -> None:
    """Until every worker answers: gunicorn listens before its workers have built the app."""
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            status, _body = _get(conn, path)
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        if time.time() > deadline:
            raise SystemExit("gunicorn's workers did not answer")
        time.sleep(0.5)


def app_env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-pages-secret",
        "PYTHONPATH": str(ROOT),
    }


def measure(
    database_url: str, plan: Plan, *, rounds: int, seconds: float, warm: float = 3.0
) -> dict:
    """Both servers up, the logins made, then ``rounds`` rounds of pages then bare."""
    # The same app with kept pages off (PAGE_CACHE_SECONDS=0): every view rendered, the cost of
    # a page the first time it is seen after a change.
    rendered_env = {**app_env(database_url), "PAGE_CACHE_SECONDS": "0"}
    with (
        gunicorn("app:create_app()", app_env(database_url), "/healthz") as app_port,
        gunicorn("app:create_app()", rendered_env, "/healthz") as rendered_port,
        gunicorn("bench.pages:bare_app()", {"PYTHONPATH": str(ROOT)}) as bare_port,
    ):
        for login in plan.logins:
            login.cookie = log_in(app_port, login)
        requests = plan.requests()
        # Every worker up and warm (templates compiled, connections open) before timing.
        load(app_port, requests, seconds=warm, warm=0)
        load(rendered_port, requests, seconds=warm, warm=0)
        load(bare_port, [("/", "")], seconds=warm / 3, warm=0)
        pages, rendered, bare = [], [], []
        for r in range(rounds):
            pages.append(load(app_port, requests, seconds, warm=min(1.0, warm)))
            rendered.append(load(rendered_port, requests, seconds, warm=min(1.0, warm)))
            bare.append(load(bare_port, [("/", "")], seconds, warm=min(1.0, warm)))
            print(
                f"  round {r + 1}: pages {pages[-1]['per_s']}/s p95 {pages[-1]['p95_ms']} ms"
                f" {pages[-1]['cpu_ms']} ms CPU; rendered {rendered[-1]['per_s']}/s"
                f" p95 {rendered[-1]['p95_ms']} ms {rendered[-1]['cpu_ms']} ms CPU;"
                f" bare {bare[-1]['per_s']}/s p95 {bare[-1]['p95_ms']} ms"
                f" {bare[-1]['cpu_ms']} ms CPU; load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    if not all(x["requests"] for x in pages + rendered + bare):
        raise SystemExit("a round completed no request: make the rounds longer")
    pages_per_s = statistics.median(p["per_s"] for p in pages)
    bare_per_s = statistics.median(b["per_s"] for b in bare)
    page_cpu = statistics.median(p["cpu_ms"] for p in pages)
    bare_cpu = statistics.median(b["cpu_ms"] for b in bare)
    return {
        "page_cpu_ms": page_cpu,
        "bare_cpu_ms": bare_cpu,
        # what the throughput ratio would be with the servers alone on the machine's cores
        "cpu_ratio_bare_to_page": round(bare_cpu / page_cpu, 3) if page_cpu else 0.0,
        "rounds": {"pages": pages, "rendered": rendered, "bare": bare},
        "page_p95_ms": statistics.median(p["p95_ms"] for p in pages),
        "page_p50_ms": statistics.median(p["p50_ms"] for p in pages),
        "page_per_s": pages_per_s,
        "bare_p95_ms": statistics.median(b["p95_ms"] for b in bare),
        "bare_per_s": bare_per_s,
        "page_throughput_vs_bare": round(pages_per_s / bare_per_s, 3),
        "rendered_p95_ms": statistics.median(p["p95_ms"] for p in rendered),
        "rendered_per_s": statistics.median(p["per_s"] for p in rendered),
        "rendered_cpu_ms": statistics.median(p["cpu_ms"] for p in rendered),
        "rendered_throughput_vs_bare": round(
            statistics.median(p["per_s"] for p in rendered) / bare_per_s, 3
        ),
        "urls": [u for u, _c in requests],
    }


# --- the demo county


def build_demo(backend: str) -> tuple[str, float]:
    """A migrated, seeded demo county; its URL and the seconds it took."""
    started = time.perf_counter()
    if backend == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-pages-')}/demo.sqlite"
    else:
        import sqlalchemy as sa

        name = f"bench_pages_{os.getpid()}"
        admin = sa.create_engine(
            os.environ.get(
                "BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
            ),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        admin.dispose()
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        engine.dispose()
    env = {**os.environ, **app_env(url), "FLASK_APP": "app"}
    for args in (["db", "upgrade"], ["demo", "seed"]):
        subprocess.run(
            [sys.executable, "-m", "flask", *args],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return url, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database", help="a seeded demo county's URL (else one is built)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    build_s = 0.0
    url = args.database
    if url is None:
        print(f"building the demo county on {args.backend}…", flush=True)
        url, build_s = build_demo(args.backend)
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    result = measure(url, demo_plan(url), rounds=args.rounds, seconds=args.seconds)
    result.update(
        {
            "backend": backend,
            "clients": CLIENTS,
            "gunicorn": GUNICORN,
            "build_s": round(build_s, 1),
            "seconds_per_round": args.seconds,
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "python": platform.python_version(),
        }
    )
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"pages_{backend}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"pages p95 {result['page_p95_ms']} ms, {result['page_per_s']}/s;"
        f" bare {result['bare_per_s']}/s; ratio {result['page_throughput_vs_bare']}"
        f" -> {path}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

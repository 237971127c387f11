"""Submission throughput and latency under gunicorn + PostgreSQL, next to a bare-insert baseline.

    .venv/bin/python bench/submit.py [--clients 20] [--requests 400] [--workers 4] [--threads 2]

Creates a fresh database (default `amtsweg_bench`), seeds one service with a realistic 15-field
form and N citizens each holding complete drafts, starts gunicorn on the bench app
(bench/bench_app.py: the production app + a bench-only `POST /bench/baseline` doing one INSERT),
logs every client in through the real login form, warms both paths up (5 baseline calls and one
submission per client, so every worker has parsed the form and workflow before measuring), then
measures with the same client pool:
  1. baseline: POST /bench/baseline
  2. submit:   POST /antrag/<draft>/absenden (CSRF, declaration, the stamp of the draft's
     check-answers page, fetched by each client beforehand) -> 302 to the confirmation
and prints throughput, p50/p95/p99 latency, CPU per request of gunicorn, PostgreSQL and the load
generator itself (this process), and the ratio. Checks afterwards that every draft became
exactly one request with a unique reference number and an outbox row.
"""

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ would be sys.path[0] and its modules (bench/queue.py) would shadow the stdlib.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

PASSWORD = "Bench-Passwort-2026!"  # noqa: S105  (throwaway accounts in a throwaway database)
SERVICE_SLUG = "bench-bewohnerparken"

FORM = json.loads((Path(__file__).parent / "form_15_fields.json").read_text())  # 15 fields, 4 pages


def answers_for(n: int) -> dict:
    return {
        "vorname": "Erika",
        "nachname": f"Mustermann {n}",
        "geburtsdatum": "1984-03-12",
        "email": f"erika{n}@example.org",
        "telefon": "0203 283-0",
        "anschrift": {
            "street": "Sonnenwall",
            "number": str(n % 90 + 1),
            "postcode": "47051",
            "city": "Duisburg",
        },
        "wohnhaft_seit": "2019-07-01",
        "kennzeichen": f"DU-AB {1000 + n % 8000}",
        "fahrzeugart": "pkw",
        "firmenwagen": False,
        "hersteller": "Volkswagen",
        "erstzulassung": "2020-05-15",
        "iban": "DE89370400440532013000",
        "kontoinhaber": f"Erika Mustermann {n}",
        "bemerkung": "",
    }


# --- setup --------------------------------------------------------------------------------------


def recreate_database(name: str) -> str:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1/{name}"


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def bench_env(db_url: str, instance: Path, redis_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "AMTSWEG_INSTANCE": str(instance),
            "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "1024",
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "MAIL_BACKEND": "file",
        }
    )
    return env


def seed(env: dict, clients: int, per_client: int) -> list[list[tuple[str, str]]]:
    """Schema, service + form + workflow, users with drafts. Returns per client [(email, draft_id)]."""
    os.environ.update(env)
    from sqlalchemy import text

    from bench.bench_app import BASELINE_TABLE, create_bench_app
    from extensions import db
    from forms.dynamic import validate_answers
    from models import Department, Draft, FormDefinition, Service, User
    from models.base import utcnow
    from services.formdefs import load_spec, publish_form
    from services.passwords import hash_password
    from services.seed import SeedReport
    from services.seed.workflows import seed_workflows

    app = create_bench_app()
    with app.app_context():
        db.create_all()
        db.session.execute(text(f"CREATE TABLE {BASELINE_TABLE} (id bigserial PRIMARY KEY, payload text)"))
        dept = Department(
            slug="strassenverkehrsamt", name_de="Straßenverkehrsamt", name_en="Road traffic office"
        )
        service = Service(
            slug=SERVICE_SLUG,
            title_de="Bewohnerparkausweis",
            title_en="Resident parking permit",
            department=dept,
            fee_cents=3000,
        )
        db.session.add_all([dept, service])
        db.session.flush()
        definition = FormDefinition(service_id=service.id, draft=FORM)
        db.session.add(definition)
        db.session.flush()
        version = publish_form(definition, None, "Bench")
        seed_workflows(SeedReport())
        spec = load_spec(version)
        problems = validate_answers(spec, answers_for(0))
        assert not problems, problems
        password_hash = hash_password(PASSWORD)
        plan = []
        for c in range(clients):
            user = User(
                email=f"bench{c}@example.org",
                password_hash=password_hash,
                full_name=f"Bench {c}",
                email_confirmed_at=utcnow(),
            )
            db.session.add(user)
            db.session.flush()
            drafts = [
                Draft(
                    user_id=user.id,
                    service_id=service.id,
                    form_version_id=version.id,
                    answers=answers_for(c * per_client + i),
                    last_page="zahlung",
                )
                for i in range(per_client)
            ]
            db.session.add_all(drafts)
            db.session.flush()
            plan.append([(user.email, d.public_id) for d in drafts])
        db.session.commit()
        db.engine.dispose()
    return plan


def verify(env: dict, expected: int) -> str:
    from sqlalchemy import text

    from bench.bench_app import create_bench_app
    from extensions import db

    app = create_bench_app()
    with app.app_context():
        q = db.session.execute(
            text("SELECT count(*), count(DISTINCT reference), count(DISTINCT draft_id) FROM service_requests")
        ).one()
        outbox = db.session.scalar(text("SELECT count(DISTINCT request_id) FROM outbox_jobs"))
        events = db.session.scalar(text("SELECT count(*) FROM request_events WHERE kind = 'submitted'"))
        db.engine.dispose()
    import redis

    queued = redis.Redis.from_url(env["REDIS_URL"]).llen("rq:queue:amtsweg")  # no worker runs here
    ok = q[0] == q[1] == q[2] == expected == outbox == events == queued
    return (
        f"requests={q[0]} unique refs={q[1]} drafts={q[2]} with outbox={outbox} submitted events={events} "
        f"RQ jobs={queued} -> {'OK' if ok else 'MISMATCH (expected ' + str(expected) + ')'}"
    )


def wait_handed_over(env: dict, timeout: float = 60) -> float:
    """Seconds until every outbox row is handed to RQ (by the relay, or already by the writer)."""
    import redis

    started, conn = time.monotonic(), redis.Redis.from_url(env["REDIS_URL"])
    import psycopg

    url = env["DATABASE_URL"].replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url) as db_conn:
        rows = db_conn.execute("SELECT count(*) FROM outbox_jobs").fetchone()[0]
    while conn.llen("rq:queue:amtsweg") < rows and time.monotonic() - started < timeout:
        time.sleep(0.01)
    return time.monotonic() - started


# --- server ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(env: dict, port: int, workers: int, threads: int):
    cmd = [
        str(ROOT / ".venv/bin/gunicorn"),
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "-k",
        "gthread",
        "-b",
        f"127.0.0.1:{port}",
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
        "bench.bench_app:create_bench_app()",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("gunicorn did not start")


def start_relay(env: dict):
    """The outbox relay, as production runs it: with OUTBOX_HANDOVER=relay it enqueues the submits' rows."""
    cmd = [str(ROOT / ".venv/bin/flask"), "--app", "app:create_app", "outbox", "relay"]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL)


def stop(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


# --- clients --------------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP connection with a cookie (the session) and a CSRF token."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""
        self.csrf = ""

    def request(self, method, path, form=None):
        body = urllib.parse.urlencode(form) if form is not None else None
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            resp = self._send(method, path, body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # the server closed an idle keep-alive connection before our request reached it
            self.conn.close()
            resp = self._send(method, path, body, headers)
        data = resp.read()
        for header, value in resp.getheaders():
            if header.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return resp.status, resp.getheader("Location") or "", data.decode("utf-8", "replace")

    def _send(self, method, path, body, headers):
        self.conn.request(method, path, body=body, headers=headers)
        return self.conn.getresponse()

    def login(self, email: str, first_draft: str) -> None:
        _, _, page = self.request("GET", "/anmelden")
        self.csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        status, _, _ = self.request(
            "POST", "/anmelden", {"email": email, "password": PASSWORD, "csrf_token": self.csrf}
        )
        assert status in (302, 303), f"login failed: {status}"
        self.review(first_draft)

    def review(self, draft_id: str) -> str:
        """Open the draft's check-answers page as a citizen does before submitting; its stamp."""
        status, _, page = self.request("GET", f"/antrag/{draft_id}/pruefen")
        assert status == 200, f"review page: {status}"
        self.csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        return review_stamp(page)


def review_stamp(page: str) -> str:
    """The check-answers page's stamp (services.review_stamp): the submit then skips re-validation."""
    return re.search(r'name="checked" value="([0-9a-f]{64})"', page).group(1)


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def group_cpu(pgid: int | None) -> float:
    """CPU seconds used so far by the processes of one process group."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if pgid is not None and entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    total += _proc_cpu(int(entry.name))
            except OSError:
                continue
    return total


def server_cpu(gunicorn_pgid: int, relay_pgid: int | None, database: str) -> tuple[float, float, float]:
    """CPU seconds used so far by gunicorn, by the relay and by the database's backends."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1/postgres") as conn:
        pids = [
            r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))
        ]
    return group_cpu(gunicorn_pgid), group_cpu(relay_pgid), sum(_proc_cpu(pid) for pid in pids)


def run_phase(clients, jobs_per_client, make_call) -> tuple[float, list[float]]:
    """Every client runs its jobs back to back; returns (wall seconds, latencies in ms)."""
    latencies, errors, lock = [], [], threading.Lock()
    barrier = threading.Barrier(len(clients) + 1)

    def run(index, client):
        mine = []
        barrier.wait()
        for job in jobs_per_client[index]:
            started = time.perf_counter()
            try:
                make_call(client, job)
            except Exception as exc:  # reported after the phase
                errors.append(repr(exc))
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed calls, first: {errors[0]}")
    return wall, latencies


def baseline_call(client, _job):
    status, _, _ = client.request("POST", "/bench/baseline", {})
    assert status == 204, status


def review_call(client, job):
    draft_id, stamps = job
    stamps[draft_id] = client.review(draft_id)


def submit_call(client, job):
    draft_id, stamp = job
    form = {"csrf_token": client.csrf, "declaration": "y", "checked": stamp}
    status, location, _ = client.request("POST", f"/antrag/{draft_id}/absenden", form)
    assert status in (302, 303) and "/bestaetigung" in location, (status, location)


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def describe(name, wall, lat) -> tuple[float, str]:
    rps = len(lat) / wall
    line = (
        f"{name:<9} {len(lat):>5} req in {wall:6.2f} s  {rps:8.1f} req/s  "
        f"p50 {statistics.median(lat):6.1f} ms  p95 {pct(lat, 95):6.1f} ms  p99 {pct(lat, 99):6.1f} ms"
    )
    return rps, line


def cpu_note(seconds, n) -> str:
    web, relay, database, generator = (x * 1000 / n for x in seconds)
    return (
        f" | CPU/req: gunicorn {web:4.2f} ms, relay {relay:4.2f} ms, PostgreSQL {database:4.2f} ms, "
        f"generator {generator:4.2f} ms"
    )


def measure(args, env, clients, plan, stamps, web_pgid, relay_pgid) -> list[dict]:
    """Baseline and submit phases alternating for --rounds rounds (the host drifts within a run).

    Each round's submit phase ends when the relay has handed its last row to RQ, so the relay's
    CPU for those rows counts for them. CPU per phase: gunicorn, relay, PostgreSQL, this process.
    """

    def cpu():
        return (*server_cpu(web_pgid, relay_pgid, args.database), time.process_time())

    def delta(after, before):
        return [a - b for a, b in zip(after, before, strict=True)]

    drafts = [[d for _, d in jobs[1:]] for jobs in plan]
    per_round = len(drafts[0]) // args.rounds
    rounds = []
    for number in range(args.rounds):
        mine = [d[number * per_round : (number + 1) * per_round] for d in drafts]
        c0 = cpu()
        base_wall, base_lat = run_phase(clients, [[None] * per_round for _ in clients], baseline_call)
        c1 = cpu()
        sub_wall, sub_lat = run_phase(clients, [[(d, stamps[d]) for d in ds] for ds in mine], submit_call)
        lag = wait_handed_over(env)
        c2 = cpu()
        rounds.append(
            {
                "base_wall": base_wall, "base_lat": base_lat, "base_rps": len(base_lat) / base_wall,
                "sub_wall": sub_wall, "sub_lat": sub_lat, "sub_rps": len(sub_lat) / sub_wall,
                "base_cpu": delta(c1, c0), "sub_cpu": delta(c2, c1), "lag": lag,
            }
        )
    return rounds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1200, help="submissions (and baseline calls)")
    parser.add_argument("--rounds", type=int, default=3, help="baseline and submit phases alternate")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)  # as docker/entrypoint.sh
    parser.add_argument("--database", default="amtsweg_bench")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/13",
        help="a Redis database of its own: flushed before/after",
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--handover",
        choices=("relay", "commit"),
        default="relay",
        help="who enqueues the outbox rows: the relay woken by NOTIFY (default on PostgreSQL) or gunicorn",
    )
    args = parser.parse_args()

    per_client = max(args.rounds, args.requests // args.clients // args.rounds * args.rounds)
    total = per_client * args.clients
    instance = Path("/tmp") / f"amtsweg-bench-{os.getpid()}"
    db_url = recreate_database(args.database)
    flush_redis(args.redis_url)
    env = dict(bench_env(db_url, instance, args.redis_url), OUTBOX_HANDOVER=args.handover)
    print(f"seeding {args.clients} citizens x {per_client} drafts (15-field form) into {args.database} ...")
    plan = seed(env, args.clients, per_client + 1)  # the first draft of each client is its warm-up
    port = free_port()
    proc = start_gunicorn(env, port, args.workers, args.threads)
    relay = start_relay(env) if args.handover == "relay" else None
    relay_pgid = relay.pid if relay is not None else None
    try:
        clients = [Client(port) for _ in range(args.clients)]
        for client, jobs in zip(clients, plan, strict=True):
            client.login(jobs[0][0], jobs[0][1])
        # every draft's check-answers page, as each citizen opens it before submitting (not measured)
        stamps: dict[str, str] = {}
        run_phase(clients, [[(d, stamps) for _, d in jobs] for jobs in plan], review_call)
        run_phase(clients, [[None] * 5 for _ in clients], baseline_call)
        run_phase(clients, [[(jobs[0][1], stamps[jobs[0][1]])] for jobs in plan], submit_call)
        rounds = measure(args, env, clients, plan, stamps, proc.pid, relay_pgid)
    finally:
        stop(proc)
        if relay is not None:
            stop(relay)
    print(
        f"gunicorn gthread workers={args.workers} threads={args.threads}, {args.clients} concurrent clients, "
        f"PostgreSQL {args.database}, outbox hand-over: {args.handover}, {len(rounds)} rounds"
    )
    for number, r in enumerate(rounds, 1):
        print(
            f"round {number}: baseline {r['base_rps']:6.1f} req/s, submit {r['sub_rps']:6.1f} req/s "
            f"(p95 {pct(r['sub_lat'], 95):5.1f} ms) -> {r['sub_rps'] / r['base_rps']:.1%}"
        )
    base_lat = [x for r in rounds for x in r["base_lat"]]
    sub_lat = [x for r in rounds for x in r["sub_lat"]]
    base_cpu = [sum(r["base_cpu"][i] for r in rounds) for i in range(4)]
    sub_cpu = [sum(r["sub_cpu"][i] for r in rounds) for i in range(4)]
    _, base_line = describe("baseline", sum(r["base_wall"] for r in rounds), base_lat)
    _, sub_line = describe("submit", sum(r["sub_wall"] for r in rounds), sub_lat)
    print(base_line + cpu_note(base_cpu, len(base_lat)))
    print(sub_line + cpu_note(sub_cpu, len(sub_lat)))
    ratio = statistics.median(r["sub_rps"] / r["base_rps"] for r in rounds)
    cpu_ratio = (sum(base_cpu) / len(base_lat)) / (sum(sub_cpu) / len(sub_lat))
    p95 = pct(sub_lat, 95)
    print(
        f"ratio submit/baseline throughput (median of the rounds): {ratio:.1%}  (target >= 50%)  "
        f"submit p95 {p95:.1f} ms (target < 150 ms) -> {'MET' if ratio >= 0.5 and p95 < 150 else 'NOT MET'}"
    )
    print(f"ratio of machine CPU per request, baseline/submit: {cpu_ratio:.1%}")
    lag = max(r["lag"] for r in rounds)
    print(f"last outbox row handed to RQ {lag * 1000:.0f} ms after the last submit's response")
    print("check:", verify(env, total + args.clients))  # + the warm-up submissions
    if not args.keep_db:
        recreate_database(args.database)  # leave an empty database behind, not citizens' test data
        flush_redis(args.redis_url)  # the RQ jobs of the outbox rows (no worker runs in the bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Instructions the web process spends per submission and per baseline call: a count, not a time.

    .venv/bin/python bench/instructions.py [--ops 40] [--database amtsweg_instructions]

This host's speed drifts by ±30 % within minutes, so bench/submit.py needs several runs to show a
change of a few percent. valgrind's callgrind counts executed instructions instead: the same code
and inputs give the same count whatever else the machine does. The script re-runs itself under
callgrind with instrumentation off, seeds and logs in like bench/profile_submit.py (in-process test
client, PostgreSQL), then counts --ops baseline calls and --ops submissions, each phase switched
on and dumped with callgrind_control. It prints instructions per operation and their ratio.

What it does not see: PostgreSQL's own work (another process), gunicorn's HTTP handling (common
to both) and waiting. It is the tool for "did this change make the web side cheaper", next to
bench/submit.py for the whole picture. Needs valgrind (Debian package `valgrind`).
"""

import argparse
import gc
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench import submit as bench  # noqa: E402  (after the sys.path fix above)
from bench.profile_submit import logged_in_client  # noqa: E402

UNDER_CALLGRIND = "AMTSWEG_UNDER_CALLGRIND"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=40, help="baseline calls and submissions counted")
    parser.add_argument("--database", default="amtsweg_instructions")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    args = parser.parse_args()
    if os.environ.get(UNDER_CALLGRIND):
        return _count(args)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="amtsweg-callgrind-") as out:
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/cg.%p",
               sys.executable, __file__, *sys.argv[1:]]
        subprocess.run(cmd, env={**os.environ, UNDER_CALLGRIND: "1"}, check=True, stderr=subprocess.DEVNULL)
        counts = _dumps(out)
    base, sub = counts["baseline"] / args.ops, counts["submit"] / args.ops
    print(f"baseline   {base / 1e6:7.3f} M instructions per call")
    print(f"submit     {sub / 1e6:7.3f} M instructions per submission")
    print(f"ratio baseline/submit: {base / sub:.1%}  (web process only; bench/submit.py measures the whole)")
    return 0


def _count(args) -> int:
    instance = Path(f"/tmp/{args.database}")
    env = bench.bench_env(bench.recreate_database(args.database), instance, args.redis_url)
    bench.flush_redis(args.redis_url)
    plan = bench.seed(env, 1, args.ops + 8)
    try:
        app, client, drafts, submit = logged_in_client(plan[0])
        for draft_id in drafts[:8]:  # warm-up: caches, prepared statements, the form spec
            submit(draft_id)
        for _ in range(20):
            client.post("/bench/baseline")
        gc.collect()
        gc.freeze()
        _callgrind("--zero")
        _callgrind("--instr=on")
        for _ in range(args.ops):
            client.post("/bench/baseline")
        _callgrind("--dump=baseline")
        for draft_id in drafts[8 : 8 + args.ops]:
            submit(draft_id)
        _callgrind("--dump=submit")
        _callgrind("--instr=off")
        from extensions import db

        with app.app_context():
            db.engine.dispose()
    finally:
        bench.recreate_database(args.database)
        bench.flush_redis(args.redis_url)
    return 0


def _callgrind(option: str) -> None:
    subprocess.run(["callgrind_control", option, str(os.getpid())], check=True, stdout=subprocess.DEVNULL)


def _dumps(out: str) -> dict[str, int]:
    """{trigger: instructions} of the dumps named by _callgrind("--dump=<name>")."""
    counts = {}
    for path in glob.glob(f"{out}/cg.*"):
        text = Path(path).read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: Client Request: (\w+)|^desc: Trigger: dump (\w+)", text, re.M)
        total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if trigger and total:
            counts[trigger.group(1) or trigger.group(2)] = int(total.group(1))
    return counts


if __name__ == "__main__":
    sys.exit(main())

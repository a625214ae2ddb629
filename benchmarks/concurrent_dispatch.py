"""Two dispatchers at once while the embedded scheduler writes: the status codes a real server answers.

Reproduces the finding of issue 9: the demo's SQLite, gunicorn -w 1 --threads 8, the embedded scheduler with the
outbox every second (delivering to the demo's fake WeChat API on the same server), and two API dispatches of one
petition fired at the same moment, round after round, while the outbox sends what the previous rounds queued.
Every answer should be a 2xx or a 409 (the loser of the race); a 500 is the bug, a 503 a database that stayed busy
beyond its timeout.

    .venv/bin/python benchmarks/concurrent_dispatch.py [--rounds 40] [--repo PATH] [--database-url URL]

`--repo` runs another checkout's code (for example an older commit exported with ``git archive``) with this
script, to compare. Prints one line per kind of answer and exits 1 if any answer was a 5xx.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parents[1]
PASSWORD = "qingsu-demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(repo: Path, folder: Path, port: int, database_url: str) -> Path:
    text = (repo / "config.example.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^url = "sqlite:///instance/models.db"', f'url = "{database_url}"', text)
    text = text.replace("http://127.0.0.1:5000/fake-wechat", f"http://127.0.0.1:{port}/fake-wechat")
    text = re.sub(r"(?m)^model_path = .*$", f'model_path = "{folder}/classifier.joblib"', text)
    text = re.sub(r"(?m)^outbox_interval_seconds = .*$", "outbox_interval_seconds = 1", text)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(repo: Path, env: dict[str, str], *args: str) -> None:
    code = "from qingsu.cli import main; main()"
    subprocess.run([sys.executable, "-c", code, *args], cwd=repo, env=env, check=True, capture_output=True)


def wait_until_up(base: str, server: subprocess.Popen, give_up: float = 60) -> None:
    deadline = time.monotonic() + give_up
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            if requests.get(f"{base}/healthz", timeout=30).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not come up")


def token(base: str, username: str) -> dict[str, str]:
    answer = requests.post(
        f"{base}/api/v1/tokens",
        json={"username": username, "password": PASSWORD, "name": "bench"},
        timeout=30,
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--repo", type=Path, default=HERE, help="the checkout whose code is served")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    args = parser.parse_args()
    repo = args.repo.resolve()
    folder = Path(tempfile.mkdtemp(prefix="qingsu-conc-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database_url = args.database_url or f"sqlite:///{folder}/models.db"
    env = {**os.environ, "QINGSU_CONFIG": str(write_config(repo, folder, port, database_url))}
    env.pop("DATABASE_URL", None)
    run_cli(repo, env, "db", "upgrade")
    run_cli(repo, env, "seed-demo")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-w", "1", "--threads", "8", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "gunicorn.log", "wb"),  # noqa: SIM115 — closed with the process
    )
    codes: collections.Counter[str] = collections.Counter()
    try:
        wait_until_up(base, server)
        # The first request starts the embedded scheduler; give its outbox something to send from the start.
        first, second = token(base, "shinan_dispatcher"), token(base, "shinan_dispatcher")
        units = requests.get(f"{base}/api/v1/units", headers=first, params={"district": "shinan"}, timeout=30)
        unit_id = next(u["id"] for u in units.json()["items"] if u["level"]["value"] != "district_platform")
        started = time.monotonic()
        for n in range(args.rounds):
            created = requests.post(
                f"{base}/api/v1/petitions",
                headers=first,
                json={
                    "external_id": f"bench-{os.getpid()}-{n}",
                    "kind": "livelihood",
                    "district_code": "shinan",
                    "content": "小区门口的路灯坏了一个多月，晚上出行很不方便，希望尽快维修。",
                    "location": "香港中路10号",
                    "contact_phone": "13812345678",
                },
                timeout=60,
            )
            codes[f"intake {created.status_code}"] += 1
            if created.status_code != 201:
                continue
            number = created.json()["number"]
            body = {"expected_state": "pending_dispatch", "unit_id": unit_id, "nature": "consult"}
            barrier = threading.Barrier(2)
            answers: list[int] = []

            def dispatch(
                headers: dict[str, str],
                url: str = f"{base}/api/v1/petitions/{number}/actions/dispatch",
                body: dict[str, object] = body,
                barrier: threading.Barrier = barrier,
                answers: list[int] = answers,
            ) -> None:
                barrier.wait()
                answers.append(requests.post(url, headers=headers, json=body, timeout=60).status_code)

            threads = [threading.Thread(target=dispatch, args=(h,)) for h in (first, second)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            codes["dispatch pair " + "+".join(str(c) for c in sorted(answers))] += 1
        elapsed = time.monotonic() - started
        inbox = requests.get(f"{base}/fake-wechat/_fake/messages", timeout=30)
        delivered = len(inbox.json().get("messages", [])) if inbox.ok else "?"
    finally:
        server.terminate()
        server.wait(30)
    print(f"code: {repo}  database: {database_url.split('://')[0]}  rounds: {args.rounds}  ({elapsed:.1f} s)")
    for key, count in sorted(codes.items()):
        print(f"  {key}: {count}")
    print(f"  messages the outbox delivered meanwhile: {delivered}")
    log = (folder / "gunicorn.log").read_text(encoding="utf-8", errors="replace")
    locked = log.count("database is locked")
    print(f"  'database is locked' in the server log: {locked}")
    shutil.rmtree(folder, ignore_errors=True)
    return 1 if any(re.search(r"\b5\d\d\b", key) for key in codes) else 0


if __name__ == "__main__":
    sys.exit(main())

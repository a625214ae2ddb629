"""The webhook's load: ten safe-mode accounts, a database for them, and signed, encrypted first messages.

Shared by `profile_webhook.py` (one process, the Flask test client) and `test_webhook_load.py` (gunicorn and wrk).
Every message is a citizen's first: a new openid typing a problem description, which the bot screens and answers
with the first question of the report ("已记录您反映的问题。… 请问您以什么身份反映？"). The messages are built by
`tests/wechat_wire.py`, the tests' own implementation of WeChat's protocol, not by wechatpy.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from models.district import TEN_DISTRICTS
from tests.wechat_wire import WireAccount, decrypt_reply, parse_reply, sign_request

REPO = Path(__file__).resolve().parents[1]
# Reversed, so that no key is one of config.example.toml's public demo keys (the production check refuses those).
_ALPHABET = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvutsrqponmlkjihgfedcba"

# What citizens first type: ordinary, admissible problems that name no other district.
FIRST_MESSAGES = (
    "小区门口的路灯坏了一个多星期，晚上走路很不安全",
    "楼下饭店油烟太大，家里窗户都不敢开",
    "公交站牌被撞歪了好几天没人修",
    "小区物业乱收停车费，每月涨了一百元",
    "学校门口早晚高峰堵车严重，希望增派交警疏导",
    "单位拖欠三个月工资不发，老板一直推脱",
    "自来水发黄有异味，已经持续两天",
    "暖气不热，屋里只有十四度，老人孩子受不了",
    "人行道上的井盖缺了一块，孩子容易踩空",
    "菜市场门口占道经营，电动车过不去",
)


@dataclass(frozen=True)
class BenchAccount:
    """One district's account as the benchmark configures it (every one in safe mode)."""

    district: str
    wire: WireAccount

    @property
    def toml(self) -> str:
        return (
            f'[[accounts]]\ndistrict = "{self.district}"\nappid = "{self.wire.appid}"\n'
            f'token = "{self.wire.token}"\nencoding_aes_key = "{self.wire.encoding_aes_key}"\n'
            f'secret = "{self.district}-bench-secret"\n'
        )


def bench_accounts() -> list[BenchAccount]:
    """Ten accounts, one per district, each with its own token and AES key."""
    accounts = []
    for index, (code, *_rest) in enumerate(TEN_DISTRICTS):
        key = (_ALPHABET[index:] + _ALPHABET[:index])[:43]
        wire = WireAccount(appid=f"wxbench{code}", token=f"{code}benchtoken", encoding_aes_key=key)
        accounts.append(BenchAccount(code, wire))
    return accounts


def write_config(path: Path, database_url: str, model_path: Path) -> Path:
    """A configuration file for the app and the echo bot: the database, the ten accounts, no demo, no scheduler."""
    lines = [
        # Long enough for the production check (`qingsu.config.production_problems`), as a real deployment's.
        'SECRET_KEY = "bench-secret-key-for-the-webhook-benchmark"',
        "DEMO = false",
        "[database]",
        f'url = "{database_url}"',
        "[security]",
        'data_key = "bench-data-key-for-the-webhook-benchmark"',
        "[classifier]",
        f'model_path = "{model_path}"',
        "[scheduler]",
        "embedded = false",
        "[wechat]",
        'api_base_url = "http://127.0.0.1:9/unused"',
        "",
        *(account.toml for account in bench_accounts()),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def qingsu(config: Path, *args: str) -> None:
    """Run the `qingsu` command line with `config`, from the repository."""
    env = {**os.environ, "QINGSU_CONFIG": str(config)}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-c", "from qingsu.cli import main; main()", *args],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )


def prepare_database(config: Path) -> None:
    """Migrate the configured database and load the districts, units and the ten accounts."""
    qingsu(config, "db", "upgrade")
    qingsu(config, "seed-demo")


def first_messages(count: int, run: str) -> Iterator[tuple[str, dict[str, str], bytes]]:
    """`count` signed, encrypted first messages, each from a new citizen, over the ten accounts in turn:
    (district code, query, body)."""
    accounts = bench_accounts()
    stamp = int(time.time())
    for number in range(count):
        account = accounts[number % len(accounts)]
        openid = f"oBench{run}{number:08d}{secrets.token_hex(4)}"
        text = FIRST_MESSAGES[number % len(FIRST_MESSAGES)]
        query, body = sign_request(account.wire, account.wire.build_text(openid, text), timestamp=stamp)
        yield account.district, query, body


def write_requests(path: Path, count: int, run: str) -> Path:
    """A file for `wrk_requests.lua`: one request a line, ``<path and query>\\t<body>``."""
    with path.open("w", encoding="utf-8") as out:
        for district, query, body in first_messages(count, run):
            text = body.decode("utf-8")
            if "\n" in text or "\t" in text:
                raise ValueError("a request body must fit on one line")
            out.write(f"/wechat/{district}?{urlencode(query)}\t{text}\n")
    return path


# --- serving and loading --------------------------------------------------------------------------------------------

APP = "wsgi:app"
ECHO = "benchmarks.echo_bot:create_echo_app()"
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_requests.lua"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running gunicorn: its base URL and the master's process id."""

    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the master and its workers."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        total = 0
        for pid in (self.pid, *map(int, children)):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")


# How both servers are run (the same for the echo bot and the webhook): two worker processes of four threads each,
# which keep the load generator's connections alive. A sync worker serves one request at a time and closes its
# connection after each; the webhook's worker then sits idle while PostgreSQL answers and flushes its commit.
SERVER_OPTIONS = ("-w", "2", "-k", "gthread", "--threads", "4")


@contextmanager
def gunicorn(
    target: str, config: Path, options: tuple[str, ...] = SERVER_OPTIONS, cwd: Path = REPO
) -> Iterator[Server]:
    """`target` served by gunicorn with `options` on a free loopback port, importing the code in `cwd` (another
    checkout serves an earlier version for comparison).

    Stops the server it started (and only that one) when done.
    """
    port = free_port()
    env = {**os.environ, "QINGSU_CONFIG": str(config)}
    env.pop("DATABASE_URL", None)
    log = config.parent / f"gunicorn-{port}.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *options, "-b", f"127.0.0.1:{port}", target],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_serving(url, server, log)
            yield Server(url, server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            # Unsigned: any answer (403) means a worker is up.
            urllib.request.urlopen(f"{url}/wechat/shinan", timeout=2)
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
            continue
        return
    raise RuntimeError(f"gunicorn did not answer within 60 s: {log.read_text(errors='replace')[-2000:]}")


def post_one(url: str, district: str, query: dict[str, str], body: bytes) -> str:
    """POST one message and return the reply's Content, decrypted and checked as WeChat would."""
    request = urllib.request.Request(
        f"{url}/wechat/{district}?{urlencode(query)}", data=body, headers={"Content-Type": "text/xml"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = response.read()
    account = next(a for a in bench_accounts() if a.district == district)
    return str(parse_reply(decrypt_reply(account.wire, query, answer))["Content"])


@dataclass(frozen=True)
class LoadResult:
    """What wrk measured for one phase."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    exhausted: bool

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run_wrk(
    url: str, requests_file: Path, seconds: int, connections: int = 16, threads: int = 2
) -> LoadResult:
    """Load `url` with the messages of `requests_file` for `seconds`."""
    done = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
            url,
            "--",
            str(requests_file),
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in done.stdout.splitlines() if line.startswith("WRK_JSON "))
    figures = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(figures[name] for name in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(
        requests=figures["requests"],
        seconds=figures["seconds"],
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        errors=errors,
        exhausted=figures["exhausted_threads"] > 0,
    )

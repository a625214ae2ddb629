"""Profile the webhook's first intake turn in one process: statements, transactions and flushes per message, and
where the time goes (cProfile).

    python -m benchmarks.profile_webhook [--database URL] [--messages N] [--top N]

Without `--database` a fresh SQLite file in a temporary directory is used; a PostgreSQL database given here is
migrated and seeded, and its citizens grow by N. The findings are written up in benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.test import EnvironBuilder

from benchmarks.echo_bot import create_echo_app
from benchmarks.webhook_load import first_messages, prepare_database, write_config

# Messages per batch of the interleaved CPU measurement.
BATCH = 25


def _count_database_work(engine, counts: Counter[str]) -> None:  # type: ignore[no-untyped-def]
    @event.listens_for(engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        verb = statement.lstrip().split(None, 1)[0].upper()
        counts[f"statement {verb}"] += 1

    @event.listens_for(engine, "commit")
    def _commit(conn):  # type: ignore[no-untyped-def]
        counts["commit"] += 1

    @event.listens_for(engine, "rollback")
    def _rollback(conn):  # type: ignore[no-untyped-def]
        counts["rollback"] += 1

    @event.listens_for(Session, "after_flush")
    def _flush(session, context):  # type: ignore[no-untyped-def]
        counts["flush"] += 1


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if filename.startswith(str(Path(__file__).resolve().parents[1])):
        return "qingsu:" + Path(filename).resolve().relative_to(Path(__file__).resolve().parents[1]).parts[0]
    return "stdlib/builtins"


def _environ(district: str, query: dict[str, str], body: bytes) -> dict[str, object]:
    """The WSGI environment of one delivery, as gunicorn would pass it."""
    return EnvironBuilder(
        path=f"/wechat/{district}", method="POST", query_string=query, data=body, content_type="text/xml"
    ).get_environ()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="database URL (default: a new SQLite file)")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qingsu-profile-") as tmp:
        url = args.database or f"sqlite:///{tmp}/profile.db"
        config = write_config(Path(tmp) / "config.toml", url, Path(tmp) / "model.joblib")
        prepare_database(config)
        os.environ["QINGSU_CONFIG"] = str(config)
        from qingsu import create_app

        app = create_app()
        messages = list(first_messages(2 * args.messages + 20, run=f"p{int(time.time())}"))
        # The WSGI environments are built beforehand and the app is called as a server calls it: what is measured
        # is the application's work alone, not a test client's.
        environs = [_environ(*message) for message in messages]

        def post(environ: dict[str, object]) -> None:
            answer: list[str] = []
            body = b"".join(app(environ, lambda status, headers, exc_info=None: answer.append(status)))
            if answer != ["200 OK"] or b"<Encrypt>" not in body:
                raise RuntimeError(f"unexpected answer {answer}: {body[:200]!r}")

        echo = create_echo_app(str(config))

        def post_echo(environ: dict[str, object]) -> None:
            answer: list[str] = []
            body = b"".join(echo(environ, lambda status, headers, exc_info=None: answer.append(status)))
            if answer != ["200 OK"] or b"<Encrypt>" not in body:
                raise RuntimeError(f"unexpected echo {answer}: {body[:200]!r}")

        for environ in environs[:20]:
            post(environ)
        for message in messages[:20]:
            post_echo(_environ(*message))
        # Thread CPU time per message, the webhook and the echo bot in turn over small batches (the machine is
        # shared: a batch that another process slowed down shows in one side only, and the median drops it).
        timed = environs[20 + args.messages :]
        echo_environs = [_environ(*message) for message in messages[20 + args.messages :]]
        webhook_cpu: list[float] = []
        echo_cpu: list[float] = []
        started = time.perf_counter()
        for first in range(0, len(timed), BATCH):
            for batch, serve, out in (
                (timed[first : first + BATCH], post, webhook_cpu),
                (echo_environs[first : first + BATCH], post_echo, echo_cpu),
            ):
                cpu_started = time.thread_time()
                for environ in batch:
                    serve(environ)
                out.append((time.thread_time() - cpu_started) / len(batch) * 1000)
        plain_ms = (time.perf_counter() - started) / args.messages * 1000
        cpu_ms, echo_ms = statistics.median(webhook_cpu), statistics.median(echo_cpu)
        counts: Counter[str] = Counter()
        _count_database_work(app.extensions["qingsu.engine"], counts)
        # CPU time, not wall time: the machine is shared, and a preempted function would look slow.
        profiler = cProfile.Profile(time.thread_time)
        started = time.perf_counter()
        profiler.enable()
        for environ in environs[20 : 20 + args.messages]:
            post(environ)
        profiler.disable()
        seconds = time.perf_counter() - started
        n = args.messages
        print(
            f"{n} first messages on {url.split(':')[0]}: {cpu_ms:.2f} ms CPU each (echo bot {echo_ms:.2f} ms: "
            f"{echo_ms / cpu_ms:.2f}x), {plain_ms:.2f} ms wall for both, "
            f"{seconds / n * 1000:.2f} ms each under the profiler; load average {os.getloadavg()[0]:.1f}"
        )
        if os.environ.get("QINGSU_PROFILE_DUMP"):
            profiler.dump_stats(os.environ["QINGSU_PROFILE_DUMP"])
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        # Python function calls are a measure of the work that, unlike time, other processes do not disturb.
        print(f"  Python function calls: {stats.total_calls / n:,.0f} per message")  # type: ignore[attr-defined]
        for name, value in sorted(counts.items()):
            print(f"  {name}: {value / n:.2f} per message")
        by_package: Counter[str] = Counter()
        for (filename, _line, _name), (_cc, calls, *_rest) in stats.stats.items():  # type: ignore[attr-defined]
            by_package[_package(filename)] += calls
        print(
            "  function calls by package: "
            + ", ".join(f"{k} {v / n:,.0f}" for k, v in by_package.most_common(12))
        )
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
        app.extensions["qingsu.engine"].dispose()


if __name__ == "__main__":
    main()

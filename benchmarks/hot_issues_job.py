"""The hot issues job on a large database: seconds and peak memory of one window's clustering and of one batch of
possible-duplicate checks.

    python benchmarks/hot_issues_job.py postgresql+psycopg://postgres@127.0.0.1:5432/qingsu_bench

Creates the job's own tables when missing (nothing else is changed), clusters the 7 days before the newest
petition (and reads the 7 before them for the trend), and compares the `duplicates.BATCH` newest petitions with the
open ones of their districts (rolled back: the stored candidates are not kept), and times reading the hot issues
as the API does. Prints one line per measure.
"""

from __future__ import annotations

import datetime as dt
import resource
import sys
import time

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from models import DuplicateCandidate, DuplicateCheck, HotIssue, HotIssuePetition, Petition
from workflow import duplicates, hot_issues


def main(url: str) -> None:
    engine = create_engine(url)
    for model in (HotIssue, HotIssuePetition, DuplicateCandidate, DuplicateCheck):
        model.__table__.create(engine, checkfirst=True)
    with Session(engine) as session:
        now = session.scalar(select(func.max(Petition.created_at))) + dt.timedelta(seconds=1)
        total = session.scalar(select(func.count()).select_from(Petition))
        started = time.perf_counter()
        report = hot_issues.compute_window(session, 7, now)
        session.commit()
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"hot_issues, 7 days to {now:%Y-%m-%d} of {total:,} petitions: {report.petitions:,} petitions "
            f"clustered, {report.issues:,} hot issues kept, {seconds:.1f} s, peak memory {peak:.0f} MiB"
        )
        for districts in (None, ["shinan"]):
            started = time.perf_counter()
            for _ in range(10):
                hot_issues.read_hot_issues(session, 7, districts, 20)
            print(
                f"reading the 20 largest hot issues with their numbers ({'city' if districts is None else districts[0]}):"
                f" {(time.perf_counter() - started) * 100:.1f} ms"
            )
        ids = list(
            session.scalars(select(Petition.id).order_by(Petition.created_at.desc()).limit(duplicates.BATCH))
        )
        started = time.perf_counter()
        found = duplicates.check_petitions(session, ids, now)
        seconds = time.perf_counter() - started
        session.rollback()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"duplicate_candidates, {len(ids)} newest petitions against the open ones of 30 days: {found} "
            f"candidates, {seconds:.1f} s, peak memory {peak:.0f} MiB"
        )


if __name__ == "__main__":
    main(sys.argv[1])

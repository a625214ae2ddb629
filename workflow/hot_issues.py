"""Hot issues (热点问题): the petitions of the last days that say the same thing about the same place, clustered.

The scheduler's `hot_issues` job (`compute_hot_issues`) runs the clustering for each window of ``[hot_issues]
windows`` (days; 7 by default) and replaces that window's rows of `models.HotIssue`; the dashboard and the API read
them (`read_hot_issues`), so no page compares texts.

- **Graph**: two petitions of the window are joined when their texts are at least `CLUSTER_THRESHOLD` similar, their
  department types are the same, and their places agree (`workflow.similarity`). Pairs are looked for within a
  block of one department type, `similarity.ROWS_AT_ONCE` rows at a time (sparse rows, bounded memory).
- **Clusters**: the connected components of that graph. A component larger than `MAX_CLUSTER` (a chain through
  loosely similar reports) is split again at a threshold `SPLIT_STEP` higher, until it is small enough.
  Components of at least `MIN_SIZE` petitions are kept.
- **Title**: the title of the most central petition (the largest sum of similarities to the others), without
  greetings; **terms**: the words (jieba) most of its petitions use, without stop words, generic words and place
  names.
- **Trend**: `previous` counts the petitions of the window before (same length) whose text is at least
  `CLUSTER_THRESHOLD` similar to the cluster's centroid, of the same department type, whose place agrees with the
  central petition's; `daily` counts the cluster's petitions per 24 hours of the window, oldest first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from flask import Flask
from scipy.sparse.csgraph import connected_components
from sklearn.preprocessing import normalize
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from classifier.places import QINGDAO_DISTRICTS, streets
from classifier.text import not_terms, tokenize
from models import HotIssue, HotIssuePetition, Petition
from models.db import session_scope
from workflow import similarity
from workflow.similarity import CLUSTER_THRESHOLD, Compared, Places

DEFAULT_WINDOWS = (7,)
MIN_SIZE = 3
MAX_CLUSTER = 300
SPLIT_STEP = 0.1
TITLE_TERMS = 4
# At most this many petitions of a cluster are read for its terms.
TERM_SAMPLE = 20
_GREETING = re.compile(
    r"^(?:(?:您好|你好|领导好|请问|麻烦问一下|麻烦|我要反映|我想反映|反映一下|再次反映|反映|投诉|一个问题|"
    r"我有一个问题|上次反映的问题又出现了|问一下)[，,。:：!！\s]*)+"
)
# Words that say nothing of a matter however often its reports use them (besides `classifier.text.not_terms`).
GENERIC_TERMS = frozenset(
    {
        "发现",
        "多次",
        "一家",
        "几次",
        "问题",
        "反映",
        "情况",
        "希望",
        "现在",
        "已经",
        "一直",
        "没有",
        "相关",
        "部门",
    }
)


def windows(app: Flask) -> tuple[int, ...]:
    """The windows (days) the job computes and the pages may ask for: ``[hot_issues] windows``."""
    configured = app.config.get("HOT_ISSUES", {}).get("windows") or DEFAULT_WINDOWS
    return tuple(sorted({int(days) for days in configured}))


@dataclass(frozen=True)
class Cluster:
    """A cluster found: indices into the compared petitions, its most central one first."""

    members: list[int]
    weights: np.ndarray

    @property
    def central(self) -> int:
        return self.members[0]


def _blocks(compared: Compared, idx: Sequence[int]) -> dict[str, np.ndarray]:
    blocks: dict[str, list[int]] = {}
    for i in idx:
        blocks.setdefault(compared.petitions[i].dept_type or "", []).append(i)
    return {dept: np.array(members) for dept, members in blocks.items()}


def similarity_graph(
    compared: Compared, idx: Sequence[int], threshold: float = CLUSTER_THRESHOLD
) -> sp.csr_matrix:
    """The symmetric graph (similarity as the weight) of the pairs of `idx` joined by the rule above."""
    places = Places.of(compared)
    rows, cols, weights = [], [], []
    for block in _blocks(compared, idx).values():
        for i, j, score in similarity.similar_pairs(compared, block, threshold):
            keep = places.agree(i, j)
            rows.append(i[keep])
            cols.append(j[keep])
            weights.append(score[keep])
    n = len(compared)
    if not rows:
        return sp.csr_matrix((n, n), dtype=np.float32)
    r, c, w = np.concatenate(rows), np.concatenate(cols), np.concatenate(weights)
    upper = sp.coo_matrix((w, (r, c)), shape=(n, n))
    return (upper + upper.T).tocsr()


def _components(graph: sp.csr_matrix, nodes: np.ndarray, threshold: float) -> list[np.ndarray]:
    sub = graph[nodes][:, nodes]
    if threshold > CLUSTER_THRESHOLD:
        sub = sub.multiply(sub >= threshold).tocsr()
    count, labels = connected_components(sub, directed=False)
    found: list[np.ndarray] = []
    for label in range(count):
        members = nodes[labels == label]
        if len(members) > MAX_CLUSTER and threshold + SPLIT_STEP < 1:
            found.extend(_components(graph, members, threshold + SPLIT_STEP))
        elif len(members) >= MIN_SIZE:
            found.append(members)
    return found


def cluster(compared: Compared, idx: Sequence[int] | None = None) -> list[Cluster]:
    """The clusters of the petitions `idx` of `compared` (all of them by default), largest first."""
    nodes = np.arange(len(compared)) if idx is None else np.asarray(idx)
    graph = similarity_graph(compared, nodes)
    clusters = []
    for members in _components(graph, nodes, CLUSTER_THRESHOLD):
        weight = np.asarray(graph[members][:, members].sum(axis=1)).ravel()
        # The most central first; ties by age (older first: `compared` is oldest first).
        order = sorted(range(len(members)), key=lambda k: (-weight[k], members[k]))
        clusters.append(Cluster([int(members[k]) for k in order], weight[order]))
    clusters.sort(key=lambda c: (-len(c.members), -max(c.members)))
    return clusters


def cluster_title(title: str) -> str:
    """A petition's title without the greeting a citizen opens with (您好，…)."""
    return _GREETING.sub("", title).strip() or title


def cluster_terms(texts: Sequence[str], district_codes: Sequence[str]) -> list[str]:
    """The words most of `texts` use (each counted once per text), longest first among equals: no stop words,
    generic words, place names or digits."""
    skip = set(not_terms()) | GENERIC_TERMS | {name for names in QINGDAO_DISTRICTS.values() for name in names}
    for code in set(district_codes):
        skip |= {name for name, _ in streets().get(code, [])}
    counts: Counter[str] = Counter()
    for text in texts[:TERM_SAMPLE]:
        counts.update({w for w in tokenize(text) if len(w) >= 2 and w not in skip and not w.isdigit()})
    ranked = sorted(counts.items(), key=lambda item: (-item[1], -len(item[0]), item[0]))
    return [word for word, n in ranked if n >= 2][:TITLE_TERMS]


def _indicator(clusters: Sequence[Cluster], ks: Sequence[int], n: int) -> sp.csr_matrix:
    rows = [k for k, c in enumerate(ks) for _ in clusters[c].members]
    cols = [i for c in ks for i in clusters[c].members]
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(ks), n))


def previous_counts(compared: Compared, clusters: Sequence[Cluster], previous: Sequence[int]) -> list[int]:
    """For each cluster, the petitions of `previous` most like it (see the module's trend rule)."""
    counts = [0] * len(clusters)
    if not clusters or not len(previous):
        return counts
    places = Places.of(compared)
    prev = np.asarray(previous)
    by_dept: dict[str, list[int]] = {}
    for k, c in enumerate(clusters):
        by_dept.setdefault(compared.petitions[c.central].dept_type or "", []).append(k)
    prev_blocks = _blocks(compared, prev)
    for dept, ks in by_dept.items():
        block = prev_blocks.get(dept)
        if block is None:
            continue
        centroids = normalize(_indicator(clusters, ks, len(compared)) @ compared.rows)
        centrals = np.array([clusters[k].central for k in ks])
        for start in range(0, len(block), similarity.ROWS_AT_ONCE):
            part = block[start : start + similarity.ROWS_AT_ONCE]
            scores = (compared.rows[part] @ centroids.T).toarray()
            for row in range(len(part)):
                agree = places.agree(np.full(len(ks), part[row]), centrals)
                best = np.where(agree & (scores[row] >= CLUSTER_THRESHOLD), scores[row], -1)
                if best.max() >= 0:
                    counts[ks[int(best.argmax())]] += 1
    return counts


@dataclass(frozen=True)
class HotIssuesReport:
    """What one run found: per window, the petitions clustered and the hot issues kept."""

    petitions: int
    issues: int


def compute_window(session: Session, days: int, now: dt.datetime) -> HotIssuesReport:
    """Cluster the petitions created in the `days` days before `now` and replace the window's hot issues."""
    start = now - dt.timedelta(days=days)
    before = start - dt.timedelta(days=days)
    texts = similarity.read_texts(
        session, similarity.texts_where(Petition.created_at >= before, Petition.created_at < now)
    )
    compared = similarity.compare(session, texts)
    current = [i for i, p in enumerate(texts) if p.created_at >= start]
    previous = [i for i, p in enumerate(texts) if p.created_at < start]
    clusters = cluster(compared, current)
    before_counts = previous_counts(compared, clusters, previous)
    session.execute(
        delete(HotIssuePetition).where(
            HotIssuePetition.hot_issue_id.in_(select(HotIssue.id).where(HotIssue.days == days))
        )
    )
    session.execute(delete(HotIssue).where(HotIssue.days == days))
    issues: list[tuple[HotIssue, list[similarity.PetitionText]]] = []
    for rank, (c, prev) in enumerate(zip(clusters, before_counts, strict=True), start=1):
        petitions = [texts[i] for i in c.members]
        central = petitions[0]
        daily = [0] * days
        for p in petitions:
            daily[min(int((p.created_at - start) / dt.timedelta(days=1)), days - 1)] += 1
        street_names = {compared.street[i] for i in c.members}
        issue = HotIssue(
            days=days,
            computed_at=now,
            rank=rank,
            title=cluster_title(central.title)[:60],
            terms=cluster_terms([p.content for p in petitions], [p.district_code for p in petitions]),
            size=len(petitions),
            previous=prev,
            daily=daily,
            districts=sorted({p.district_code for p in petitions}),
            dept_type=central.dept_type,
            street=next(iter(street_names)) if len(street_names) == 1 else None,
            first_at=min(p.created_at for p in petitions),
            last_at=max(p.created_at for p in petitions),
        )
        issues.append((issue, petitions))
    # One flush: the rows go in a few multi-row INSERTs.
    session.add_all(issue for issue, _ in issues)
    session.flush()
    members = [
        {"hot_issue_id": issue.id, "petition_id": p.id, "district_code": p.district_code}
        for issue, petitions in issues
        for p in petitions
    ]
    if members:
        session.execute(insert(HotIssuePetition), members)
    return HotIssuesReport(petitions=len(current), issues=len(clusters))


@dataclass(frozen=True)
class PeriodIssue:
    """A hot issue of a past period (`issues_between`), not stored: what a report lists."""

    title: str
    terms: list[str]
    size: int
    dept_type: str | None
    street: str | None
    districts: list[str]
    first_at: dt.datetime
    last_at: dt.datetime
    numbers: list[str]


def issues_between(
    session: Session, start: dt.datetime, end: dt.datetime, district_code: str | None = None
) -> list[PeriodIssue]:
    """The hot issues of the petitions created in [start, end) (of one district, or the whole city), largest first:
    the job's clustering over another period, for the monthly report (nothing is stored)."""
    conditions = [Petition.created_at >= start, Petition.created_at < end]
    if district_code is not None:
        conditions.append(Petition.district_code == district_code)
    texts = similarity.read_texts(session, similarity.texts_where(*conditions))
    compared = similarity.compare(session, texts)
    found = []
    for c in cluster(compared):
        petitions = [texts[i] for i in c.members]
        streets_of = {compared.street[i] for i in c.members}
        found.append(
            PeriodIssue(
                title=cluster_title(petitions[0].title)[:60],
                terms=cluster_terms([p.content for p in petitions], [p.district_code for p in petitions]),
                size=len(petitions),
                dept_type=petitions[0].dept_type,
                street=next(iter(streets_of)) if len(streets_of) == 1 else None,
                districts=sorted({p.district_code for p in petitions}),
                first_at=min(p.created_at for p in petitions),
                last_at=max(p.created_at for p in petitions),
                numbers=[p.number for p in petitions],
            )
        )
    return found


def compute_hot_issues(app: Flask, now: dt.datetime) -> HotIssuesReport:
    """The scheduler's job: recompute every window's hot issues at `now`, each in one transaction."""
    petitions = issues = 0
    for days in windows(app):
        with session_scope(app) as session:
            report = compute_window(session, days, now)
        petitions += report.petitions
        issues += report.issues
    return HotIssuesReport(petitions, issues)


# --- reading -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HotIssueView:
    """A hot issue as the pages show it: the row, and the numbers of its petitions in the reader's districts."""

    issue: HotIssue
    numbers: list[str]

    @property
    def trend(self) -> int:
        """This window's petitions minus the previous window's like them."""
        return self.issue.size - self.issue.previous


def read_hot_issues(
    session: Session, days: int, district_codes: Sequence[str] | None, limit: int, with_numbers: bool = True
) -> tuple[dt.datetime | None, list[HotIssueView]]:
    """The last computed hot issues of the `days` window having a petition in `district_codes` (None: all), largest
    first, at most `limit`, and when they were computed (None: never yet); with `with_numbers`, the numbers of their
    petitions in those districts. Two statements (one without the numbers)."""
    query = select(HotIssue).where(HotIssue.days == days)
    if district_codes is not None:
        query = query.where(
            HotIssue.id.in_(
                select(HotIssuePetition.hot_issue_id).where(
                    HotIssuePetition.district_code.in_(district_codes)
                )
            )
        )
    issues = list(session.scalars(query.order_by(HotIssue.rank).limit(limit)))
    if not issues:
        computed = session.scalar(select(func.max(HotIssue.computed_at)).where(HotIssue.days == days))
        return computed, []
    numbers: dict[int, list[str]] = {issue.id: [] for issue in issues}
    if not with_numbers:
        return issues[0].computed_at, [HotIssueView(issue, []) for issue in issues]
    member_query = (
        select(HotIssuePetition.hot_issue_id, Petition.number)
        .join(Petition, Petition.id == HotIssuePetition.petition_id)
        .where(HotIssuePetition.hot_issue_id.in_(numbers))
        .order_by(HotIssuePetition.hot_issue_id, Petition.created_at, Petition.id)
    )
    if district_codes is not None:
        member_query = member_query.where(HotIssuePetition.district_code.in_(district_codes))
    for issue_id, number in session.execute(member_query):
        numbers[issue_id].append(number)
    return issues[0].computed_at, [HotIssueView(issue, numbers[issue.id]) for issue in issues]


def hot_issue_petitions(session: Session, issue_id: int, district_codes: Sequence[str] | None) -> list[int]:
    """The ids of a hot issue's petitions in `district_codes` (None: all), oldest first."""
    query = (
        select(Petition.id)
        .join(HotIssuePetition, HotIssuePetition.petition_id == Petition.id)
        .where(HotIssuePetition.hot_issue_id == issue_id)
        .order_by(Petition.created_at, Petition.id)
    )
    if district_codes is not None:
        query = query.where(HotIssuePetition.district_code.in_(district_codes))
    return list(session.scalars(query))

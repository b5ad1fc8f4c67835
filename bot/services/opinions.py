"""What a discussion's votes say, as Pol.is reads them: agreement per statement, consensus and
divisive statements, and opinion groups found from the vote patterns. Pure computation on
numbers (numpy, scikit-learn); no database, no aiogram.

* A vote is 1 (agree), -1 (disagree) or 0 (pass); a statement a person has not seen is missing.
* **Opinion groups**: people with at least ``MIN_VOTES`` votes form the participant x statement
  matrix (unseen = 0, neutral); PCA reduces it to two dimensions and k-means (k = 2..5) clusters
  it. The k with the best silhouette wins, if every group has at least ``min_group`` people and
  the silhouette is at least ``MIN_SILHOUETTE`` (otherwise there is no clear structure and no
  groups are shown). Each group is described by the statements that set it apart: where its
  majority agrees (or disagrees) and the rest of the participants differ most.
* **Consensus**: at least ``min_group`` votes, and a majority agrees overall, in every district
  and in every opinion group with at least ``MIN_SLICE`` votes on it (a slice with fewer says
  too little; residents without a district are not a district).
* **Divisive**: at least ``min_group`` votes, and a majority of one group agrees while a majority of
  another disagrees (opinion groups, again with ``MIN_SLICE`` votes; when none were found,
  districts).

Only aggregates leave this module; a group smaller than ``min_group`` is never formed.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MIN_VOTES = 3  # votes a person needs to be placed in an opinion group
MIN_SLICE = 3  # votes on a statement a district needs to count for consensus / division
MIN_SILHOUETTE = 0.25
MAX_GROUPS = 5
SILHOUETTE_SAMPLE = 2000  # the silhouette is O(n²): a sample of this many people estimates it
DISTINCTIVE = 2  # statements describing each group


@dataclass
class Tally:
    agree: int = 0
    disagree: int = 0
    passed: int = 0

    @property
    def votes(self) -> int:
        return self.agree + self.disagree + self.passed

    def share(self, what: str = "agree") -> float:
        return getattr(self, what) / self.votes if self.votes else 0.0

    def add(self, vote: int) -> None:
        if vote > 0:
            self.agree += 1
        elif vote < 0:
            self.disagree += 1
        else:
            self.passed += 1


@dataclass
class StatementResult:
    id: int
    text: str
    seed: bool
    tally: Tally
    by_group: list[Tally] = field(default_factory=list)  # in the order of Analysis.groups
    consensus: bool = False
    divisive: bool = False


@dataclass
class Distinctive:
    statement_id: int
    agree: bool  # the group's majority agrees (False: disagrees)
    share: float  # of the group that votes so
    others: float  # of everyone else who voted on it


@dataclass
class OpinionGroup:
    size: int
    distinctive: list[Distinctive]


@dataclass
class Analysis:
    participants: int
    statements: list[StatementResult]  # ranked by agreement
    groups: list[OpinionGroup]
    grouped: int  # people with enough votes to be placed
    groups_note: str  # found | too_few | no_structure

    @property
    def consensus(self) -> list[StatementResult]:
        return [s for s in self.statements if s.consensus]

    @property
    def divisive(self) -> list[StatementResult]:
        return [s for s in self.statements if s.divisive]

    def to_json(self) -> dict[str, Any]:
        def tally(t: Tally) -> list[int]:
            return [t.agree, t.disagree, t.passed]

        return {
            "participants": self.participants, "grouped": self.grouped, "note": self.groups_note,
            "statements": [{"id": s.id, "text": s.text, "seed": s.seed, "tally": tally(s.tally),
                            "groups": [tally(g) for g in s.by_group], "consensus": s.consensus,
                            "divisive": s.divisive} for s in self.statements],
            "groups": [{"size": g.size, "distinctive": [[d.statement_id, d.agree, d.share, d.others]
                                                        for d in g.distinctive]} for g in self.groups],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Analysis:
        return cls(
            participants=data["participants"], grouped=data["grouped"], groups_note=data["note"],
            statements=[StatementResult(s["id"], s["text"], s["seed"], Tally(*s["tally"]),
                                        [Tally(*g) for g in s["groups"]], s["consensus"], s["divisive"])
                        for s in data["statements"]],
            groups=[OpinionGroup(g["size"], [Distinctive(*d) for d in g["distinctive"]]) for g in data["groups"]],
        )


def _clusters(matrix: Any, min_group: int) -> list[int] | None:
    """A group number per row, or None when there is no clear structure."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score

    n, width = matrix.shape
    if width < 2 or not np.any(matrix.std(axis=0) > 0):
        return None
    points = PCA(n_components=2, random_state=0).fit_transform(matrix)
    best: tuple[float, list[int]] | None = None
    distinct = len(np.unique(points.round(9), axis=0))  # people who voted alike are one point
    for k in range(2, min(MAX_GROUPS, n // min_group, distinct) + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(points)
        sizes = np.bincount(labels, minlength=k)
        if sizes.min() < min_group or len(set(labels)) < 2:
            continue
        score = float(silhouette_score(points, labels, sample_size=min(n, SILHOUETTE_SAMPLE), random_state=0))
        if best is None or score > best[0] + 1e-9:
            best = (score, [int(x) for x in labels])
    if best is None or best[0] < MIN_SILHOUETTE:
        return None
    # number the groups by size (largest first), so "group A" does not depend on k-means' order
    order = sorted(set(best[1]), key=lambda g: (-best[1].count(g), best[1].index(g)))
    return [order.index(g) for g in best[1]]


def _split(tallies: Sequence[Tally]) -> bool:
    """A majority of one slice agrees and a majority of another disagrees."""
    return any(t.share("agree") > 0.5 for t in tallies) and any(t.share("disagree") > 0.5 for t in tallies)


def analyse(statements: Sequence[tuple[int, str, bool]], districts: Sequence[str | None],
            votes: Sequence[tuple[int, int, int]], min_group: int) -> Analysis:
    """``statements``: (id, text, seed); ``districts``: each participant's (by index);
    ``votes``: (participant index, statement id, vote)."""
    import numpy as np

    column = {sid: n for n, (sid, _text, _seed) in enumerate(statements)}
    matrix = np.zeros((len(districts), len(statements)))
    counted = np.zeros(len(districts), dtype=int)
    results = [StatementResult(sid, text, seed, Tally()) for sid, text, seed in statements]
    by_district: list[dict[str | None, Tally]] = [{} for _ in statements]
    for person, sid, vote in votes:
        col = column.get(sid)
        if col is None:
            continue
        matrix[person, col] = vote
        counted[person] += 1
        results[col].tally.add(vote)
        by_district[col].setdefault(districts[person], Tally()).add(vote)

    placed = [p for p in range(len(districts)) if counted[p] >= min(MIN_VOTES, len(statements))]
    labels = None
    if len(placed) >= 2 * min_group and len(statements) >= 2:
        labels = _clusters(matrix[placed], min_group)
    note = "found" if labels else ("too_few" if len(placed) < 2 * min_group else "no_structure")
    count = max(labels) + 1 if labels else 0
    group_of = {p: labels[i] for i, p in enumerate(placed)} if labels else {}
    for col, result in enumerate(results):
        result.by_group = [Tally() for _ in range(count)]
    for person, sid, vote in votes:
        if person in group_of and sid in column:
            results[column[sid]].by_group[group_of[person]].add(vote)

    for col, result in enumerate(results):
        if result.tally.votes < min_group:
            continue
        slices = [t for d, t in by_district[col].items() if d is not None and t.votes >= MIN_SLICE]
        groups = [t for t in result.by_group if t.votes >= MIN_SLICE]
        result.consensus = all(t.share("agree") > 0.5 for t in [result.tally, *slices, *groups])
        result.divisive = _split(groups if count else slices)

    groups = []
    for g in range(count):
        candidates = []
        for result in results:
            mine = result.by_group[g]
            rest = Tally(result.tally.agree - mine.agree, result.tally.disagree - mine.disagree,
                         result.tally.passed - mine.passed)
            if mine.votes < max(MIN_SLICE, min_group // 2) or rest.votes < MIN_SLICE:
                continue
            for agree in (True, False):
                what = "agree" if agree else "disagree"
                if mine.share(what) > 0.5:
                    gap = mine.share(what) - rest.share(what)
                    if gap > 0.2:
                        candidates.append((gap, Distinctive(result.id, agree, mine.share(what), rest.share(what))))
        candidates.sort(key=lambda c: (-c[0], c[1].statement_id))
        groups.append(OpinionGroup(sum(1 for v in group_of.values() if v == g),
                                   [d for _gap, d in candidates[:DISTINCTIVE]]))

    ranked = sorted(results, key=lambda r: (r.tally.votes == 0, -r.tally.share("agree"), -r.tally.votes, r.id))
    return Analysis(len(districts), ranked, groups, len(placed), note)

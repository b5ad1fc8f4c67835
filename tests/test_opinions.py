"""The analysis of a discussion's votes (pure numbers, no database): planted structure is found,
small or structureless data yields no groups, and nothing breaks on empty input."""
from __future__ import annotations

from bot.services.opinions import Analysis, analyse

STATEMENTS = [(1, "lighting", True), (2, "car park", True), (3, "close the road", True), (4, "sell", False)]


def _votes(people: int, rule) -> list[tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    return [(p, sid, rule(p, sid)) for p in range(people) for sid, _t, _s in STATEMENTS]


def planted(p: int, sid: int) -> int:
    a = p % 2 == 0  # the two camps are interleaved: their order must not matter
    return {1: 1, 2: 1 if a else -1, 3: -1 if a else 1, 4: -1}[sid]


def test_two_planted_camps_are_found_with_what_sets_them_apart() -> None:
    result = analyse(STATEMENTS, ["a", "b", "c"] * 8, _votes(24, planted), min_group=5)
    assert result.groups_note == "found" and sorted(g.size for g in result.groups) == [12, 12]
    assert [s.id for s in result.consensus] == [1]
    assert sorted(s.id for s in result.divisive) == [2, 3]
    first = result.groups[0].distinctive
    assert {d.statement_id for d in first} == {2, 3} and all(d.share == 1.0 and d.others == 0.0 for d in first)
    assert [s.id for s in result.statements][:1] == [1] and result.statements[-1].id == 4  # ranked by agreement
    again = Analysis.from_json(result.to_json())                                         # what campaigns carry
    assert again.to_json() == result.to_json()


def test_too_few_people_or_no_structure_give_no_groups_and_no_small_group() -> None:
    few = analyse(STATEMENTS, ["a"] * 9, _votes(9, planted), min_group=5)
    assert few.groups_note == "too_few" and few.groups == [] and few.grouped == 9
    same = analyse(STATEMENTS, ["a"] * 20, _votes(20, lambda p, s: 1), min_group=5)
    assert same.groups == [] and same.groups_note == "no_structure"
    assert [s.id for s in same.consensus] == [1, 2, 3, 4] and same.divisive == []
    lopsided = analyse(STATEMENTS, ["a"] * 12, _votes(12, lambda p, s: planted(0 if p < 9 else 1, s)), min_group=5)
    assert all(g.size >= 5 for g in lopsided.groups)                                      # 9 + 3: no group of 3


def test_empty_and_thin_input() -> None:
    empty = analyse([], [], [], min_group=5)
    assert empty.statements == [] and empty.groups == [] and empty.participants == 0
    unvoted = analyse(STATEMENTS, ["a", None], [(0, 1, 1)], min_group=2)
    assert [s.tally.votes for s in unvoted.statements] == [1, 0, 0, 0]
    assert unvoted.consensus == []                                                        # 1 vote < min_group
    split_districts = analyse(STATEMENTS[:1], ["a"] * 3 + ["b"] * 3, [(p, 1, 1 if p < 3 else -1) for p in range(6)],
                              min_group=3)
    assert [s.id for s in split_districts.divisive] == [1]                                # districts, no groups

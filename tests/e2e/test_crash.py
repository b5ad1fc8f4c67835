"""The real `hromada run` process killed (SIGKILL) and stopped (SIGTERM) while residents tap:
after each restart nothing is lost and nothing is applied twice (issue 24). The bigger run with
the issue's figures is benchmarks/crash.py."""
from __future__ import annotations

from pathlib import Path

from tests.e2e.crash_driver import crash_run


async def test_kills_and_restarts_lose_nothing_and_apply_nothing_twice(database_url: str, tmp_path: Path) -> None:
    out = await crash_run(database_url, registrants=12, voters=12, kills=2, sigterms=1, seed=7, log_dir=tmp_path)
    assert out.kills == 2 and out.sigterms == 1, out.line()
    assert out.stuck == [], out.line()
    assert out.wrong == [], out.wrong
    assert out.unconfirmed == 0, out.line()
    assert out.exit_codes[-1] == 0  # the last stop, a SIGTERM, is clean
    # a reply may come twice only when the process died between sending it and confirming it
    assert out.duplicate_replies <= 2 * 8, out.line()

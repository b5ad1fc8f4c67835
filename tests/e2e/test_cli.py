"""The README's first command: `hromada run` with no token starts the sandbox; settings errors
are one clear line. These run the real console script in a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _hromada(args: list[str], tmp_path: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "ADMIN_", "TIMEZONE", "DEFAULT_LOCALE", "WEBHOOK_"))}
    clean.update(env)
    clean["COMMUNITY_FILE"] = str(ROOT / env.get("COMMUNITY_FILE", "communities/kherson.toml"))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin, text=True, capture_output=True,
        cwd=tmp_path, env=clean, timeout=90,
    )


def test_sandbox_registration_export_and_delete_in_ukrainian(tmp_path: Path) -> None:
    script = "\n".join([
        "/start", "1",          # Українська
        "Олена",                # typed name
        "2",                    # second district
        "5",                    # topics: Done
        "1",                    # consent
        "/profile",
        "/mydata",
        "/deleteme", "1",
        ":as moderator", ":as resident", ":quit",
    ]) + "\n"
    result = _hromada(["run"], tmp_path, stdin=script, DEFAULT_LOCALE="uk")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "No BOT_TOKEN set: starting the offline sandbox" in out
    assert "Вітаю" in out and "[1] Українська" in out
    assert "Ви зареєстровані" in out
    assert "Олена" in out and "Корабельний район" in out
    assert "hromada-my-data.json" in out
    export = tmp_path / "data" / "sandbox-files" / "hromada-my-data.json"
    assert '"display_name": "Олена"' in export.read_text(encoding="utf-8")
    assert "moderator" in out
    assert "Traceback" not in out + result.stderr


def test_sandbox_speaks_bulgarian_and_russian(tmp_path: Path) -> None:
    result = _hromada(["sandbox"], tmp_path, stdin="/start\n3\n/language\n2\n:quit\n", DEFAULT_LOCALE="bg")
    assert result.returncode == 0, result.stderr
    assert "Здравейте" in result.stdout
    assert "Как к вам обращаться" in result.stdout or "Как вас называть" in result.stdout or "обращаться" in result.stdout


def test_wrong_setting_is_one_clear_line(tmp_path: Path) -> None:
    result = _hromada(["run"], tmp_path, TIMEZONE="Mars/Olympus")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "hromada: Setting TIMEZONE: expected an IANA time zone such as Europe/Kyiv or Europe/Sofia (got 'Mars/Olympus')"
    ]
    result = _hromada(["run"], tmp_path, BOT_TOKEN="not-a-token")
    assert result.returncode == 2 and "BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr
    result = _hromada(["run"], tmp_path, ADMIN_IDS="12, abc")
    assert result.returncode == 2 and "ADMIN_IDS" in result.stderr
    result = _hromada(["run"], tmp_path, COMMUNITY_FILE="missing.toml")
    assert result.returncode == 2 and "COMMUNITY_FILE" in result.stderr


def test_unreachable_services_are_one_clear_line(tmp_path: Path) -> None:
    token = "123456:TEST"
    result = _hromada(["run"], tmp_path, BOT_TOKEN=token, DATABASE_URL="postgresql+asyncpg://x@127.0.0.1:9/db")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("hromada: Setting DATABASE_URL: cannot open the database")
    result = _hromada(["run"], tmp_path, BOT_TOKEN=token, TELEGRAM_API_URL="http://127.0.0.1:9",
                      DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("hromada: Cannot reach Telegram")


def test_migrate_command(tmp_path: Path) -> None:
    result = _hromada(["migrate"], tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.db").exists()


def test_sandbox_report_reaches_the_moderator_persona(tmp_path: Path) -> None:
    """A report filed as the resident waits for the moderator: switching persona shows the card,
    a reply by its number reaches the resident, and switching back shows it to her."""
    script = "\n".join([
        "/start", "1", "1", "1", "5", "1",           # Українська, keep name, district, topics, consent
        "/report", "1", "Ліхтар не світить & <b>темно</b>", "1", "вул. Ушакова 12", "1", "1", "1",
        ":as moderator", ":reply 16 Котрий під'їзд?", "2",   # reply to the card, then "in progress"
        ":as resident", ":quit",
    ]) + "\n"
    result = _hromada(["sandbox"], tmp_path, stdin=script, DEFAULT_LOCALE="uk")
    assert result.returncode == 0, result.stderr
    moderator, _sep, resident = result.stdout.partition("You are now the moderator")[2].partition(
        "You are now the resident")
    assert "Звернення #1" in moderator and "Ліхтар не світить & <b>темно</b>" in moderator
    assert "Мешканець R-" in moderator and "Olena" not in moderator
    assert "Котрий під'їзд?" in resident and "#1" in resident
    assert "Traceback" not in result.stdout + result.stderr

"""`hromada run` with a token against a self-hosted Bot API URL (the fake): the same command
that runs against Telegram. SIGTERM ends it cleanly. Webhook mode checks the secret header."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from bot.app import build_app, run_webhook
from bot.fakeapi import FakeTelegram
from tests.harness import TOKEN, make_settings

ROOT = Path(__file__).resolve().parents[2]


async def test_run_polls_the_configured_api_and_stops_on_sigterm(tmp_path: Path, database_url: str) -> None:
    async with FakeTelegram(token=TOKEN) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "WEBHOOK_"))}
        env.update(
            BOT_TOKEN=TOKEN, TELEGRAM_API_URL=fake.base_url, DATABASE_URL=database_url,
            COMMUNITY_FILE=str(ROOT / "communities" / "plovdiv.toml"), TIMEZONE="Europe/Sofia",
            DEFAULT_LOCALE="bg", LOG_LEVEL="WARNING",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_for(lambda: fake.calls_to("getUpdates"), timeout=30)
            # menus are published per language at start
            private = {"type": "all_private_chats"}
            for lang in ("uk", "ru", "bg", "en"):
                names = [c["command"] for c in fake.commands(private, lang)]
                assert "mydata" in names and "grant" not in names
            maria = fake.user(7001, first_name="Мария", language_code="bg")
            await maria.send("/start", wait=False)
            await fake.wait_for(lambda: fake.bot_messages(7001), timeout=20)
            assert "Здравейте" in maria.last.text and "Пловдив" in maria.last.text
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        stderr = (await proc.stderr.read()).decode()  # type: ignore[union-attr]
        assert code == 0, stderr
        assert "Traceback" not in stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_mode_with_secret(database_url: str) -> None:
    async with FakeTelegram(token=TOKEN) as fake:
        port = _free_port()
        settings = make_settings(
            database_url, fake.base_url, webhook_url=f"http://127.0.0.1:{port}/tg/hook",
            webhook_secret="s3cret", webhook_port=port,
        )
        app = await build_app(settings)
        stop = asyncio.Event()
        task = asyncio.create_task(run_webhook(app, stop=stop, host="127.0.0.1"))
        try:
            await fake.wait_for(lambda: fake.calls_to("setWebhook"), timeout=20)
            call = fake.calls_to("setWebhook")[-1]
            assert call.params["secret_token"] == "s3cret"
            anna = fake.user(7002, first_name="Anna", language_code="en")
            await anna.send("/start", wait=False)
            await fake.wait_for(lambda: fake.bot_messages(7002), timeout=20)
            assert "Hello" in anna.last.text
            # a request without the secret header is refused
            import aiohttp

            async with aiohttp.ClientSession() as http:
                async with http.post(f"http://127.0.0.1:{port}/tg/hook", json={"update_id": 1}) as resp:
                    assert resp.status in (401, 403)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)

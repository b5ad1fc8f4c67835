"""`hromada` command line: run, sandbox, migrate, i18n."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from bot.app import App


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        print(f"hromada: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _check_community(settings: Settings) -> None:
    from bot.community import CommunityError, load_community

    try:
        load_community(settings.community_file)
    except CommunityError as exc:
        print(f"hromada: Setting COMMUNITY_FILE: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("aiogram.event", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


class StartupError(Exception):
    """Something the bot needs at start is not there; the message is one line naming the setting."""


def _reason(exc: BaseException) -> str:
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]


async def _open(settings: Settings, *, migrate: bool = True) -> App:
    """Migrations (unless a supervisor applied them), then the app, checked: Telegram accepts the
    token, Redis answers."""
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError

    from bot.app import build_app
    from storage.migrate import upgrade

    if migrate:
        try:
            await upgrade(settings.database_url)
        except Exception as exc:  # noqa: BLE001 - any failure here means the database cannot be used
            raise StartupError(f"Setting DATABASE_URL: cannot open the database ({_reason(exc)})") from None
    app = await build_app(settings)
    try:
        await app.bot.get_me()
    except TelegramUnauthorizedError:
        await app.close()
        raise StartupError("Setting BOT_TOKEN: Telegram does not accept this token") from None
    except (TelegramNetworkError, TelegramAPIError) as exc:
        await app.close()
        raise StartupError(f"Cannot reach Telegram ({_reason(exc)}); check the network or TELEGRAM_API_URL") from None
    if settings.redis_url:
        try:
            await getattr(app.dp.storage, "inner", app.dp.storage).redis.ping()  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - whatever the client raises, Redis is not usable
            await app.close()
            raise StartupError(f"Setting REDIS_URL: cannot connect to Redis ({_reason(exc)})") from None
    return app


def _dump_tasks() -> None:
    """SIGUSR1: what a running bot is waiting for (every asyncio task's stack, and the threads'),
    in the log, for an operator looking at a process that seems stuck."""
    import faulthandler
    import io
    import signal

    def dump() -> None:
        out = io.StringIO()
        for task in asyncio.all_tasks():
            print(f"--- {task.get_name()}: {task.get_coro()!r}", file=out)
            task.print_stack(limit=12, file=out)
        logging.getLogger("bot.cli").warning("SIGUSR1: the tasks of pid %s\n%s", os.getpid(), out.getvalue())
        faulthandler.dump_traceback(all_threads=True)

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump)


async def _run(settings: Settings, worker_index: int | None = None) -> None:
    from bot.app import run_polling, run_webhook

    _dump_tasks()
    app = await _open(settings, migrate=worker_index is None)
    if worker_index is not None:  # one of `--workers N`'s children (bot.workers)
        from bot.workers import SkipSetWebhook

        assert app.leader is not None
        app.leader.name = f"{worker_index} (pid {os.getpid()})"
        if worker_index != 0:
            app.bot.session.middleware(SkipSetWebhook())
        await run_webhook(app, reuse_port=True)
    elif settings.webhook_url:
        await run_webhook(app)
    else:
        await run_polling(app)


async def _check(settings: Settings) -> None:
    """The supervisor's start: migrations and checks once, before any worker starts."""
    app = await _open(settings)
    await app.close()


def cmd_run(args: argparse.Namespace) -> None:
    settings = _settings()
    _check_community(settings)
    if settings.sandbox:
        print("No BOT_TOKEN set: starting the offline sandbox (a local fake Telegram).")
        cmd_sandbox(args)
        return
    workers = args.workers if getattr(args, "workers", None) is not None else settings.workers
    problem = settings.workers_problem(workers) if workers >= 1 else "Setting WORKERS: expected 1 or more"
    if problem:
        print(f"hromada: {problem}", file=sys.stderr)
        raise SystemExit(2)
    _logging(settings.log_level)
    worker_index = getattr(args, "worker_index", None)
    if not worker_index:  # (said once, not by every worker)
        for line in settings.missing_optional():
            logging.getLogger("hromada").warning(line)
    try:
        if workers > 1 and worker_index is None:
            from bot.workers import supervise

            asyncio.run(_check(settings))
            raise SystemExit(asyncio.run(supervise(workers)))
        asyncio.run(_run(settings, worker_index))
    except StartupError as exc:
        print(f"hromada: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def cmd_sandbox(args: argparse.Namespace) -> None:
    from bot.sandbox import run_sandbox

    settings = _settings()
    _check_community(settings)
    _logging("WARNING")
    asyncio.run(run_sandbox(settings, database_url=getattr(args, "database", None)))


def cmd_migrate(args: argparse.Namespace) -> None:
    from storage.migrate import upgrade_sync

    settings = _settings()
    upgrade_sync(settings.database_url, args.revision)
    print(f"Database is at revision {args.revision}.")


def cmd_i18n(args: argparse.Namespace) -> None:
    from babel.messages.frontend import CommandLineInterface

    from bot.i18n import DOMAIN, EXTRACT_KEYWORDS, EXTRACT_MAPPING, LOCALES_DIR, compile_catalogs

    import os

    root = LOCALES_DIR.parent
    os.chdir(root)  # relative paths in the catalogs' location comments
    pot = f"locales/{DOMAIN}.pot"
    if args.action in ("extract", "update"):
        keywords = [arg for kw in EXTRACT_KEYWORDS for arg in ("-k", kw)]
        CommandLineInterface().run(
            ["pybabel", "-q", "extract", "--no-default-keywords", *keywords, "-F", EXTRACT_MAPPING,
             "--add-location=file", "--sort-output", "--no-wrap", "--omit-header",
             "-o", pot, "bot", "handlers", "storage"]
        )
    if args.action == "update":
        for po in sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            lang = po.parent.parent.name
            rel = f"locales/{lang}/LC_MESSAGES/{DOMAIN}.po"
            CommandLineInterface().run(
                ["pybabel", "-q", "update", "--no-wrap", "-i", pot, "-o", rel, "-l", lang,
                 "--ignore-obsolete", "--no-fuzzy-matching"]
            )
    if args.action == "update":
        _fill_english(LOCALES_DIR / "en" / "LC_MESSAGES" / f"{DOMAIN}.po")
    if args.action in ("update", "compile"):
        written = compile_catalogs(force=True)
        print(f"Compiled {len(written)} catalogs.")


def _fill_english(po_path: Path) -> None:
    """English is the source language: its catalog repeats each msgid, so it is complete."""
    from babel.messages.pofile import read_po, write_po

    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if not all(message.string):
                message.string = (message.id[0], message.id[1])
        elif not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
    with po_path.open("wb") as fh:
        write_po(fh, catalog, width=0, sort_output=True, include_previous=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hromada", description="Hromada community assistant")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="apply migrations and run the bot (sandbox without BOT_TOKEN)")
    run.add_argument("--workers", type=int, metavar="N",
                     help="webhook worker processes sharing WEBHOOK_PORT (default: WORKERS, 1); "
                          "more than 1 needs PostgreSQL and REDIS_URL")
    run.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)  # set by the supervisor
    sandbox = sub.add_parser("sandbox", help="chat with the bot offline, in this terminal")
    sandbox.add_argument("--database", help="database URL (default: data/sandbox.db)")
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head")
    i18n = sub.add_parser("i18n", help="extract, update or compile translation catalogs")
    i18n.add_argument("action", choices=["extract", "update", "compile"])
    args = parser.parse_args(argv)
    handlers = {"run": cmd_run, "sandbox": cmd_sandbox, "migrate": cmd_migrate, "i18n": cmd_i18n}
    if args.command is None:
        args.command = "run"
    try:
        handlers[args.command](args)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

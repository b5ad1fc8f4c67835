"""In-process fake of the Telegram Bot API, served over real HTTP by aiohttp.

The bot under test talks to it exactly as to Telegram::

    async with FakeTelegram(token="123456:TEST") as fake:
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
        alice = fake.user(1001, first_name="Alice")
        await alice.send("/start")          # enqueues an update, waits until the bot handled it
        assert alice.last.buttons == [...]

Method handlers are the ``_m_<lowercase method name>`` methods; each takes the normalised
request parameters and returns the ``result`` or raises :class:`ApiError`.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import inspect
import json
import logging
import mimetypes
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

from .client import FakeGroup, FakeUser
from .html import HtmlError, check_url, parse_html, utf16_len
from .models import ApiCall, ApiError, Limits, SentMessage, StoredFile, Upload, bad_request
from .ratelimit import RateLimiter

__all__ = ["ChatState", "FakeTelegram"]

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_UPLOAD = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"

# Update types Telegram only delivers when asked for explicitly in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)
_TOPIC_COLORS = frozenset({7322096, 16766590, 13338331, 9367192, 16749490, 16478047})

# How form/multipart string values are typed (JSON bodies are already typed).
_JSON_KEYS = frozenset(
    {
        "reply_markup", "reply_parameters", "entities", "caption_entities", "media", "commands",
        "scope", "menu_button", "allowed_updates", "link_preview_options", "reaction",
        "message_ids", "permissions", "results", "options", "question_entities",
        "explanation_entities", "rights",
    }
)
_INT_KEYS = frozenset(
    {
        "message_id", "offset", "limit", "timeout", "reply_to_message_id", "message_thread_id",
        "user_id", "cache_time", "duration", "max_connections", "icon_color", "width", "height",
        "length", "live_period", "heading", "proximity_alert_radius", "until_date",
    }
)
_FLOAT_KEYS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
_BOOL_KEYS = frozenset(
    {
        "disable_notification", "protect_content", "show_alert", "drop_pending_updates", "is_big",
        "disable_web_page_preview", "has_spoiler", "allow_sending_without_reply",
        "show_caption_above_media", "disable_content_type_detection", "supports_streaming",
        "only_if_banned", "revoke_messages", "for_channels", "allow_paid_broadcast",
        "is_anonymous", "allows_multiple_answers", "is_closed",
    }
)
_CHAT_KEYS = frozenset({"chat_id", "from_chat_id"})

_FILE_PREFIX = {
    "photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI", "voice": "AwACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI", "audio": "CQACAgIAAxkBAAI", "animation": "CgACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI", "video_note": "DQACAgIAAxkBAAI",
}
_FILE_DIR = {
    "photo": ("photos", ".jpg"), "document": ("documents", ""), "voice": ("voice", ".oga"),
    "video": ("videos", ".mp4"), "audio": ("music", ".mp3"), "animation": ("animations", ".mp4"),
    "sticker": ("stickers", ".webp"), "video_note": ("video_notes", ".mp4"),
}
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_TRIM = " \t\r\n\v\f"


def _now() -> int:
    return int(time.time())


def _trim(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Strip leading/trailing whitespace like Telegram and shift the entities accordingly."""
    stripped = text.strip(_TRIM)
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip(_TRIM))])
    size = utf16_len(stripped)
    result = []
    for entity in entities:
        start = min(max(entity["offset"] - lead, 0), size)
        end = min(max(entity["offset"] + entity["length"] - lead, 0), size)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def _inline(markup: dict | None) -> dict | None:
    """The markup as it appears in a Message: only non-empty inline keyboards."""
    if markup and markup.get("inline_keyboard"):
        return markup
    return None


def _coerce(key: str, value: Any) -> Any:
    """Type a request parameter the way Telegram reads it."""
    if isinstance(value, Upload) or value is None:
        return value
    try:
        if key in _CHAT_KEYS:
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
                return int(value)
            return value
        if not isinstance(value, str):
            if key in _INT_KEYS and isinstance(value, float):
                return int(value)
            return value
        if key in _JSON_KEYS:
            return json.loads(value)
        if key in _INT_KEYS:
            return int(value)
        if key in _FLOAT_KEYS:
            return float(value)
        if key in _BOOL_KEYS:
            return value.strip().lower() in ("true", "1")
    except (ValueError, json.JSONDecodeError):
        if key == "reply_markup":
            raise bad_request("can't parse reply keyboard markup JSON object") from None
        raise bad_request(f"can't parse {key}") from None
    return value


def normalize_params(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: _coerce(key, value) for key, value in raw.items()}


def _scope_key(scope: Any) -> str:
    """Canonical key of a BotCommandScope given as dict, type name or aiogram object."""
    if scope is None:
        scope = {"type": "default"}
    elif isinstance(scope, str):
        scope = {"type": scope}
    elif hasattr(scope, "model_dump"):
        scope = scope.model_dump()
    scope = {k: v for k, v in dict(scope).items() if v is not None}
    for key in ("chat_id", "user_id"):
        if isinstance(scope.get(key), str) and re.fullmatch(r"-?\d+", scope[key]):
            scope[key] = int(scope[key])
    return json.dumps(scope, sort_keys=True)


@dataclass
class ChatState:
    """Everything the fake knows about one chat."""

    id: int
    type: str  # "private" | "supergroup"
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    is_forum: bool = False
    messages: dict[int, SentMessage] = field(default_factory=dict)
    next_message_id: int = 1
    blocked: bool = False  # private chats: the user blocked the bot
    bot_member: bool = True  # groups: the bot is (still) in the chat
    admins: dict[int, str] = field(default_factory=dict)  # user_id -> "creator" | "administrator"
    members: set[int] = field(default_factory=set)
    topics: dict[int, dict] = field(default_factory=dict)

    def as_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            chat["first_name"] = self.first_name or ""
            if self.last_name:
                chat["last_name"] = self.last_name
        else:
            chat["title"] = self.title or ""
            if self.is_forum:
                chat["is_forum"] = True
        if self.username:
            chat["username"] = self.username
        return chat


class FakeTelegram:
    """A fake Bot API server with a user-side driver; see the module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "hromada_bot",
        *,
        limits: Limits | None = None,
        bot_first_name: str = "Hromada",
        privacy_mode: bool = True,
        strict_html: bool = False,
        settle_timeout: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id, "is_bot": True, "first_name": bot_first_name, "username": bot_username,
        }
        self.limits = limits or Limits()
        self.privacy_mode = privacy_mode
        self.strict_html = strict_html
        self.settle_timeout = settle_timeout
        self.host, self.port = host, port

        self.calls: list[ApiCall] = []
        self.stats: Counter[str] = Counter()
        self.upload_count = 0
        self.callback_answers: list[dict[str, Any]] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.on_bot_message: Callable[[SentMessage, str], None] | None = None
        self.on_callback_answer: Callable[[dict[str, Any]], None] | None = None
        # called with the message and its new reactions after setMessageReaction (the sandbox shows them)
        self.on_reaction: Callable[[SentMessage, list[dict]], None] | None = None

        self._chats: dict[int, ChatState] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._drivers: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, str] = {}
        self._thumbs: dict[str, str] = {}
        self._commands: dict[tuple[str, str], list[dict]] = {}
        self._menu_buttons: dict[int | None, dict] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._rate = RateLimiter()
        self._media_groups = 0

        # update queue and synchronisation
        self._pending: list[dict[str, Any]] = []
        self.sent_updates: list[dict[str, Any]] = []  # every update ever queued, in order
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._changed = asyncio.Event()
        self._poll_seq = 0
        self._polls: dict[str, tuple[int, int]] = {}  # native poll id -> (chat id, message id)
        self._poll_votes: dict[str, dict[int, list[int]]] = {}  # poll id -> user id -> option ids
        self._idle_polls = 0
        self._short_idle = False
        self._last_poll: float | None = None
        self._closing = False

        # webhook
        self._webhook: dict[str, Any] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_inflight: dict[int, asyncio.Task[None]] = {}  # update_id -> its POST
        self._webhook_retry_at = 0.0  # after a failed POST no new one starts before this (loop time)
        self._webhook_error: tuple[int, str] | None = None

        # an outage: these methods (all when None) answer this error until heal()
        self._outage: tuple[frozenset[str] | None, ApiError] | None = None
        self._outage_updates = False  # getUpdates fails too

        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            name[3:]: getattr(self, name) for name in dir(self) if name.startswith("_m_")
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        """Bind 127.0.0.1 on a free port; returns the base URL (``http://127.0.0.1:PORT``)."""
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(
            app, handle_signals=False, shutdown_timeout=1.0, handler_cancellation=True, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self._closing = False
        self._base_url = f"http://{self.host}:{port}"
        return self._base_url

    async def stop(self) -> None:
        """Stop serving; pending long polls are answered at once."""
        self._closing = True
        self._notify()
        await self._stop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeTelegram is not started; await fake.start() first")
        return self._base_url

    # ------------------------------------------------------------------ public helpers

    def user(
        self,
        user_id: int,
        first_name: str = "User",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool = False,
    ) -> FakeUser:
        """The user ``user_id`` with a private chat with the bot (created on first call)."""
        if user_id in self._drivers:
            return self._drivers[user_id]
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        if is_premium:
            user["is_premium"] = True
        self._users[user_id] = user
        self._chats[user_id] = ChatState(
            user_id, "private", first_name=first_name, last_name=last_name, username=username
        )
        driver = FakeUser(self, user_id)
        self._drivers[user_id] = driver
        return driver

    def counters(self) -> dict[str, Any]:
        """The next update id and each chat's next message id, as a real Telegram keeps them
        between runs (the sandbox saves them, so a restarted bot never meets an id it stored)."""
        return {"update_id": self._next_update_id,
                "message_ids": {str(cid): chat.next_message_id for cid, chat in self._chats.items()}}

    def resume(self, counters: dict[str, Any], *, after_update: int = 0) -> None:
        """Go on from saved :meth:`counters` (chats made later too); updates also after
        ``after_update`` (the highest one the bot recorded)."""
        self._next_update_id = max(self._next_update_id, int(counters.get("update_id") or 1), after_update + 1)
        for cid, next_id in (counters.get("message_ids") or {}).items():
            chat = self._chats.get(int(cid))
            if chat is not None:
                chat.next_message_id = max(chat.next_message_id, int(next_id))

    def group(
        self,
        group_id: int,
        title: str = "Group",
        *,
        is_forum: bool = False,
        username: str | None = None,
        bot_admin: bool = True,
    ) -> FakeGroup:
        """A supergroup the bot is a member of (an administrator unless ``bot_admin=False``)."""
        if group_id in self._groups:
            return self._groups[group_id]
        if group_id >= 0:
            raise ValueError("group ids are negative, e.g. -1001234567890")
        chat = ChatState(group_id, "supergroup", title=title, username=username, is_forum=is_forum)
        if bot_admin:
            chat.admins[self.bot_id] = "administrator"
        self._chats[group_id] = chat
        driver = FakeGroup(self, group_id)
        self._groups[group_id] = driver
        return driver

    def set_admin(self, chat_id: int, user_id: int, *, creator: bool = False, admin: bool = True) -> None:
        """Make ``user_id`` (or the bot, by its id) an administrator of the group; admin=False demotes."""
        chat = self._require_chat(chat_id)
        if admin:
            chat.admins[user_id] = "creator" if creator else "administrator"
            if user_id != self.bot_id:
                chat.members.add(user_id)
        else:
            chat.admins.pop(user_id, None)

    def chat(self, chat_id: int) -> ChatState:
        return self._require_chat(chat_id)

    def history(self, chat_id: int) -> list[SentMessage]:
        """All messages of the chat (bot's and users', deleted ones included), oldest first."""
        return list(self._require_chat(chat_id).messages.values())

    def bot_messages(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in the chat that were not deleted, oldest first."""
        return [m for m in self.history(chat_id) if m.from_bot and not m.deleted]

    def commands(self, scope: Any = None, language_code: str | None = None) -> list[dict]:
        """Commands set with setMyCommands for exactly this scope and language ("" = none)."""
        return copy.deepcopy(self._commands.get((_scope_key(scope), language_code or ""), []))

    def menu_button(self, chat_id: int | None = None) -> dict:
        return copy.deepcopy(self._menu_buttons.get(chat_id) or {"type": "default"})

    @property
    def files(self) -> dict[str, bytes]:
        """file_id -> content of every file known to the fake (uploads and user files)."""
        return {file_id: f.content for file_id, f in self._files.items()}

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._pending)

    @property
    def unanswered_callbacks(self) -> list[str]:
        """Ids of callback queries the bot never answered (the user sees a spinner)."""
        return [qid for qid, q in self._callbacks.items() if q["answer"] is None]

    @property
    def webhook_url(self) -> str | None:
        return self._webhook["url"] if self._webhook else None

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def enqueue(self, update_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (for update types the driver does not cover)."""
        update = {"update_id": self._next_update_id, update_type: payload}
        self._next_update_id += 1
        self._pending.append(update)
        self.sent_updates.append(update)
        self._short_idle = False
        self._notify()
        return update

    def redeliver(self, update: dict[str, Any]) -> None:
        """Deliver an earlier update again, as Telegram does when the bot stopped before it
        confirmed it (or a webhook answer did not arrive)."""
        self._pending.append(copy.deepcopy(update))
        self._pending.sort(key=lambda u: u["update_id"])
        self._short_idle = False
        self._notify()

    async def settle(self, timeout: float | None = None) -> None:
        """Wait until the bot confirmed every queued update and is waiting for more.

        With polling that means: a later getUpdates ``offset`` confirmed them and a getUpdates
        is waiting again; with a webhook: every POST got its response.
        """
        timeout = self.settle_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            if self._is_settled():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(self._settle_report(timeout))
            await self._wait(event, min(remaining, 0.1))

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float | None = None, *, interval: float = 0.01
    ) -> Any:
        """Poll ``predicate`` until it returns something truthy (returned); else TimeoutError
        (after ``timeout``, by default the settle cap)."""
        timeout = self.settle_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if loop.time() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s: {predicate!r}")
            await asyncio.sleep(interval)

    # ------------------------------------------------------------------ sync internals

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    @staticmethod
    async def _wait(event: asyncio.Event, timeout: float) -> None:
        """Wait for ``event`` at most ``timeout`` s (asyncio.timeout never swallows a cancel)."""
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            pass

    def _is_settled(self) -> bool:
        if self._pending:
            return False
        if self._webhook is not None:
            return not self._webhook_inflight
        return self._idle_polls > 0 or self._short_idle

    def _settle_report(self, timeout: float) -> str:
        lines = [f"FakeTelegram.settle() timed out after {timeout}s."]
        if self._pending:
            kinds = [f"#{u['update_id']} {self._update_type(u)}" for u in self._pending[:10]]
            lines.append(f"Unconfirmed updates ({len(self._pending)}): {', '.join(kinds)}.")
        if self._webhook is not None:
            lines.append(f"Webhook {self._webhook['url']} in flight={len(self._webhook_inflight)}.")
            if self._webhook_error:
                lines.append(f"Last webhook error: {self._webhook_error[1]}.")
        elif self._last_poll is None:
            lines.append("The bot never called getUpdates: is polling started against this fake?")
        else:
            ago = time.monotonic() - self._last_poll
            lines.append(
                f"Last getUpdates started {ago:.1f}s ago; waiting now: {self._idle_polls > 0}. "
                "A handler may still be running or hanging (handle_as_tasks=False is required "
                "for settle() to know when a handler finished)."
            )
        if self.calls:
            last = self.calls[-1]
            lines.append(f"Last API call: {last.method} ok={last.ok} {last.description or ''}".rstrip())
        return " ".join(lines)

    @staticmethod
    def _update_type(update: dict[str, Any]) -> str:
        return next(key for key in update if key != "update_id")

    def _allowed(self, update_type: str) -> bool:
        if self._allowed_updates:
            return update_type in self._allowed_updates
        return update_type not in _OPT_IN_UPDATES

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        """Pending updates the bot may receive; the excluded types are dropped like Telegram does."""
        kept = [u for u in self._pending if self._allowed(self._update_type(u))]
        if len(kept) != len(self._pending):
            self._pending = kept
            self._notify()
        return kept[:limit]

    def _confirm(self, offset: int) -> None:
        before = len(self._pending)
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        if len(self._pending) != before:
            self._notify()

    def _emit(self, message: SentMessage, event: str) -> None:
        if self.on_bot_message is not None:
            try:
                self.on_bot_message(message, event)
            except Exception:  # noqa: BLE001 - a broken hook must not break the API
                log.exception("on_bot_message hook failed")

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            error = ApiError(401, "Unauthorized")
            self._record(method, {}, error)
            return web.json_response(error.payload(), status=401)
        try:
            params = await self._read_params(request)
        except ApiError as error:
            self._record(method, {}, error)
            return web.json_response(error.payload(), status=error.code)
        if self._outage is not None and self._outage[1].code == 0 and (
                method.lower() != "getupdates" or self._outage_updates) and (
                self._outage[0] is None or method.lower() in self._outage[0]):
            self._record(method, params, self._outage[1])
            if request.transport is not None:
                request.transport.abort()  # the connection drops: no answer at all
            return web.Response(status=500)
        status, body = await self._call(method, params)
        return web.json_response(body, status=status)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON encoded request body") from None
                if not isinstance(body, dict):
                    raise bad_request("JSON object expected as request body")
                raw.update(body)
            else:
                # request.post() reads the whole body (multipart included), which keeps the
                # keep-alive connection reusable; reading parts by hand may leave the epilogue
                # unread and make aiohttp close the connection under the client's feet.
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        raw[key] = Upload(value.file.read(), value.filename, value.content_type)
                    else:
                        raw[key] = value
        return normalize_params(raw)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        file_id = self._paths.get(request.match_info["path"])
        if file_id is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        stored = self._files[file_id]
        return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")

    def _record(self, method: str, params: dict[str, Any], error: ApiError | None, ts: float | None = None) -> None:
        self.calls.append(
            ApiCall(
                method=method,
                params=params,
                ok=error is None,
                error_code=error.code if error else None,
                ts=time.monotonic() if ts is None else ts,
                description=error.description if error else None,
            )
        )
        self.stats["calls"] += 1
        if error is not None:
            self.stats[str(error.code)] += 1
            self.stats["errors"] += 1

    def outage(self, methods: set[str] | None = None, code: int = 502, description: str = "Bad Gateway",
               *, updates_too: bool = False) -> None:
        """Telegram fails: ``methods`` (e.g. {"sendMessage"}; all but getUpdates when None) answer
        ``code`` until :meth:`heal`; ``code=0`` drops the connection instead of answering. Such
        answers are faults, not rejections."""
        names = frozenset(m.lower() for m in methods) if methods is not None else None
        self._outage = (names, ApiError(code, description))
        self._outage_updates = updates_too

    def heal(self) -> None:
        self._outage = None
        self._notify()

    async def _call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one Bot API method; returns (HTTP status, Telegram-shaped body)."""
        ts = time.monotonic()
        if self._outage is not None and (method.lower() != "getupdates" or self._outage_updates):
            names, error = self._outage
            if names is None or method.lower() in names:
                self._record(method, params, error, ts)
                return error.code, error.payload()
        handler = self._methods.get(method.lower())
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            self._record(method, params, error, ts)
            return error.code, error.payload()
        self._record(method, params, None, ts)
        return 200, {"ok": True, "result": result}

    # ------------------------------------------------------------------ validation helpers

    def _require_chat(self, chat_id: int) -> ChatState:
        try:
            return self._chats[chat_id]
        except KeyError:
            raise KeyError(f"unknown chat {chat_id}; create it with fake.user()/fake.group()") from None

    def _find_chat(self, value: Any) -> ChatState:
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            name = value[1:].lower()
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == name:
                    return chat
            raise bad_request("chat not found")
        chat = self._chats.get(value) if isinstance(value, int) else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _target(self, p: dict[str, Any], key: str = "chat_id") -> ChatState:
        """The chat a bot action goes to, with the 403s Telegram returns."""
        chat = self._find_chat(p.get(key))
        if chat.type == "private" and chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.type != "private" and not chat.bot_member:
            raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")
        return chat

    def _bot_is_admin(self, chat: ChatState) -> bool:
        return chat.type != "private" and self.bot_id in chat.admins

    def _message(self, chat: ChatState, p: dict[str, Any], missing: str) -> SentMessage:
        message_id = p.get("message_id")
        if not message_id:
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request(missing)
        return message

    def _format(self, p: dict[str, Any], key: str, entities_key: str) -> tuple[str, list[dict], str, str | None]:
        """(plain text, entities, raw text as sent, parse_mode) of ``text``/``caption``."""
        raw = p.get(key)
        raw = "" if raw is None else str(raw)
        mode = p.get("parse_mode") or None
        if p.get(entities_key):
            plain, entities = raw, list(p[entities_key])
        elif mode is None:
            plain, entities = raw, []
        elif mode.lower() == "html":
            try:
                plain, entities = parse_html(raw, strict=self.strict_html)
            except HtmlError as error:
                raise bad_request(f"can't parse entities: {error.description}") from None
            for entity in entities:
                if entity["type"] == "text_mention" and entity["user"]["id"] in self._users:
                    entity["user"] = dict(self._users[entity["user"]["id"]])
        elif mode.lower() in ("markdownv2", "markdown"):
            plain, entities = re.sub(r"\\(.)", r"\1", raw), []  # accepted without checking
        else:
            raise bad_request("unsupported parse_mode")
        plain, entities = _trim(plain, entities)
        return plain, entities, raw, mode

    def _text(self, p: dict[str, Any]) -> tuple[str, list[dict], str, str | None]:
        plain, entities, raw, mode = self._format(p, "text", "entities")
        if not plain:
            raise bad_request("message text is empty")
        if utf16_len(plain) > MAX_TEXT:
            raise bad_request("message is too long")
        return plain, entities, raw, mode

    def _caption(self, p: dict[str, Any]) -> tuple[str, list[dict], str, str | None]:
        plain, entities, raw, mode = self._format(p, "caption", "caption_entities")
        if utf16_len(plain) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return plain, entities, raw, mode

    @staticmethod
    def _check_markup(markup: Any, *, inline_only: bool = False) -> dict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
                    if not any(key in button for key in _BUTTON_ACTIONS):
                        raise bad_request(
                            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                        )
                    if "callback_data" in button:
                        data = button["callback_data"]
                        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                            raise bad_request("BUTTON_DATA_INVALID")
                    if "url" in button:
                        if check_url(str(button["url"])) is None:
                            raise bad_request(
                                f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL"
                            )
            return markup
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad_request('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays')
            for row in rows:
                for button in row:
                    text = button if isinstance(button, str) else (button or {}).get("text")
                    if not isinstance(text, str) or not text:
                        raise bad_request("can't parse keyboard button: Text must be non-empty")
            return markup
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    def _reply_target(self, chat: ChatState, p: dict[str, Any]) -> SentMessage | None:
        params = p.get("reply_parameters")
        if not params and p.get("reply_to_message_id"):
            params = {"message_id": p["reply_to_message_id"]}
        if not params:
            return None
        target_chat = chat
        if params.get("chat_id") not in (None, ""):
            target_chat = self._find_chat(_coerce("chat_id", params["chat_id"]))
        message = target_chat.messages.get(int(params.get("message_id") or 0))
        if message is None or message.deleted:
            if params.get("allow_sending_without_reply") or p.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return message

    def _thread(self, chat: ChatState, p: dict[str, Any], reply_to: SentMessage | None) -> int | None:
        thread = p.get("message_thread_id")
        if thread:
            if chat.is_forum and thread not in chat.topics:
                raise bad_request("message thread not found")
            return thread if chat.is_forum else None
        if reply_to is not None and reply_to.chat_id == chat.id:
            return reply_to.message_thread_id
        return None

    def _rate_check(self, chat: ChatState) -> None:
        retry = self._rate.retry_after(self.limits, chat.id, time.monotonic())
        if retry is not None:
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)

    # ------------------------------------------------------------------ message store

    def _store(
        self,
        chat: ChatState,
        content: dict[str, Any],
        *,
        sender: dict[str, Any],
        kind: str,
        text: str = "",
        html: str = "",
        entities: list[dict] | None = None,
        parse_mode: str | None = None,
        reply_markup: dict | None = None,
        file: StoredFile | None = None,
        thread: int | None = None,
        reply_to: SentMessage | None = None,
        media_group_id: str | None = None,
    ) -> SentMessage:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        date = _now()
        raw: dict[str, Any] = {"message_id": message_id, "from": dict(sender), "chat": chat.as_chat(), "date": date}
        if thread is not None:
            raw["message_thread_id"] = thread
            raw["is_topic_message"] = True
        if reply_to is not None:
            raw["reply_to_message"] = self._snapshot(reply_to)
        elif thread is not None and thread in chat.messages:
            # Telegram quirk: topic messages "reply" to the topic's creation service message
            raw["reply_to_message"] = self._snapshot(chat.messages[thread])
        raw.update(content)
        if media_group_id:
            raw["media_group_id"] = media_group_id
        if _inline(reply_markup):
            raw["reply_markup"] = reply_markup
        message = SentMessage(
            chat_id=chat.id,
            message_id=message_id,
            text=text,
            html=html,
            entities=list(entities or []),
            parse_mode=parse_mode,
            reply_markup=reply_markup,
            kind=kind,
            file_id=file.file_id if file else None,
            filename=file.filename if file else None,
            message_thread_id=thread,
            reply_to_message_id=reply_to.message_id if reply_to else None,
            from_bot=sender.get("id") == self.bot_id,
            date=date,
            from_id=sender.get("id"),
            media_group_id=media_group_id,
            raw=raw,
        )
        chat.messages[message_id] = message
        return message

    @staticmethod
    def _snapshot(message: SentMessage) -> dict[str, Any]:
        snap = copy.deepcopy(message.raw)
        snap.pop("reply_to_message", None)
        return snap

    def _bot_send(self, chat: ChatState, p: dict[str, Any], content: dict[str, Any], **kw: Any) -> SentMessage:
        """Common tail of every send*: reply/thread resolution, flood control, store, hook."""
        reply_to = self._reply_target(chat, p)
        thread = self._thread(chat, p, reply_to)
        self._rate_check(chat)
        message = self._store(chat, content, sender=self.bot_user, reply_to=reply_to, thread=thread, **kw)
        self._rate.record(chat.id, time.monotonic())
        self._emit(message, "sent")
        return message

    # ------------------------------------------------------------------ files

    def register_file(
        self,
        kind: str,
        content: bytes = b"",
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        url: str | None = None,
    ) -> StoredFile:
        """Create a new file with a fresh, realistic-looking file_id."""
        number = len(self._files) + 1
        seed = hashlib.sha256(f"{self.bot_id}:{kind}:{number}".encode()).digest()
        body = base64.urlsafe_b64encode(seed + seed[:12]).decode().rstrip("=")
        file_id = _FILE_PREFIX.get(kind, _FILE_PREFIX["document"]) + body
        unique = "AQAD" + base64.urlsafe_b64encode(seed[:9]).decode()
        folder, default_ext = _FILE_DIR.get(kind, ("documents", ""))
        ext = ("." + filename.rsplit(".", 1)[1]) if filename and "." in filename else default_ext
        if mime_type is None and filename:
            mime_type = mimetypes.guess_type(filename)[0]
        path = f"{folder}/file_{number}{ext}"
        stored = StoredFile(file_id, unique, kind, bytes(content), filename, mime_type, path, url)
        self._files[file_id] = stored
        self._paths[stored.file_path] = file_id
        return stored

    def _upload(self, kind: str, upload: Upload) -> StoredFile:
        if not upload.data:
            raise bad_request("file must be non-empty")
        if len(upload.data) > MAX_UPLOAD:
            raise ApiError(413, "Request Entity Too Large")
        self.upload_count += 1
        mime = upload.content_type if upload.content_type not in (None, "application/octet-stream") else None
        return self.register_file(kind, upload.data, filename=upload.filename, mime_type=mime)

    def _input_file(self, value: Any, kind: str, p: dict[str, Any], key: str) -> StoredFile:
        """Resolve an InputFile parameter: upload, attach://name, known file_id or HTTP URL."""
        if value is None or value == "":
            raise bad_request(f"there is no {key} in the request")
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get(value[len("attach://") :])
            if not isinstance(value, Upload):
                raise bad_request("wrong file identifier/HTTP URL specified")
        if isinstance(value, Upload):
            return self._upload(kind, value)
        if isinstance(value, str):
            known = self._files.get(value)
            if known is not None:
                if known.kind != kind:
                    raise bad_request(f"can't use file of type {known.kind.title()} as {kind.title()}")
                return known
            if value.startswith(("http://", "https://")):
                name = value.rsplit("/", 1)[-1].split("?", 1)[0] or None
                return self.register_file(kind, url=value, filename=name)
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _photo_sizes(self, photo: StoredFile) -> list[dict[str, Any]]:
        thumb_id = self._thumbs.get(photo.file_id)
        if thumb_id is None:
            thumb_id = self.register_file("photo", photo.content).file_id
            self._thumbs[photo.file_id] = thumb_id
        thumb = self._files[thumb_id]
        size = len(photo.content)
        return [
            {"file_id": thumb.file_id, "file_unique_id": thumb.file_unique_id, "file_size": max(size // 20, 1),
             "width": 90, "height": 68},
            {"file_id": photo.file_id, "file_unique_id": photo.file_unique_id, "file_size": size,
             "width": 1280, "height": 960},
        ]

    def media_content(self, kind: str, stored: StoredFile, p: dict[str, Any] | None = None) -> dict[str, Any]:
        """The Message fields describing a file of the given kind."""
        p = p or {}
        if kind == "photo":
            return {"photo": self._photo_sizes(stored)}
        base: dict[str, Any] = {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.content),
        }
        if kind in ("document", "audio", "animation", "video") and stored.filename:
            base["file_name"] = stored.filename
        if stored.mime_type:
            base["mime_type"] = stored.mime_type
        duration = int(p.get("duration") or 0)
        if kind == "voice":
            base.setdefault("mime_type", "audio/ogg")
            return {"voice": {**base, "duration": duration}}
        if kind == "audio":
            return {"audio": {**base, "duration": duration}}
        if kind in ("video", "animation"):
            item = {**base, "width": p.get("width") or 640, "height": p.get("height") or 360, "duration": duration}
            return {"animation": item, "document": base} if kind == "animation" else {"video": item}
        if kind == "video_note":
            return {"video_note": {**base, "length": p.get("length") or 240, "duration": duration}}
        if kind == "sticker":
            sticker = {**base, "type": "regular", "width": 512, "height": 512, "is_animated": False,
                       "is_video": False}
            if p.get("emoji"):
                sticker["emoji"] = p["emoji"]
            return {"sticker": sticker}
        return {"document": base}

    # ------------------------------------------------------------------ bot identity & updates

    def _m_getme(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_logout(self, p: dict[str, Any]) -> bool:
        return True

    def _m_close(self, p: dict[str, Any]) -> bool:
        return True

    async def _m_getupdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        if "allowed_updates" in p:
            self._allowed_updates = list(p["allowed_updates"] or []) or None
        if p.get("offset"):
            self._confirm(p["offset"])
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = max(float(p.get("timeout") or 0), 0.0)
        self._poll_seq += 1
        seq = self._poll_seq
        self._last_poll = time.monotonic()
        self._notify()  # an older long poll ends with 409, like Telegram
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if seq != self._poll_seq:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                    "make sure that only one bot instance is running")
            if self._webhook is not None:
                raise ApiError(409, "Conflict: terminated by setWebhook request")
            batch = self._deliverable(limit)
            if batch or self._closing:
                return copy.deepcopy(batch)
            remaining = deadline - loop.time()
            if remaining <= 0:
                self._short_idle = True
                self._notify()
                return []
            self._idle_polls += 1
            self._notify()
            event = self._changed  # taken after our own notify, or the wait would end at once
            try:
                await self._wait(event, remaining)
            finally:
                self._idle_polls -= 1

    # ------------------------------------------------------------------ webhook

    def _m_setwebhook(self, p: dict[str, Any]) -> bool:
        url = p.get("url") or ""
        if not url:
            return self._m_deletewebhook(p)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: HTTPS url must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._pending.clear()
        if "allowed_updates" in p:
            self._allowed_updates = list(p["allowed_updates"] or []) or None
        self._webhook = {"url": url, "secret_token": secret, "max_connections": p.get("max_connections") or 40}
        self._webhook_error = None
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_loop())
        self._notify()
        return True

    def _m_deletewebhook(self, p: dict[str, Any]) -> bool:
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self._webhook = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None  # its POSTs in flight are cancelled as it ends
        self._notify()
        return True

    def _m_getwebhookinfo(self, p: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
            if self._webhook_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _stop_webhook(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass

    async def _webhook_loop(self) -> None:
        """POST pending updates like Telegram: up to ``max_connections`` at once, at most one per
        chat in flight (a chat's updates arrive in order), each confirmed when its POST got a 2xx;
        a failed one stays pending and is retried after a pause in which no new POST starts."""
        loop = asyncio.get_running_loop()
        inflight = self._webhook_inflight
        chats: set[Any] = set()  # chats with an update in flight
        try:
            async with ClientSession(timeout=ClientTimeout(total=30), connector=TCPConnector(limit=0)) as session:
                while self._webhook is not None and not self._closing:
                    event, hook = self._changed, self._webhook
                    wait = 1.0
                    if (pause := self._webhook_retry_at - loop.time()) > 0:
                        wait = pause
                    else:
                        for update in self._webhook_next(hook["max_connections"] - len(inflight), chats):
                            chat = self._chat_key(update)
                            chats.add(chat)
                            inflight[update["update_id"]] = loop.create_task(
                                self._webhook_post(session, hook, update, chat, chats))
                    await self._wait(event, wait)
        finally:
            tasks = list(inflight.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            inflight.clear()
            self._notify()

    def _webhook_next(self, room: int, chats: set[Any]) -> list[dict[str, Any]]:
        """Up to ``room`` pending updates to POST now: the first of each chat that has none in flight
        (excluded update types are dropped like Telegram does)."""
        picked: list[dict[str, Any]] = []
        if room <= 0:
            return picked
        dropped = False
        seen: set[Any] = set()  # chats passed over in this scan: their later updates wait too
        for update in self._pending:
            if not self._allowed(self._update_type(update)):
                dropped = True
                continue
            chat = self._chat_key(update)
            if chat in chats or chat in seen or update["update_id"] in self._webhook_inflight:
                seen.add(chat)
                continue
            seen.add(chat)
            picked.append(update)
            if len(picked) >= room:
                break
        if dropped:
            self._pending = [u for u in self._pending if self._allowed(self._update_type(u))]
            self._notify()
        return picked

    @classmethod
    def _chat_key(cls, update: dict[str, Any]) -> Any:
        """The chat an update belongs to (its sender when it has no chat; None for chatless ones)."""
        payload = update.get(cls._update_type(update))
        if not isinstance(payload, dict):
            return None
        for holder in (payload, payload.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("chat"), dict):
                return holder["chat"].get("id")
        for key in ("from", "user", "voter_chat"):
            if isinstance(payload.get(key), dict):
                return payload[key].get("id")
        return None

    async def _webhook_post(self, session: ClientSession, hook: dict[str, Any], update: dict[str, Any],
                            chat: Any, chats: set[Any]) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} if hook["secret_token"] else {}
        delivered = False
        try:
            async with session.post(hook["url"], json=update, headers=headers) as response:
                body = await response.read()
                if 200 <= response.status < 300:
                    delivered = True
                    await self._webhook_reply(body, response.content_type)
                else:
                    reason = f"{response.status} {response.reason}"
                    self._webhook_error = (_now(), f"Wrong response from the webhook: {reason}")
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001
            self._webhook_error = (_now(), f"{type(error).__name__}: {error}")
        finally:
            if delivered:
                for i, pending in enumerate(self._pending):
                    if pending is update:
                        del self._pending[i]
                        break
            else:
                self._webhook_retry_at = asyncio.get_running_loop().time() + 0.2
            self._webhook_inflight.pop(update["update_id"], None)
            chats.discard(chat)
            self._notify()

    async def _webhook_reply(self, body: bytes, content_type: str) -> None:
        """Execute a method returned in the webhook response body, as Telegram does."""
        if content_type != "application/json" or not body:
            return
        try:
            data = json.loads(body)
        except ValueError:
            return
        if isinstance(data, dict) and isinstance(data.get("method"), str):
            params = normalize_params({k: v for k, v in data.items() if k != "method"})
            await self._call(data["method"], params)

    # ------------------------------------------------------------------ sending

    def _m_sendmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._target(p)
        plain, entities, raw, mode = self._text(p)
        markup = self._check_markup(p.get("reply_markup"))
        content: dict[str, Any] = {"text": plain}
        if entities:
            content["entities"] = entities
        return self._bot_send(
            chat, p, content, kind="text", text=plain, html=raw, entities=entities, parse_mode=mode,
            reply_markup=markup,
        ).raw

    def _send_media(self, p: dict[str, Any], kind: str, key: str) -> dict[str, Any]:
        chat = self._target(p)
        plain, entities, raw, mode = self._caption(p) if kind != "sticker" else ("", [], "", None)
        markup = self._check_markup(p.get("reply_markup"))
        stored = self._input_file(p.get(key), kind, p, key)
        content = self.media_content(kind, stored, p)
        if plain:
            content["caption"] = plain
            if entities:
                content["caption_entities"] = entities
        return self._bot_send(
            chat, p, content, kind=kind, text=plain, html=raw, entities=entities, parse_mode=mode,
            reply_markup=markup, file=stored,
        ).raw

    def _m_sendphoto(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(p, "photo", "photo")

    def _m_senddocument(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(p, "document", "document")

    def _m_sendvoice(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(p, "voice", "voice")

    def _m_sendaudio(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(p, "audio", "audio")

    def _m_sendvideo(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(p, "video", "video")

    def _m_sendanimation(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(p, "animation", "animation")

    def _m_sendsticker(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(p, "sticker", "sticker")

    def _m_sendvideonote(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._send_media(p, "video_note", "video_note")

    def _m_sendmediagroup(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._target(p)
        media = p.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("media group must contain 2-10 items")
        prepared = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request("unsupported media type in the media group")
            prepared.append((kind, item, self._caption(item)))
        kinds = {kind for kind, _, _ in prepared}
        if len(kinds) > 1 and not kinds <= {"photo", "video"}:
            raise bad_request("documents and audio can't be mixed with other media types")
        reply_to = self._reply_target(chat, p)
        thread = self._thread(chat, p, reply_to)
        self._rate_check(chat)
        self._media_groups += 1
        group_id = str(13_000_000_000_000_000 + self._media_groups)
        results = []
        for kind, item, (plain, entities, raw, mode) in prepared:
            stored = self._input_file(item.get("media"), kind, p, "media")
            content = self.media_content(kind, stored, item)
            if plain:
                content["caption"] = plain
                if entities:
                    content["caption_entities"] = entities
            message = self._store(
                chat, content, sender=self.bot_user, kind=kind, text=plain, html=raw, entities=entities,
                parse_mode=mode, file=stored, thread=thread, reply_to=reply_to, media_group_id=group_id,
            )
            self._emit(message, "sent")
            results.append(message.raw)
        self._rate.record(chat.id, time.monotonic(), len(results))
        return results

    def _m_sendlocation(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._target(p)
        location = self._location(p)
        markup = self._check_markup(p.get("reply_markup"))
        return self._bot_send(chat, p, {"location": location}, kind="location", reply_markup=markup).raw

    def _m_sendvenue(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._target(p)
        location = self._location(p)
        if not p.get("title") or not p.get("address"):
            raise bad_request("venue title and address must be non-empty")
        venue = {"location": location, "title": str(p["title"]), "address": str(p["address"])}
        markup = self._check_markup(p.get("reply_markup"))
        return self._bot_send(
            chat, p, {"venue": venue, "location": location}, kind="venue", text=venue["title"], reply_markup=markup
        ).raw

    def _m_sendcontact(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._target(p)
        if not p.get("phone_number") or not p.get("first_name"):
            raise bad_request("phone number and first name must be non-empty")
        contact = {"phone_number": str(p["phone_number"]), "first_name": str(p["first_name"])}
        if p.get("last_name"):
            contact["last_name"] = str(p["last_name"])
        markup = self._check_markup(p.get("reply_markup"))
        return self._bot_send(chat, p, {"contact": contact}, kind="contact", reply_markup=markup).raw

    def _m_sendpoll(self, p: dict[str, Any]) -> dict[str, Any]:
        """A native poll: 2-10 options of 1-100 characters, a question of 1-300."""
        chat = self._target(p)
        question = str(p.get("question") or "")
        if not 1 <= len(question) <= 300:
            raise bad_request("poll question length must not exceed 300" if question else "poll question must be non-empty")
        raw = p.get("options")
        if not isinstance(raw, list) or not 2 <= len(raw) <= 10:
            raise bad_request("poll must have at least 2 option" if not raw or len(raw) < 2
                              else "poll can't have more than 10 options")
        options = []
        for item in raw:
            text = str(item.get("text") if isinstance(item, dict) else item)
            if not 1 <= len(text) <= 100:
                raise bad_request("poll option length must not exceed 100" if text else "poll options must be non-empty")
            options.append({"text": text, "voter_count": 0})
        poll_id = str(5_000_000_001 + len(self._polls))
        for i, option in enumerate(options):
            option["persistent_id"] = f"{poll_id}-{i}"
        poll = {
            "id": poll_id, "question": question, "options": options,
            "total_voter_count": 0, "is_closed": bool(p.get("is_closed", False)),
            "is_anonymous": bool(p.get("is_anonymous", True)), "type": str(p.get("type") or "regular"),
            "allows_multiple_answers": bool(p.get("allows_multiple_answers", False)),
            "allows_revoting": True, "members_only": False,
        }
        markup = self._check_markup(p.get("reply_markup"), inline_only=True)
        message = self._bot_send(chat, p, {"poll": poll}, kind="poll", text=question, reply_markup=markup)
        self._polls[poll["id"]] = (chat.id, message.message_id)
        self._poll_votes[poll["id"]] = {}
        return message.raw

    def _m_stoppoll(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._target(p)
        message = self._message(chat, p, "message to stop poll not found")
        poll = message.raw.get("poll")
        if poll is None:
            raise bad_request("message with poll to stop not found")
        if poll["is_closed"]:
            raise bad_request("poll has already been closed")
        poll["is_closed"] = True
        self.enqueue("poll", copy.deepcopy(poll))
        return copy.deepcopy(poll)

    def answer_poll(self, user_id: int, message: SentMessage, option_ids: list[int]) -> None:
        """A user votes (or, with no options, retracts): the poll's counts change; the bot gets a
        ``poll`` update and, for a non-anonymous poll, a ``poll_answer`` naming the user."""
        stored = self._require_chat(message.chat_id).messages.get(message.message_id)
        poll = stored.raw.get("poll") if stored is not None else None
        if poll is None:
            raise AssertionError(f"message {message.message_id} has no poll")
        if poll["is_closed"]:
            raise AssertionError("the poll is closed: Telegram clients do not let anyone vote")
        if len(option_ids) > 1 and not poll["allows_multiple_answers"]:
            raise AssertionError("this poll allows one answer")
        if any(not 0 <= i < len(poll["options"]) for i in option_ids):
            raise AssertionError(f"no such option in {option_ids}")
        votes = self._poll_votes.setdefault(poll["id"], {})
        for i in votes.get(user_id, []):
            poll["options"][i]["voter_count"] -= 1
        if option_ids:
            votes[user_id] = list(option_ids)
        else:
            votes.pop(user_id, None)
        for i in option_ids:
            poll["options"][i]["voter_count"] += 1
        poll["total_voter_count"] = len(votes)
        self.enqueue("poll", copy.deepcopy(poll))
        if not poll["is_anonymous"]:
            self.enqueue("poll_answer", {
                "poll_id": poll["id"], "user": dict(self._users[user_id]), "option_ids": list(option_ids),
                "option_persistent_ids": [poll["options"][i]["persistent_id"] for i in option_ids],
            })

    @staticmethod
    def _location(p: dict[str, Any]) -> dict[str, float]:
        lat, lon = p.get("latitude"), p.get("longitude")
        if lat is None or lon is None:
            raise bad_request("latitude and longitude must be specified")
        if not (-90 <= float(lat) <= 90 and -180 <= float(lon) <= 180):
            raise bad_request("wrong location specified")
        return {"latitude": float(lat), "longitude": float(lon)}

    _NOT_COPIED = frozenset(
        {"message_id", "from", "chat", "date", "reply_to_message", "message_thread_id", "is_topic_message",
         "reply_markup", "media_group_id", "forward_origin", "edit_date", "caption", "caption_entities"}
    )

    def _source(self, p: dict[str, Any], missing: str) -> SentMessage:
        source_chat = self._find_chat(p.get("from_chat_id"))
        source = self._message(source_chat, p, missing)
        if source.kind == "forum_topic_created":
            raise bad_request("message can't be copied")
        return source

    def _m_copymessage(self, p: dict[str, Any]) -> dict[str, int]:
        chat = self._target(p)
        source = self._source(p, "message to copy not found")
        content = {k: copy.deepcopy(v) for k, v in source.raw.items() if k not in self._NOT_COPIED}
        text, entities, html, mode = source.text, source.entities, source.html, source.parse_mode
        if source.kind != "text":
            if "caption" in p:
                text, entities, html, mode = self._caption(p)
            if text:
                content["caption"] = text
                if entities:
                    content["caption_entities"] = entities
        markup = self._check_markup(p.get("reply_markup"))
        stored = self._files.get(source.file_id or "")
        message = self._bot_send(
            chat, p, content, kind=source.kind, text=text, html=html, entities=entities, parse_mode=mode,
            reply_markup=markup, file=stored,
        )
        return {"message_id": message.message_id}

    def _m_forwardmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._target(p)
        source = self._source(p, "message to forward not found")
        skip = self._NOT_COPIED - {"caption", "caption_entities"}
        content = {k: copy.deepcopy(v) for k, v in source.raw.items() if k not in skip}
        content["forward_origin"] = {"type": "user", "sender_user": dict(source.raw["from"]), "date": source.date}
        p = {k: v for k, v in p.items() if k not in ("reply_parameters", "reply_to_message_id")}
        return self._bot_send(
            chat, p, content, kind=source.kind, text=source.text, html=source.html, entities=source.entities,
            parse_mode=source.parse_mode, file=self._files.get(source.file_id or ""),
        ).raw

    def _m_sendchataction(self, p: dict[str, Any]) -> bool:
        chat = self._target(p)
        action = p.get("action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.chat_actions.append((chat.id, action))
        return True

    # ------------------------------------------------------------------ editing & deleting

    def _editable(self, p: dict[str, Any]) -> SentMessage:
        if p.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline mode is not simulated
        chat = self._target(p)
        message = self._message(chat, p, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: SentMessage, **changes: Any) -> dict[str, Any]:
        for key, value in changes.items():
            setattr(message, key, value)
        message.edits += 1
        message.raw["edit_date"] = _now()
        self._emit(message, "edited")
        return message.raw

    @staticmethod
    def _set_raw_markup(message: SentMessage, markup: dict | None) -> None:
        if _inline(markup):
            message.raw["reply_markup"] = markup
        else:
            message.raw.pop("reply_markup", None)

    def _m_editmessagetext(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(p)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        plain, entities, raw, mode = self._text(p)
        markup = _inline(self._check_markup(p.get("reply_markup"), inline_only=True))
        if plain == message.text and entities == message.entities and markup == _inline(message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        message.raw["text"] = plain
        if entities:
            message.raw["entities"] = entities
        else:
            message.raw.pop("entities", None)
        self._set_raw_markup(message, markup)
        return self._apply_edit(
            message, text=plain, html=raw, entities=entities, parse_mode=mode, reply_markup=markup
        )

    def _m_editmessagecaption(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(p)
        if message.kind in ("text", "location", "venue", "contact", "sticker", "forum_topic_created"):
            raise bad_request("there is no caption in the message to edit")
        plain, entities, raw, mode = self._caption(p)
        markup = _inline(self._check_markup(p.get("reply_markup"), inline_only=True))
        if plain == message.text and entities == message.entities and markup == _inline(message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        message.raw.pop("caption", None)
        message.raw.pop("caption_entities", None)
        if plain:
            message.raw["caption"] = plain
            if entities:
                message.raw["caption_entities"] = entities
        self._set_raw_markup(message, markup)
        return self._apply_edit(
            message, text=plain, html=raw, entities=entities, parse_mode=mode, reply_markup=markup
        )

    def _m_editmessagereplymarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(p)
        markup = _inline(self._check_markup(p.get("reply_markup"), inline_only=True))
        if markup == _inline(message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        self._set_raw_markup(message, markup)
        return self._apply_edit(message, reply_markup=markup)

    def _delete(self, chat: ChatState, message: SentMessage) -> None:
        if chat.type != "private" and not message.from_bot and not self._bot_is_admin(chat):
            raise bad_request("message can't be deleted")
        message.deleted = True
        if message.from_bot:
            self._emit(message, "deleted")

    def _m_deletemessage(self, p: dict[str, Any]) -> bool:
        chat = self._target(p)
        self._delete(chat, self._message(chat, p, "message to delete not found"))
        return True

    def _m_deletemessages(self, p: dict[str, Any]) -> bool:
        chat = self._target(p)
        ids = p.get("message_ids") or []
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must contain 1-100 identifiers")
        for message_id in ids:
            message = chat.messages.get(int(message_id))
            if message is not None and not message.deleted:
                try:
                    self._delete(chat, message)
                except ApiError:
                    pass
        return True

    # ------------------------------------------------------------------ callbacks

    def _m_answercallbackquery(self, p: dict[str, Any]) -> bool:
        query_id = str(p.get("callback_query_id") or "")
        query = self._callbacks.get(query_id)
        if query is None or query["answer"] is not None:
            raise bad_request(QUERY_TOO_OLD)
        text = p.get("text")
        if text is not None and utf16_len(str(text)) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        answer = {
            "callback_query_id": query_id,
            "user_id": query["user_id"],
            "chat_id": query["chat_id"],
            "text": None if text is None else str(text),
            "show_alert": bool(p.get("show_alert")),
            "url": p.get("url"),
            "cache_time": p.get("cache_time"),
        }
        query["answer"] = answer
        self.callback_answers.append(answer)
        if self.on_callback_answer is not None:
            try:
                self.on_callback_answer(answer)
            except Exception:  # noqa: BLE001
                log.exception("on_callback_answer hook failed")
        return True

    # ------------------------------------------------------------------ commands, menu, profile

    def _m_setmycommands(self, p: dict[str, Any]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad_request("commands must be an array")
        if len(commands) > 100:
            raise bad_request("too many commands")
        cleaned = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not _COMMAND_RE.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        self._commands[self._command_key(p)] = cleaned
        return True

    def _command_key(self, p: dict[str, Any]) -> tuple[str, str]:
        scope = p.get("scope")
        if isinstance(scope, dict) and "chat_id" in scope:
            self._find_chat(_coerce("chat_id", scope["chat_id"]))
        language = p.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return _scope_key(scope), language

    def _m_getmycommands(self, p: dict[str, Any]) -> list[dict]:
        return copy.deepcopy(self._commands.get(self._command_key(p), []))

    def _m_deletemycommands(self, p: dict[str, Any]) -> bool:
        self._commands.pop(self._command_key(p), None)
        return True

    def _m_setchatmenubutton(self, p: dict[str, Any]) -> bool:
        chat_id = self._find_chat(p["chat_id"]).id if p.get("chat_id") else None
        button = p.get("menu_button") or {"type": "default"}
        if button.get("type") not in ("default", "commands", "web_app"):
            raise bad_request("unsupported menu button type")
        if button["type"] == "web_app" and not (button.get("text") and (button.get("web_app") or {}).get("url")):
            raise bad_request("text and web_app.url of the menu button must be non-empty")
        self._menu_buttons[chat_id] = button
        return True

    def _m_getchatmenubutton(self, p: dict[str, Any]) -> dict:
        chat_id = self._find_chat(p["chat_id"]).id if p.get("chat_id") else None
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return copy.deepcopy(button or {"type": "commands"})

    def _profile_text(self, p: dict[str, Any], field_name: str, limit: int, *, setting: bool) -> Any:
        key = (field_name, p.get("language_code") or "")
        if not setting:
            return {field_name: self._bot_texts.get(key, self.bot_user["first_name"] if field_name == "name" else "")}
        value = str(p.get(field_name) or "")
        if len(value) > limit:
            raise bad_request(f"{field_name} is too long")
        self._bot_texts[key] = value
        return True

    def _m_setmydescription(self, p: dict[str, Any]) -> Any:
        return self._profile_text(p, "description", 512, setting=True)

    def _m_getmydescription(self, p: dict[str, Any]) -> Any:
        return self._profile_text(p, "description", 512, setting=False)

    def _m_setmyshortdescription(self, p: dict[str, Any]) -> Any:
        return self._profile_text(p, "short_description", 120, setting=True)

    def _m_getmyshortdescription(self, p: dict[str, Any]) -> Any:
        return self._profile_text(p, "short_description", 120, setting=False)

    def _m_setmyname(self, p: dict[str, Any]) -> Any:
        return self._profile_text(p, "name", 64, setting=True)

    def _m_getmyname(self, p: dict[str, Any]) -> Any:
        return self._profile_text(p, "name", 64, setting=False)

    # ------------------------------------------------------------------ chats & members

    def _m_getchat(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._find_chat(p.get("chat_id"))
        info = chat.as_chat()
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        )
        pinned = [m for m in chat.messages.values() if m.pinned and not m.deleted]
        if pinned:
            info["pinned_message"] = self._snapshot(pinned[-1])
        return info

    def _member(self, chat: ChatState, user_id: int) -> dict[str, Any]:
        user = self._users.get(user_id) or (self.bot_user if user_id == self.bot_id else None)
        if user is None:
            raise bad_request("user not found")
        status = chat.admins.get(user_id)
        if chat.type == "private":
            return {"status": "member", "user": dict(user)}
        if status == "creator":
            return {"status": "creator", "user": dict(user), "is_anonymous": False}
        if status == "administrator":
            rights = dict.fromkeys(
                ("can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
                 "can_change_info", "can_invite_users", "can_pin_messages", "can_manage_topics"),
                True,
            )
            rights.update(
                dict.fromkeys(
                    ("can_be_edited", "is_anonymous", "can_promote_members", "can_post_stories",
                     "can_edit_stories", "can_delete_stories", "can_send_welcome_messages"),
                    False,
                )
            )
            return {"status": "administrator", "user": dict(user), **rights}
        if user_id in chat.members or (user_id == self.bot_id and chat.bot_member):
            return {"status": "member", "user": dict(user)}
        return {"status": "left", "user": dict(user)}

    def _m_getchatmember(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._find_chat(p.get("chat_id"))
        return self._member(chat, int(p.get("user_id") or 0))

    def _m_getchatadministrators(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._find_chat(p.get("chat_id"))
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        order = sorted(chat.admins, key=lambda uid: chat.admins[uid] != "creator")
        return [self._member(chat, uid) for uid in order]

    def _m_getchatmembercount(self, p: dict[str, Any]) -> int:
        chat = self._find_chat(p.get("chat_id"))
        return 2 if chat.type == "private" else len(chat.members) + int(chat.bot_member)

    def _m_pinchatmessage(self, p: dict[str, Any]) -> bool:
        chat = self._target(p)
        message = self._message(chat, p, "message to pin not found")
        if chat.type != "private" and not self._bot_is_admin(chat):
            raise bad_request("not enough rights to manage pinned messages in the chat")
        message.pinned = True
        return True

    def _m_unpinchatmessage(self, p: dict[str, Any]) -> bool:
        chat = self._target(p)
        if chat.type != "private" and not self._bot_is_admin(chat):
            raise bad_request("not enough rights to manage pinned messages in the chat")
        if p.get("message_id"):
            self._message(chat, p, "message to unpin not found").pinned = False
        else:
            pinned = [m for m in chat.messages.values() if m.pinned]
            if pinned:
                pinned[-1].pinned = False
        return True

    def _m_unpinallchatmessages(self, p: dict[str, Any]) -> bool:
        chat = self._target(p)
        for message in chat.messages.values():
            message.pinned = False
        return True

    def _m_setmessagereaction(self, p: dict[str, Any]) -> bool:
        chat = self._target(p)
        message = chat.messages.get(p.get("message_id") or 0)
        if message is None or message.deleted:
            raise bad_request("MESSAGE_ID_INVALID")
        reactions = p.get("reaction") or []
        if not isinstance(reactions, list) or any(
            not isinstance(r, dict) or r.get("type") not in ("emoji", "custom_emoji", "paid") for r in reactions
        ):
            raise bad_request("REACTION_INVALID")
        if len(reactions) > 1:
            raise bad_request("REACTIONS_TOO_MANY")
        message.reactions = list(reactions)
        if self.on_reaction is not None:
            try:
                self.on_reaction(message, list(reactions))
            except Exception:  # noqa: BLE001 - a broken hook must not break the API
                log.exception("on_reaction hook failed")
        return True

    # ------------------------------------------------------------------ forum topics

    def _forum(self, p: dict[str, Any]) -> ChatState:
        chat = self._target(p)
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        if not self._bot_is_admin(chat):
            raise bad_request("not enough rights to create a topic")
        return chat

    def _topic(self, chat: ChatState, p: dict[str, Any]) -> dict:
        topic = chat.topics.get(p.get("message_thread_id") or 0)
        if topic is None:
            raise bad_request("message thread not found")
        return topic

    def _m_createforumtopic(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._forum(p)
        name = str(p.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "topic name is too long")
        color = p.get("icon_color") or 7322096
        if color not in _TOPIC_COLORS:
            raise bad_request("TOPIC_ICON_COLOR_INVALID")
        topic: dict[str, Any] = {"message_thread_id": chat.next_message_id, "name": name, "icon_color": color}
        if p.get("icon_custom_emoji_id"):
            topic["icon_custom_emoji_id"] = str(p["icon_custom_emoji_id"])
        service = self._store(
            chat, {"forum_topic_created": {"name": name, "icon_color": color}}, sender=self.bot_user,
            kind="forum_topic_created", text=name,
        )
        service.message_thread_id = topic["message_thread_id"]
        service.raw.update(message_thread_id=service.message_id, is_topic_message=True)
        chat.topics[service.message_id] = topic
        self._emit(service, "sent")
        return dict(topic)

    def _m_editforumtopic(self, p: dict[str, Any]) -> bool:
        chat = self._forum(p)
        topic = self._topic(chat, p)
        if p.get("name"):
            topic["name"] = str(p["name"])
        return True

    def _m_closeforumtopic(self, p: dict[str, Any]) -> bool:
        self._topic(self._forum(p), p)["is_closed"] = True
        return True

    def _m_reopenforumtopic(self, p: dict[str, Any]) -> bool:
        self._topic(self._forum(p), p).pop("is_closed", None)
        return True

    def _m_deleteforumtopic(self, p: dict[str, Any]) -> bool:
        chat = self._forum(p)
        thread = self._topic(chat, p)["message_thread_id"]
        del chat.topics[thread]
        for message in chat.messages.values():
            if message.message_thread_id == thread and not message.deleted:
                message.deleted = True
                if message.from_bot:
                    self._emit(message, "deleted")
        return True

    # ------------------------------------------------------------------ files

    def _m_getfile(self, p: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content), "file_path": stored.file_path,
        }

    # ------------------------------------------------------------------ user side (used by client.py)

    def _user_message(
        self,
        chat_id: int,
        user_id: int,
        content: dict[str, Any],
        *,
        kind: str,
        text: str = "",
        entities: list[dict] | None = None,
        file: StoredFile | None = None,
        reply_to: SentMessage | None = None,
        thread: int | None = None,
        media_group_id: str | None = None,
    ) -> SentMessage:
        """Store a message a user sent and queue the update (unless privacy mode hides it)."""
        chat = self._require_chat(chat_id)
        if user_id not in self._users:
            raise AssertionError(f"unknown user {user_id}; create it with fake.user() first")
        if chat.type == "private" and chat.blocked:
            raise AssertionError(f"user {user_id} blocked the bot; call unblock() first")
        if thread is not None and thread not in chat.topics:
            raise AssertionError(f"no topic {thread} in chat {chat_id}; topics: {sorted(chat.topics)}")
        if reply_to is not None and thread is None:
            thread = reply_to.message_thread_id
        if chat.type != "private":
            chat.members.add(user_id)
        message = self._store(
            chat, content, sender=self._users[user_id], kind=kind, text=text, html=text, entities=entities,
            file=file, thread=thread, reply_to=reply_to, media_group_id=media_group_id,
        )
        message.delivered = chat.type == "private" or self._group_delivers(chat, text, reply_to)
        if message.delivered:
            self.enqueue("message", copy.deepcopy(message.raw))
        return message

    def _group_delivers(self, chat: ChatState, text: str, reply_to: SentMessage | None) -> bool:
        """Privacy mode: without admin rights a bot only sees commands, replies and mentions."""
        if not chat.bot_member:
            return False
        if not self.privacy_mode or self._bot_is_admin(chat):
            return True
        if reply_to is not None and reply_to.from_bot:
            return True
        me = self.bot_username.lower()
        for match in re.finditer(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@(\w+))?", text):
            if match.group(1) is None or match.group(1).lower() == me:
                return True
        return f"@{me}" in text.lower()

    def _press(self, chat_id: int, user_id: int, message: SentMessage, data: str) -> str:
        """Queue a callback_query for ``data`` pressed on ``message``; returns the query id."""
        chat = self._require_chat(chat_id)
        if chat.type == "private" and chat.blocked:
            raise AssertionError(f"user {user_id} blocked the bot; call unblock() first")
        if message.deleted:
            raise AssertionError(f"message {message.message_id} was deleted; its buttons are gone")
        query_id = str(4_700_000_000_000_000_000 + len(self._callbacks) + 1)
        self._callbacks[query_id] = {
            "user_id": user_id, "chat_id": chat_id, "message_id": message.message_id, "data": data, "answer": None,
        }
        self.enqueue(
            "callback_query",
            {
                "id": query_id,
                "from": dict(self._users[user_id]),
                "message": copy.deepcopy(message.raw),
                "chat_instance": str(abs(chat_id) * 7919 % 10**18 + 10**17),
                "data": data,
            },
        )
        return query_id

    def _answer_for(self, query_id: str) -> dict[str, Any] | None:
        query = self._callbacks.get(query_id)
        return query["answer"] if query else None

    def _member_update(self, chat: ChatState, user_id: int, old: str, new: str) -> None:
        """Queue a my_chat_member update (user blocked/unblocked the bot, bot removed...)."""
        def member(status: str) -> dict[str, Any]:
            item: dict[str, Any] = {"status": status, "user": dict(self.bot_user)}
            if status == "kicked":
                item["until_date"] = 0
            return item

        self.enqueue(
            "my_chat_member",
            {"chat": chat.as_chat(), "from": dict(self._users[user_id]), "date": _now(),
             "old_chat_member": member(old), "new_chat_member": member(new)},
        )

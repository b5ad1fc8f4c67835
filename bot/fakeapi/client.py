"""User-side driver: people talking to the bot through :class:`~bot.fakeapi.server.FakeTelegram`.

Every action stores the user's message in the chat history, queues the matching Update and, by
default (``wait=True``), waits for ``fake.settle()`` so the bot has handled it when it returns.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from .html import utf16_len
from .models import SentMessage

if TYPE_CHECKING:
    from .server import ChatState, FakeTelegram

__all__ = ["FakeGroup", "FakeUser", "text_entities"]

# a valid 1x1 PNG, used when a test sends a photo without content
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
_ENTITY_PATTERNS = (
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@\w{3,32})?(?!\w)")),
    ("url", re.compile(r"https?://[^\s<>\"]+")),
    ("mention", re.compile(r"(?<![\w@])@\w{5,32}")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
)
_NO_CALLBACK = ("url", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
                "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay")


def text_entities(text: str) -> list[dict]:
    """The entities Telegram detects in what a user typed (commands, URLs, mentions, hashtags)."""
    found: list[tuple[int, int, str]] = []
    for kind, pattern in _ENTITY_PATTERNS:
        found.extend((m.start(), m.end(), kind) for m in pattern.finditer(text))
    found.sort()
    entities, end = [], 0
    for start, stop, kind in found:
        if start < end:
            continue  # overlaps an earlier entity (e.g. a mention inside a URL)
        entities.append({"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:stop])})
        end = stop
    return entities


def _user_id(user: FakeUser | int) -> int:
    return user if isinstance(user, int) else user.id


class _ChatDriver:
    """What every chat offers: reading the bot's messages and pressing their buttons."""

    def __init__(self, fake: FakeTelegram, chat_id: int) -> None:
        self.fake = fake
        self.chat_id = chat_id

    @property
    def chat(self) -> ChatState:
        return self.fake.chat(self.chat_id)

    @property
    def history(self) -> list[SentMessage]:
        """Every message of the chat, the users' and the deleted ones included."""
        return self.fake.history(self.chat_id)

    @property
    def messages(self) -> list[SentMessage]:
        """The bot's messages in this chat that are still there, oldest first."""
        return self.fake.bot_messages(self.chat_id)

    @property
    def last(self) -> SentMessage:
        """The bot's most recent (not deleted) message in this chat."""
        messages = self.messages
        if not messages:
            raise AssertionError(f"the bot has sent no message to chat {self.chat_id}")
        return messages[-1]

    def buttons(self, msg: SentMessage | None = None) -> list[str]:
        """Inline button texts of ``msg`` (default: the last bot message), row-major."""
        return (msg or self.last).buttons

    @property
    def reply_keyboard_rows(self) -> list[list[str]] | None:
        """The reply keyboard currently shown (rows of button texts), None if there is none."""
        for message in reversed(self.history):
            markup = message.reply_markup if message.from_bot else None
            if not markup:
                continue
            if "keyboard" in markup:
                return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in markup["keyboard"]]
            if markup.get("remove_keyboard"):
                return None
        return None

    @property
    def reply_keyboard(self) -> list[str] | None:
        """The reply keyboard's button texts, row-major, or None (removed / never sent)."""
        rows = self.reply_keyboard_rows
        return None if rows is None else [text for row in rows for text in row]

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        """answerCallbackQuery parameters (text, show_alert, url, ...) for presses in this chat."""
        return [a for a in self.fake.callback_answers if a["chat_id"] == self.chat_id]

    # -- internals shared by users and groups

    def _reply(self, reply_to: SentMessage | int | None) -> SentMessage | None:
        if reply_to is None or isinstance(reply_to, SentMessage):
            return reply_to
        message = self.chat.messages.get(reply_to)
        if message is None:
            raise AssertionError(f"no message {reply_to} in chat {self.chat_id}")
        return message

    async def _finish(self, wait: bool) -> None:
        if wait:
            await self.fake.settle()

    async def _text(self, user_id: int, text: str, reply_to: SentMessage | int | None, thread: int | None,
                    wait: bool) -> SentMessage:
        if not text.strip():
            raise AssertionError("Telegram clients do not send empty messages")
        entities = text_entities(text)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        message = self.fake._user_message(
            self.chat_id, user_id, content, kind="text", text=text, entities=entities,
            reply_to=self._reply(reply_to), thread=thread,
        )
        await self._finish(wait)
        return message

    async def _media(self, user_id: int, kind: str, content_bytes: bytes, caption: str | None, *,
                     filename: str | None = None, mime_type: str | None = None, extra: dict[str, Any] | None = None,
                     media_group_id: str | None = None, reply_to: SentMessage | int | None = None,
                     thread: int | None = None, wait: bool = True) -> SentMessage:
        stored = self.fake.register_file(kind, content_bytes, filename=filename, mime_type=mime_type)
        content = self.fake.media_content(kind, stored, extra)
        entities: list[dict] = []
        if caption:
            entities = text_entities(caption)
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        message = self.fake._user_message(
            self.chat_id, user_id, content, kind=kind, text=caption or "", entities=entities, file=stored,
            reply_to=self._reply(reply_to), thread=thread, media_group_id=media_group_id,
        )
        await self._finish(wait)
        return message

    def _find_button(self, text: str, message: SentMessage | None) -> tuple[SentMessage, dict]:
        candidates = [message] if message is not None else list(reversed(self.messages))
        for exact in (True, False):
            for candidate in candidates:
                button = candidate.find_button(text, exact=exact)
                if button is not None:
                    return candidate, button
        if message is not None:
            where = f"message {message.message_id} ({message.text[:40]!r})"
            available = f"{message.buttons}"
        else:
            where = f"any bot message in chat {self.chat_id}"
            with_buttons = [m for m in reversed(self.messages) if m.buttons][:5]
            available = "; ".join(f"#{m.message_id} {m.buttons}" for m in with_buttons) or "none"
        raise AssertionError(f"No inline button {text!r} in {where}. Available buttons: {available}")

    async def _press_text(self, user_id: int, text: str, message: SentMessage | None, wait: bool) -> dict | None:
        message, button = self._find_button(text, message)
        if "callback_data" not in button:
            action = next((key for key in _NO_CALLBACK if key in button), "unknown")
            raise AssertionError(
                f"button {button.get('text')!r} is a {action} button ({button.get(action)!r}); "
                "pressing it sends no callback query to the bot"
            )
        return await self._press_data(user_id, button["callback_data"], message, wait)

    async def _press_data(self, user_id: int, data: str, message: SentMessage | None, wait: bool) -> dict | None:
        query_id = self.fake._press(self.chat_id, user_id, message or self.last, data)
        if not wait:
            return None
        await self.fake.settle()
        return self.fake._answer_for(query_id)


class FakeUser(_ChatDriver):
    """A Telegram user in a private chat with the bot (``fake.user(...)`` creates one)."""

    def __init__(self, fake: FakeTelegram, user_id: int) -> None:
        super().__init__(fake, user_id)
        self.id = user_id

    def __repr__(self) -> str:
        return f"FakeUser({self.id}, {self.user.get('first_name')!r})"

    @property
    def user(self) -> dict[str, Any]:
        """The Telegram User object of this user."""
        return dict(self.fake._users[self.id])

    @property
    def blocked(self) -> bool:
        return self.chat.blocked

    async def send(self, text: str, *, reply_to: SentMessage | int | None = None, wait: bool = True) -> SentMessage:
        """Type a message; ``/command args`` gets a bot_command entity like in Telegram."""
        return await self._text(self.id, text, reply_to, None, wait)

    async def send_photo(self, content: bytes | None = None, caption: str | None = None, *,
                         reply_to: SentMessage | int | None = None, wait: bool = True) -> SentMessage:
        return await self._media(self.id, "photo", content or TINY_PNG, caption, reply_to=reply_to, wait=wait)

    async def send_document(self, filename: str = "document.pdf", content: bytes = b"%PDF-1.4 fake", *,
                            mime_type: str | None = None, caption: str | None = None,
                            wait: bool = True) -> SentMessage:
        return await self._media(self.id, "document", content, caption, filename=filename, mime_type=mime_type,
                                 wait=wait)

    async def send_voice(self, duration: int = 3, content: bytes | None = None, *,
                         reply_to: SentMessage | int | None = None, wait: bool = True) -> SentMessage:
        return await self._media(self.id, "voice", content or b"OggS" + bytes(60), None,
                                 extra={"duration": duration}, reply_to=reply_to, wait=wait)

    async def send_sticker(self, emoji: str = "👍", *, wait: bool = True) -> SentMessage:
        return await self._media(self.id, "sticker", b"RIFF\x00\x00\x00\x00WEBPVP8 ", None,
                                 extra={"emoji": emoji}, wait=wait)

    async def send_location(self, latitude: float, longitude: float, *, wait: bool = True) -> SentMessage:
        content = {"location": {"latitude": float(latitude), "longitude": float(longitude)}}
        message = self.fake._user_message(self.chat_id, self.id, content, kind="location")
        await self._finish(wait)
        return message

    async def send_contact(self, phone_number: str, first_name: str | None = None, *, last_name: str | None = None,
                           own: bool = True, wait: bool = True) -> SentMessage:
        """Share a contact; ``own=True`` (what request_contact buttons send) adds this user's id."""
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name or self.user["first_name"]}
        if last_name:
            contact["last_name"] = last_name
        if own:
            contact["user_id"] = self.id
        message = self.fake._user_message(self.chat_id, self.id, {"contact": contact}, kind="contact")
        await self._finish(wait)
        return message

    async def send_album(self, n_photos: int = 2, caption: str | None = None, *,
                         wait: bool = True) -> list[SentMessage]:
        """Several photos sharing a media_group_id; each arrives as its own update, like in Telegram."""
        self.fake._media_groups += 1
        group_id = str(14_000_000_000_000_000 + self.fake._media_groups)
        messages = [
            await self._media(self.id, "photo", TINY_PNG, caption if i == 0 else None, media_group_id=group_id,
                              wait=False)
            for i in range(n_photos)
        ]
        await self._finish(wait)
        return messages

    async def press(self, text: str, *, message: SentMessage | None = None, wait: bool = True) -> dict | None:
        """Press the inline button labelled ``text`` (exact match preferred, else substring).

        Searches ``message`` or the bot's messages newest first.  Returns the answerCallbackQuery
        parameters once the bot handled the query (None if it did not answer or ``wait=False``).
        """
        return await self._press_text(self.id, text, message, wait)

    async def press_data(self, data: str, *, message: SentMessage | None = None, wait: bool = True) -> dict | None:
        """Send a callback query with arbitrary (possibly forged) data on ``message`` (default: last)."""
        return await self._press_data(self.id, data, message, wait)

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        """answerCallbackQuery parameters (text, show_alert, url, ...) for this user's presses."""
        return [a for a in self.fake.callback_answers if a["user_id"] == self.id]

    async def answer_poll(self, option_ids: list[int], *, message: SentMessage | None = None,
                          wait: bool = True) -> None:
        """Vote in a native poll (``message`` or the bot's latest poll here); [] retracts the vote."""
        if message is None:
            message = next((m for m in reversed(self.messages) if m.kind == "poll"), None)
            if message is None:
                raise AssertionError(f"the bot sent no poll to chat {self.chat_id}")
        self.fake.answer_poll(self.id, message, option_ids)
        await self._finish(wait)

    def block(self) -> None:
        """Block the bot: its calls to this chat get 403; queues a my_chat_member update."""
        if not self.chat.blocked:
            self.chat.blocked = True
            self.fake._member_update(self.chat, self.id, "member", "kicked")

    def unblock(self) -> None:
        if self.chat.blocked:
            self.chat.blocked = False
            self.fake._member_update(self.chat, self.id, "kicked", "member")


class FakeGroup(_ChatDriver):
    """A supergroup with the bot in it (``fake.group(...)`` creates one); users act in it."""

    def __init__(self, fake: FakeTelegram, group_id: int) -> None:
        super().__init__(fake, group_id)
        self.id = group_id

    def __repr__(self) -> str:
        return f"FakeGroup({self.id}, {self.chat.title!r})"

    @property
    def title(self) -> str:
        return self.chat.title or ""

    @property
    def topics(self) -> list[dict[str, Any]]:
        """Forum topics created by the bot (ForumTopic objects), oldest first."""
        return [dict(topic) for topic in self.chat.topics.values()]

    def topic_messages(self, thread_id: int) -> list[SentMessage]:
        return [m for m in self.messages if m.message_thread_id == thread_id]

    def add_member(self, user: FakeUser | int) -> None:
        self.chat.members.add(_user_id(user))

    async def send(self, user: FakeUser | int, text: str, *, reply_to: SentMessage | int | None = None,
                   thread_id: int | None = None, wait: bool = True) -> SentMessage:
        """``user`` writes in the group, optionally replying to a message / inside a forum topic.

        With privacy mode on and the bot not an admin, only commands, replies to the bot and
        mentions reach the bot (``message.delivered`` tells).
        """
        return await self._text(_user_id(user), text, reply_to, thread_id, wait)

    async def send_photo(self, user: FakeUser | int, content: bytes | None = None, caption: str | None = None, *,
                         reply_to: SentMessage | int | None = None, thread_id: int | None = None,
                         wait: bool = True) -> SentMessage:
        return await self._media(_user_id(user), "photo", content or TINY_PNG, caption, reply_to=reply_to,
                                 thread=thread_id, wait=wait)

    async def press(self, user: FakeUser | int, text: str, *, message: SentMessage | None = None,
                    wait: bool = True) -> dict | None:
        return await self._press_text(_user_id(user), text, message, wait)

    async def press_data(self, user: FakeUser | int, data: str, *, message: SentMessage | None = None,
                         wait: bool = True) -> dict | None:
        return await self._press_data(_user_id(user), data, message, wait)

    def kick_bot(self, by: FakeUser | int) -> None:
        """``by`` removes the bot: later calls to the group get 403; queues my_chat_member."""
        chat = self.chat
        if chat.bot_member:
            old = chat.admins.pop(self.fake.bot_id, None) or "member"
            chat.bot_member = False
            self.fake._member_update(chat, _user_id(by), old, "kicked")

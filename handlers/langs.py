"""The language of what organizers write, and its translations: the one mechanism of every
wizard that takes texts for residents (/announce, /newpoll, /newevent, /newdiscussion,
/newgroup, /neworg).

* A text is taken in the organizer's own language unless they tap another: the prompt opens
  with "🌐 Language: Українська" and has a button per language (one tap changes it, and the
  prompt is edited to say so). What is made keeps that language as its default: residents
  without a translation in theirs get that text.
* Translations are added with ➕ buttons, one language at a time, on a menu after the text (or
  on the wizard's panel); the prompt for one opens with its language the same way.
* Languages are named in words, in their own language ("Українська", "English"), never by
  codes, and never put inside a sentence that would have to inflect them.
* A language code typed at the start of a line ("uk: …") is never glued into what residents
  read: the code of the language asked for is dropped, any other is refused with a clear answer.

Each wizard handles the buttons of its own ``owner`` (as with the audience picker).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import SUPPORTED_LOCALES
from bot.i18n import LANGUAGE_NAMES
from bot.services.errors import DomainError
from bot.services.text import language_code
from handlers.shared import close_buttons, edit_text

KEY = "lang"  # the wizard's data key of the language the organizer writes in


class WriteCb(CallbackData, prefix="wl"):
    """``a``: in (the text is written in ``v``) | add (a translation into ``v``) | next."""

    owner: str
    a: str
    v: str = ""


def name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def names(codes: Iterable[str]) -> str:
    """Languages in the project's order, in words: "Українська, English"."""
    chosen = set(codes)
    return ", ".join(name(c) for c in SUPPORTED_LOCALES if c in chosen)


def writing(data: dict, fallback: str) -> str:  # type: ignore[type-arg]
    """The language the organizer writes in: the one they chose, else ``fallback`` (their own)."""
    value = data.get(KEY)
    return value if value in SUPPORTED_LOCALES else (fallback if fallback in SUPPORTED_LOCALES else "en")


def line(locale: str) -> str:
    return _("🌐 Language: {language}").format(language=name(locale))


def prompt(locale: str, text: str) -> str:
    """A wizard's question for a text: the language it is taken for first."""
    return f"{line(locale)}\n\n{text}"


def choose_hint() -> str:
    return _("Writing in another language? Tap it below.")


def choose_keyboard(owner: str, current: str) -> InlineKeyboardMarkup:
    """One button per language, the current one marked: a tap changes the language."""
    kb = InlineKeyboardBuilder()
    for code in SUPPORTED_LOCALES:
        label = f"✅ {name(code)}" if code == current else f"🌐 {name(code)}"
        kb.button(text=label, callback_data=WriteCb(owner=owner, a="in", v=code))
    kb.adjust(2)
    return kb.as_markup()


async def ask(message: Message, state: FSMContext, owner: str, lang: str, text: str) -> None:
    """Ask for a text in ``lang``, with the buttons that change it (they stay on the prompt; once
    the text is in, the wizard has moved on and a late tap is answered as a stale button)."""
    await state.update_data({KEY: lang})
    await message.answer(text, reply_markup=choose_keyboard(owner, lang))


async def switched(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext,
                   ask: Callable[[str], str]) -> str | None:
    """The organizer tapped a language on a prompt: it is kept, and the prompt (``ask(locale)``)
    is edited to name it. Returns the language, or None for a button that names none."""
    code = callback_data.v
    if code not in SUPPORTED_LOCALES:
        return None
    await state.update_data({KEY: code})
    await edit_text(callback, ask(code), choose_keyboard(callback_data.owner, code))
    return code


def add_buttons(owner: str, lang: str, done: Iterable[str]) -> list[InlineKeyboardButton]:
    """➕ per language still missing, ✏️ … ✓ per one added (a tap replaces it)."""
    added = set(done)
    out = []
    for code in SUPPORTED_LOCALES:
        if code == lang:
            continue
        label = f"✏️ {name(code)} ✓" if code in added else f"➕ {name(code)}"
        out.append(InlineKeyboardButton(text=label, callback_data=WriteCb(owner=owner, a="add", v=code).pack()))
    return out


def menu_keyboard(owner: str, lang: str, done: Iterable[str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for button in add_buttons(owner, lang, done):
        kb.add(button)
    kb.button(text=_("Continue ➡️"), callback_data=WriteCb(owner=owner, a="next"))
    kb.adjust(len(SUPPORTED_LOCALES) - 1, 1)
    return kb.as_markup()


async def show_menu(message: Message, state: FSMContext, owner: str, lang: str, done: Iterable[str],
                    at: State) -> None:
    """The translations menu after a wizard's text (the wizard waits in ``at``)."""
    done = list(done)
    await state.set_state(at)
    await message.answer(menu_text(lang, done), reply_markup=menu_keyboard(owner, lang, done))


async def menu_tapped(callback: CallbackQuery, callback_data: WriteCb, state: FSMContext, lang: str,
                      translation: State, ask: Callable[[str], str]) -> bool:
    """A tap on the translations menu: ➕ asks for that language (the wizard waits in
    ``translation``, the language under "translating"); True for "Continue", where the wizard goes on."""
    locale = requested(callback_data, lang)
    if callback_data.a == "add" and locale and isinstance(callback.message, Message):
        await close_buttons(callback)
        await state.set_state(translation)
        await state.update_data(translating=locale)
        await callback.message.answer(ask(locale))
        return False
    if callback_data.a == "next":
        await close_buttons(callback)
        return True
    return False


def menu_text(lang: str, done: Iterable[str], what: str | None = None) -> str:
    head = _("<b>Translations</b> (optional)")
    lines = [f"{head} · {what}" if what else head, written_in(lang)]
    added = [c for c in SUPPORTED_LOCALES if c in set(done) and c != lang]
    if added:
        lines.append(_("Added: {languages}").format(languages=names(added)))
    return "\n\n".join(lines)


def written_in(lang: str) -> str:
    return _("Written in: {language}. Residents who use another language get their translation if there is "
             "one, else this text.").format(language=name(lang))


def ask_translation(locale: str, hint: str | None = None) -> str:
    """The prompt for a translation: its language, then what to send (by default the text)."""
    return prompt(locale, hint or _("Send the text."))


def requested(callback_data: WriteCb, lang: str) -> str | None:
    """The language a ➕ button asks a translation into (never the text's own), or None."""
    code = callback_data.v
    return code if code in SUPPORTED_LOCALES and code != lang else None


def strip_code(text: str | None, locale: str) -> str:
    """The text for ``locale`` as typed (unchanged), or without a leading "uk:" naming that same
    language. Raises DomainError("language_line", lang=…) for a line that names another language:
    each language comes in its own message, never glued into another's text."""
    lines = (text or "").splitlines()
    if not any(language_code(line_) for line_ in lines):
        return text or ""
    first = next(n for n, line_ in enumerate(lines) if line_.strip())
    for n, line_ in enumerate(lines):
        code = language_code(line_)
        if code is None:
            continue
        if code != locale or n != first:
            raise DomainError("language_line", lang=code)
        lines[n] = line_.partition(":")[2].strip()
    return "\n".join(lines).strip()


def language_line_error(exc: DomainError, lang: str) -> str:
    code = str(exc.params.get("lang", ""))
    if code == lang:
        return _("One language per message, please: send this text without the “{code}:” line.").format(code=code)
    return _("One language per message, please: send this text without the “{code}:” line. The next step "
             "has the button «➕ {language}» for it.").format(code=code, language=name(code))

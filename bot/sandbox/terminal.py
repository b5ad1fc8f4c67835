"""The sandbox's terminal: colours when stdout is a terminal, and typed lines read whole.

Lines are read from the raw byte stream (``sys.stdin.buffer``), never with ``input()``, so a
5,000-character line arrives whole. A terminal in its usual (canonical) mode cuts a typed line
at 4,096 bytes, so on a terminal the sandbox reads key by key and edits the line itself
(Backspace, Ctrl-U clears the line, Ctrl-D on an empty line leaves); from a pipe it reads lines.
The reader runs in a daemon thread and hands lines to the event loop, so bot messages that come
meanwhile are printed above the prompt and the typed text is drawn again on the prompt line.
"""
from __future__ import annotations

import asyncio
import atexit
import codecs
import contextlib
import os
import threading
import unicodedata
from typing import IO, Any

try:
    import termios
except ImportError:  # Windows: lines are read as they come
    termios = None  # type: ignore[assignment]

RESET = "\033[0m"
COLOURS = {
    "bot": "\033[36m",       # the bot's header and buttons: cyan
    "button": "\033[1;36m",
    "you": "\033[1;32m",     # your prompt: bold green
    "toast": "\033[33m",     # ⓘ toasts, reactions: yellow
    "alert": "\033[1;31m",   # ⚠ alerts: bold red
    "note": "\033[2m",       # the sandbox's own notes: dim
}


class Style:
    """Wraps text in ANSI colours, or leaves it plain (not a terminal, or NO_COLOR set)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, out: IO[str]) -> Style:
        isatty = getattr(out, "isatty", None)
        return cls(bool(isatty and isatty()) and not os.environ.get("NO_COLOR"))

    def __call__(self, role: str, text: str) -> str:
        if not self.enabled or not text:
            return text
        return f"{COLOURS[role]}{text}{RESET}"


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class LineReader:
    """Typed lines, one at a time (``await next_line()``; None at the end of input).

    ``stdin`` is a binary stream, or a text one (in-memory tests). On a terminal (stdin and
    stdout both) it reads key by key; ``buffer`` is what has been typed on the prompt line.
    """

    def __init__(self, stdin: Any, out: IO[str], lock: threading.RLock) -> None:
        self.stdin = stdin
        self.out = out
        self.lock = lock  # held while anything is written to the terminal
        self.buffer = ""
        self.prompt = ""
        self.raw = bool(
            termios is not None and _isatty(stdin) and _isatty(out) and hasattr(stdin, "fileno")
        )
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._saved: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.raw:
            fd = self.stdin.fileno()
            self._saved = termios.tcgetattr(fd)
            mode = termios.tcgetattr(fd)
            mode[3] &= ~(termios.ICANON | termios.ECHO)  # signals (Ctrl-C) stay on
            mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
            termios.tcsetattr(fd, termios.TCSANOW, mode)
            atexit.register(self.close)  # however the process ends, the terminal gets its mode back
        self._thread = threading.Thread(target=self._run, name="sandbox-stdin", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Give the terminal its own mode back."""
        if self._saved is not None:
            with contextlib.suppress(Exception):
                termios.tcsetattr(self.stdin.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None

    async def next_line(self) -> str | None:
        return await self._queue.get()

    def _put(self, line: str | None) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, line)

    def _run(self) -> None:
        try:
            if self.raw:
                self._run_raw()
            else:
                self._run_lines()
        except Exception:  # noqa: BLE001 - a closed stream ends the input
            pass
        self._put(None)

    def _run_lines(self) -> None:
        stream = getattr(self.stdin, "buffer", self.stdin)
        while True:
            data = stream.readline()
            if not data:
                return
            line = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
            self._put(line[:-1] if line.endswith("\n") else line)

    def _write(self, text: str) -> None:
        with self.lock:
            self.out.write(text)
            self.out.flush()

    def _run_raw(self) -> None:
        fd = self.stdin.fileno()
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        escape = ""  # an escape sequence being skipped (arrow keys and the like)
        while True:
            data = os.read(fd, 65536)
            if not data:
                return
            for ch in decoder.decode(data):
                if escape:
                    escape += ch
                    if len(escape) == 2 and ch not in "[O":
                        escape = ""
                    elif len(escape) > 2 and ("@" <= ch <= "~"):
                        escape = ""
                    continue
                if ch == "\033":
                    escape = ch
                elif ch in "\r\n":
                    with self.lock:
                        line, self.buffer = self.buffer, ""
                        self.out.write("\n")
                        self.out.flush()
                    self._put(line)
                elif ch in "\x7f\x08":
                    with self.lock:
                        if self.buffer:
                            w = _width(self.buffer[-1])
                            self.buffer = self.buffer[:-1]
                            self.out.write("\b" * w + " " * w + "\b" * w)
                            self.out.flush()
                elif ch == "\x15":  # Ctrl-U: clear the line
                    with self.lock:
                        self.buffer = ""
                        self.out.write("\r\033[K" + self.prompt)
                        self.out.flush()
                elif ch == "\x04":  # Ctrl-D on an empty line: the end
                    if not self.buffer:
                        return
                elif ch == "\t" or ch >= " ":
                    with self.lock:
                        self.buffer += ch
                        self.out.write(ch)
                        self.out.flush()


def _isatty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:
        return False

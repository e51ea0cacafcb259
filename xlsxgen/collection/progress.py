"""Progress of long batches on stderr.

On a terminal: one line rewritten in place (``收集  1234/10000  12%  已用 3 秒  约剩 21 秒``).
Otherwise (a log file, CI): a plain line every few seconds and at the end.
Short batches print nothing until they finish, so quick commands stay quiet.
"""

from __future__ import annotations

import sys
import time

from xlsxgen.textwidth import display_width


class Progress:
    def __init__(self, label: str, total: int | None = None, *, stream=None, quiet: bool = False,
                 min_seconds: float = 0.5, log_every: float = 5.0):
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.min_seconds = min_seconds  # do not show anything for batches shorter than this
        self.log_every = log_every
        self._last = 0.0
        self._shown = False
        self._width = 0  # of the line last drawn in place (to blank what is left of it)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def advance(self, n: int = 1, note: str = "") -> None:
        self.done += n
        if self.quiet:
            return
        now = time.monotonic()
        elapsed = now - self.start
        if elapsed < self.min_seconds:
            return
        interval = 0.1 if self.tty else self.log_every
        if now - self._last < interval:
            return
        self._last = now
        self._emit(self._line(elapsed, note))

    def _line(self, elapsed: float, note: str = "") -> str:
        parts = [self.label]
        if self.total:
            parts.append(f"{self.done}/{self.total}")
            parts.append(f"{100 * self.done // max(self.total, 1)}%")
        else:
            parts.append(str(self.done))
        parts.append(f"已用 {_duration(elapsed)}")
        if self.total and self.done and self.done < self.total:
            remaining = elapsed / self.done * (self.total - self.done)
            parts.append(f"约剩 {_duration(remaining)}")
        if note:
            parts.append(note)
        return "  ".join(parts)

    def _emit(self, line: str) -> None:
        try:
            if self.tty:
                self.stream.write("\r" + self._pad(line))
            else:
                self.stream.write(line + "\n")
            self.stream.flush()
            self._shown = True
        except (OSError, ValueError):
            self.quiet = True

    def _pad(self, line: str) -> str:
        """``line`` padded with spaces over the previous one (no terminal escape codes: works in cmd.exe)."""

        w = display_width(line)
        out = line + " " * max(0, self._width - w)
        self._width = w
        return out

    def close(self) -> None:
        if self.quiet or not self._shown:
            return
        elapsed = time.monotonic() - self.start
        line = self._line(elapsed)
        try:
            self.stream.write(("\r" + self._pad(line) + "\n") if self.tty else line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass
        self._shown = False


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} 秒"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m} 分 {s} 秒"
    h, m = divmod(m, 60)
    return f"{h} 小时 {m} 分"

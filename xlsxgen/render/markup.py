"""The small line markup that report templates produce, and its parser.

The ``.j2`` templates do not write HTML or DOCX; they write this markup, and
one writer per output format draws it. So an office that rewords a template
changes every output at once. Block level (one per line)::

    # text            the report title
    ## text           a first-level heading   (一、总体情况)
    ### text          a second-level heading  (（一）主动公开) on a line of its own
    ::table KEY       the statutory table KEY of the format
    other text        one paragraph of body text per line (blank lines are ignored)

A leading backslash makes a line plain text (``\\# …``). Inline spans are not
typed by hand: the template helpers insert them (``lead`` filter, ``generated``
call block, missing values) as control characters, ``\\x02KIND\\x1f … \\x03``:

* ``L``  run-in heading,
* ``Gn`` generated sentence number n (its data sources are listed by the writer),
* ``P``  placeholder 【待补充：…】 (highlighted by the writers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

START, SEP, END = "\x02", "\x1f", "\x03"
SENTINELS = frozenset((START, SEP, END))
_STRIP_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def mark(kind: str, text: str) -> str:
    return f"{START}{kind}{SEP}{text}{END}"


def clean(text: str) -> str:
    """User text made safe for the markup: control characters removed, block syntax escaped."""
    lines = []
    for line in _STRIP_RE.sub("", str(text)).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        if line.startswith(("#", "::", "\\")):
            line = "\\" + line
        lines.append(line)
    return "\n\n".join(lines)  # one user line = one paragraph


@dataclass
class Run:
    text: str
    lead: bool = False
    source: int | None = None  # id of the generated sentence
    todo: bool = False


@dataclass
class Block:
    kind: str  # title | heading | paragraph | table
    runs: list[Run] = field(default_factory=list)
    level: int = 0  # heading level (1 or 2)
    table: str | None = None

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)


_SPLIT_RE = re.compile(f"({START}[^{SEP}]*{SEP}|{END})")


def parse_runs(text: str) -> list[Run]:
    runs: list[Run] = []
    stack: list[str] = []
    for piece in _SPLIT_RE.split(text):
        if not piece:
            continue
        if piece.startswith(START):
            stack.append(piece[1:-1])
            continue
        if piece == END:
            if stack:
                stack.pop()
            continue
        lead = "L" in stack
        todo = "P" in stack
        source = None
        for k in reversed(stack):
            if k.startswith("G"):
                source = int(k[1:])
                break
        prev = runs[-1] if runs else None
        if prev and (prev.lead, prev.source, prev.todo) == (lead, source, todo):
            prev.text += piece
        else:
            runs.append(Run(piece, lead, source, todo))
    return runs


def plain(text: str) -> str:
    """Text without its inline span marks."""
    return "".join(r.text for r in parse_runs(text))


def join_lines(lines: list[str]) -> str:
    out = ""
    for line in lines:
        if out and out[-1].isascii() and out[-1].isalnum() and line[:1].isascii() and line[:1].isalnum():
            out += " "
        out += line
    return out


def parse(text: str) -> list[Block]:
    """Blocks of a rendered report template."""
    blocks: list[Block] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("\\"):
            runs = parse_runs(line[1:])
            if any(r.text.strip() for r in runs):
                blocks.append(Block("paragraph", runs))
            continue
        if line.startswith("::table "):
            blocks.append(Block("table", table=line[len("::table ") :].strip()))
            continue
        m = re.match(r"^(#{1,3}) (.*)$", line)
        if m:
            level = len(m.group(1))
            runs = parse_runs(m.group(2).strip())
            if level == 1:
                blocks.append(Block("title", runs))
            else:
                blocks.append(Block("heading", runs, level=level - 1))
            continue
        runs = parse_runs(line)
        if any(r.text.strip() for r in runs):
            blocks.append(Block("paragraph", runs))
    return blocks

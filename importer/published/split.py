"""Splitting runs of glued digits into cells, only when the split is certain.

A text extraction of a web page often joins the cells of a row with no separator
(``693665`` for 69 | 3 | 665). A run is split into the row's cells so that every
cell is a well-formed published number (``0`` or no leading zero; a decimal only
in an amount cell); whitespace inside the run is always a cell boundary.

When several splits are well formed, the spec's identities decide
(:mod:`importer.published.identities`): first those within the row (a row total),
then all of them jointly over the table's undecided rows. A split is taken only
when exactly one candidate survives; otherwise the cells stay null and the caller
reports the candidates (``extract.ambiguous``) or that none fits
(``extract.unparseable``). Nothing is guessed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

MAX_CANDIDATES = 2000  # well-formed splits of one run we are willing to enumerate
MAX_SEARCH = 200_000  # nodes of the joint search over a table's undecided rows

_COUNT_RE = re.compile(r"0|[1-9]\d*")
_AMOUNT_RE = re.compile(r"(?:0|[1-9]\d*)(?:\.\d+)?")
_SIGNED_RE = re.compile(r"[+-]?(?:0|[1-9]\d*)")
_THOUSANDS_RE = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_COMMAS_RE = re.compile(r"[,，]")


def tokens_of(run: str) -> list[str]:
    """Whitespace-separated tokens of a run; thousands separators inside a token removed."""
    return list(_tokens(run))


@functools.lru_cache(maxsize=65536)
def _tokens(run: str) -> tuple[str, ...]:
    out = []
    for tok in run.split():
        tok = tok.strip(",，").rstrip(".")
        if not tok:
            continue
        if "," not in tok and "，" not in tok:
            out.append(tok)
            continue
        if _THOUSANDS_RE.match(tok):
            tok = tok.replace(",", "")
        out.extend(t for t in _COMMAS_RE.split(tok) if t)
    return tuple(out)


def _number(text: str):
    return float(text) if "." in text else int(text)


def candidates(tokens: list[str], kinds: list[str], limit: int = MAX_CANDIDATES) -> list[tuple] | None:
    """Every well-formed split of ``tokens`` into ``len(kinds)`` numbers; None when more than ``limit``."""
    n = len(kinds)
    nt = len(tokens)
    out: list[tuple] = []
    over = [False]
    after = [0] * (nt + 1)  # characters in tokens[ti:]
    for i in range(nt - 1, -1, -1):
        after[i] = after[i + 1] + len(tokens[i])
    fullmatch = [(_AMOUNT_RE if k == "amount" else _SIGNED_RE if k == "signed_count" else _COUNT_RE).fullmatch
                 for k in kinds]

    def rec(ti: int, pos: int, cell: int, acc: list):
        if over[0]:
            return
        if ti == nt:
            if cell == n:
                out.append(tuple(acc))
                if len(out) > limit:
                    over[0] = True
            return
        left = n - cell
        tok = tokens[ti]
        # every token left needs a cell of its own, every cell at least one character: when the cells
        # left cannot take the characters left, no split follows (pruned: the splits found are the same)
        if left == 0 or nt - ti > left or len(tok) - pos + after[ti + 1] < left:
            return
        fits = fullmatch[cell]
        # the characters after this cell must leave at least one for each cell after it
        last = min(len(tok), len(tok) + after[ti + 1] - (left - 1))
        for end in range(pos + 1, last + 1):
            piece = tok[pos:end]
            if not fits(piece):
                if piece.lstrip("+-").startswith("0") and len(piece.lstrip("+-")) > 1 and "." not in piece:
                    break
                continue
            acc.append(_number(piece))
            if end == len(tok):
                rec(ti + 1, 0, cell + 1, acc)
            else:
                rec(ti, end, cell + 1, acc)
            acc.pop()

    rec(0, 0, 0, [])
    if over[0]:
        return None
    return out


@dataclass
class RowRun:
    """A run of one row to be split: its cells (keys, in printed order) and well-formed candidates."""

    keys: list[tuple[str, str, str]]
    run: str
    cands: list[tuple] | None  # None: too many to enumerate
    chosen: tuple | None = None
    by: str = ""  # "digits" (one well-formed split), "row" (row identities), "table" (all identities)
    survivors: list[tuple] = field(default_factory=list)


def _consistent(identity, value_of) -> bool | None:
    r = identity.residual(value_of)
    if r is None:
        return None
    return abs(r) < 1e-6


def solve(runs: list[RowRun], known: dict, identities) -> None:
    """Choose each run's split where certain (sets ``chosen``/``by``/``survivors``)."""
    pending: list[RowRun] = []
    for rr in runs:
        if rr.cands is None or not rr.cands:
            continue
        if len(rr.cands) == 1:
            rr.chosen, rr.by, rr.survivors = rr.cands[0], "digits", list(rr.cands)
            continue
        # identities within the row
        own = set(rr.keys)
        local = [i for i in identities if i.cells and all(c in own for c in i.cells)]
        surv = []
        for cand in rr.cands:
            vals = dict(zip(rr.keys, cand))
            if all(_consistent(i, vals.get) is not False for i in local):
                surv.append(cand)
        if not surv:  # no split satisfies the row's identities: all stay candidates, none is taken
            rr.survivors = list(rr.cands)
            continue
        rr.survivors = surv
        if len(surv) == 1 and local:
            rr.chosen, rr.by = surv[0], "row"
        elif surv:
            pending.append(rr)
    if not pending:
        return
    for rr in runs:
        if rr.chosen is not None:
            known.update(zip(rr.keys, rr.chosen))
    # joint search over the undecided rows, with every identity whose cells are all known or pending
    pending_keys = {k: i for i, rr in enumerate(pending) for k in rr.keys}
    usable = []
    for ident in identities:
        cells = ident.cells
        if not any(c in pending_keys for c in cells):
            continue
        if all(c in pending_keys or known.get(c) is not None for c in cells):
            usable.append(ident)
    if not usable:
        return
    # an identity is checked once the last pending row it involves is assigned
    last_row = {}
    for ident in usable:
        last_row.setdefault(max(pending_keys[c] for c in ident.cells if c in pending_keys), []).append(ident)
    values = dict(known)
    seen: list[set] = [set() for _ in pending]
    nodes = [0]
    aborted = [False]

    def rec(i: int, chosen: list):
        if aborted[0]:
            return
        if i == len(pending):
            for j, c in enumerate(chosen):
                seen[j].add(c)
            return
        rr = pending[i]
        for cand in rr.survivors:
            nodes[0] += 1
            if nodes[0] > MAX_SEARCH:
                aborted[0] = True
                return
            values.update(zip(rr.keys, cand))
            if all(_consistent(ident, values.get) is not False for ident in last_row.get(i, ())):
                chosen.append(cand)
                rec(i + 1, chosen)
                chosen.pop()
        for k in rr.keys:
            values.pop(k, None)

    rec(0, [])
    if aborted[0]:
        return
    for j, rr in enumerate(pending):
        ordered = [c for c in rr.survivors if c in seen[j]]
        if len(ordered) == 1:
            rr.chosen, rr.by = ordered[0], "table"
        if ordered:
            rr.survivors = ordered

"""The small expression language of totals and rules.

Grammar (whitespace is free)::

    check   := expr [ ("==" | "!=" | "<=" | ">=" | "<" | ">") expr ]
    expr    := term { ("+" | "-") term }
    term    := NUMBER | ref | "sum(" ref ")" | "(" expr ")" | "-" term
    ref     := ["previous."] [table "."] part "." part
    part    := KEY | KEY ".." KEY          (a range, in the table's own order)

A reference names a cell by its spec keys: ``new_received.total`` inside the
rule's table, ``applications.new_received.total`` across tables, and
``previous.carried_forward.total`` for last year's value. Ranges are allowed
only inside ``sum()``.

One parsed expression is compiled two ways, so they can never disagree:
:func:`evaluate` for the importer and :func:`to_excel` for the workbook.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from xlsxgen.errors import SpecError

TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<range>\.\.)|(?P<dot>\.)|(?P<name>[a-z_][a-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|<|>|\+|-|\(|\)))"
)
COMPARATORS = ("==", "!=", "<=", ">=", "<", ">")
EXCEL_OPS = {"==": "=", "!=": "<>", "<=": "<=", ">=": ">=", "<": "<", ">": ">"}
# A comparison rounds the difference of its sides to this many places, in Python and in Excel
# alike (the live checks of every distributed workbook are ``ROUND(left-right,4)``: the formulas
# are part of the workbook's fingerprint, so this stays 4). Amounts are *entered* with up to
# spec.domain.AMOUNT_PLACES (6) places and printed as entered (xlsxgen/numbers.py); no rule of the
# installed formats compares amounts.
PRECISION = 4


@dataclass(frozen=True)
class Ref:
    """One cell: (table, row, column), this year's or last year's."""

    table: str
    row: str
    column: str
    previous: bool = False

    def __str__(self):
        return ("previous." if self.previous else "") + f"{self.table}.{self.row}.{self.column}"


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Sum:
    refs: tuple[Ref, ...]


@dataclass(frozen=True)
class Neg:
    operand: object


@dataclass(frozen=True)
class BinOp:
    op: str  # + or -
    left: object
    right: object


@dataclass(frozen=True)
class Compare:
    op: str
    left: object
    right: object


def _tokenize(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise SpecError(f"表达式 {text!r} 第{pos + 1}个字符无法识别：{text[pos:pos + 10]!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    """Recursive-descent parser; ``resolve`` maps raw dotted parts to Refs."""

    def __init__(self, text: str, resolver):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.resolver = resolver

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise SpecError(f"表达式 {self.text!r}：此处应为 {value or '更多内容'}，实际为 {tok[1]!r}")
        self.i += 1
        return tok

    def parse_check(self):
        left = self.parse_expr()
        kind, val = self.peek()
        if kind == "op" and val in COMPARATORS:
            self.take()
            node = Compare(val, left, self.parse_expr())
        else:
            node = left
        if self.i != len(self.tokens):
            raise SpecError(f"表达式 {self.text!r}：多余的内容 {self.peek()[1]!r}")
        return node

    def parse_expr(self):
        node = self.parse_term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            node = BinOp(op, node, self.parse_term())
        return node

    def parse_term(self):
        kind, val = self.peek()
        if kind == "num":
            self.take()
            return Num(float(val) if "." in val else int(val))
        if (kind, val) == ("op", "("):
            self.take()
            node = self.parse_expr()
            self.take(")")
            return node
        if (kind, val) == ("op", "-"):
            self.take()
            return Neg(self.parse_term())
        if kind == "name" and val == "sum" and self.tokens[self.i + 1 : self.i + 2] == [("op", "(")]:
            self.take()
            self.take("(")
            parts = self.parse_ref_parts()
            self.take(")")
            return Sum(tuple(self.resolver(parts, allow_range=True)))
        if kind == "name":
            parts = self.parse_ref_parts()
            (ref,) = self.resolver(parts, allow_range=False)
            return ref
        raise SpecError(f"表达式 {self.text!r}：此处不应出现 {val!r}")

    def parse_ref_parts(self):
        """Dotted parts; each part is a key or a (start, end) range."""
        parts = []
        while True:
            start = self.take()
            if start[0] != "name":
                raise SpecError(f"表达式 {self.text!r}：引用中应为键名，实际为 {start[1]!r}")
            if self.peek()[0] == "range":
                self.take()
                end = self.take()
                if end[0] != "name":
                    raise SpecError(f"表达式 {self.text!r}：范围 .. 之后应为键名")
                parts.append((start[1], end[1]))
            else:
                parts.append(start[1])
            if self.peek()[0] != "dot":
                return parts
            self.take()


def parse(text: str, spec, table: str):
    """Parse ``text`` in the context of ``table`` of ``spec``; ranges are expanded."""

    def resolve(parts, allow_range):
        previous = False
        if parts and parts[0] == "previous":
            previous, parts = True, parts[1:]
        if len(parts) == 3:
            tkey, parts = parts[0], parts[1:]
        elif len(parts) == 2:
            tkey = table
        else:
            raise SpecError(f"表达式 {text!r}：引用应为 行键.列键 或 表键.行键.列键")
        if isinstance(tkey, tuple):
            raise SpecError(f"表达式 {text!r}：表键不能是范围")
        try:
            tspec = spec.table(tkey)
        except KeyError:
            raise SpecError(f"表达式 {text!r}：未知的表 {tkey!r}") from None
        axes = ([a.key for a in tspec.rows], [a.key for a in tspec.columns])
        expanded = []
        for part, keys, what in zip(parts, axes, ("行", "列")):
            if isinstance(part, tuple):
                if not allow_range:
                    raise SpecError(f"表达式 {text!r}：范围只能写在 sum() 中")
                for k in part:
                    if k not in keys:
                        raise SpecError(f"表达式 {text!r}：表 {tkey} 没有{what}键 {k!r}")
                a, b = keys.index(part[0]), keys.index(part[1])
                if a > b:
                    raise SpecError(f"表达式 {text!r}：范围 {part[0]}..{part[1]} 顺序颠倒")
                expanded.append(keys[a : b + 1])
            else:
                if part not in keys:
                    raise SpecError(f"表达式 {text!r}：表 {tkey} 没有{what}键 {part!r}")
                expanded.append([part])
        refs = [Ref(tkey, r, c, previous) for r in expanded[0] for c in expanded[1] if tspec.has_cell(r, c)]
        if not refs:
            raise SpecError(f"表达式 {text!r}：引用的单元格在表 {tkey} 中不存在")
        return refs

    return _Parser(text, resolve).parse_check()


def refs_of(node) -> list[Ref]:
    """Every cell reference in ``node``, in order, without duplicates."""
    out: list[Ref] = []

    def walk(n):
        if isinstance(n, Ref):
            if n not in out:
                out.append(n)
        elif isinstance(n, Sum):
            for r in n.refs:
                walk(r)
        elif isinstance(n, Neg):
            walk(n.operand)
        elif isinstance(n, (BinOp, Compare)):
            walk(n.left)
            walk(n.right)

    walk(node)
    return out


def evaluate(node, value_of):
    """Evaluate with ``value_of(ref) -> number`` (missing values must already be 0)."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        return value_of(node)
    if isinstance(node, Sum):
        return sum(value_of(r) for r in node.refs)
    if isinstance(node, Neg):
        return -evaluate(node.operand, value_of)
    if isinstance(node, BinOp):
        a, b = evaluate(node.left, value_of), evaluate(node.right, value_of)
        return a + b if node.op == "+" else a - b
    raise TypeError(f"cannot evaluate {node!r} as a number")


def compile_assignments(items) -> callable:
    """``fill(values)`` doing ``values[key] = evaluate(node, values.get(ref key, 0))`` for each
    ``(key, node)`` of ``items`` in order, and returning ``values``.

    Generated once as Python source: the same operations as :func:`evaluate`
    in the same order (left operand first, ``sum`` over the references in
    order), so the results are identical, bit for bit. Nothing from the spec
    enters the source text but indexes into tuples of keys and constants.
    """
    keys: list = []
    consts: list = []
    index: dict = {}

    def key(k) -> str:
        if k not in index:
            index[k] = len(keys)
            keys.append(k)
        return f"K[{index[k]}]"

    def py(node) -> str:
        if isinstance(node, Num):
            consts.append(node.value)
            return f"C[{len(consts) - 1}]"
        if isinstance(node, Ref):
            return f"g({key((node.table, node.row, node.column))}, 0)"
        if isinstance(node, Sum):
            return "sum((" + "".join(py(r) + ", " for r in node.refs) + "))"
        if isinstance(node, Neg):
            return f"(-{py(node.operand)})"
        if isinstance(node, BinOp):
            if node.op not in ("+", "-"):
                raise TypeError(f"cannot evaluate {node!r} as a number")
            return f"({py(node.left)} {node.op} {py(node.right)})"
        raise TypeError(f"cannot evaluate {node!r} as a number")

    lines = ["def fill(values):", "    g = values.get"]
    for k, node in items:
        target = key(k)
        lines.append(f"    values[{target}] = {py(node)}")
    lines.append("    return values")
    scope = {"K": tuple(keys), "C": tuple(consts), "sum": sum}
    exec(compile("\n".join(lines), "<xlsxgen totals>", "exec"), scope)  # noqa: S102 - source built above
    return scope["fill"]


def excel_round(v, digits: int = PRECISION) -> float:
    """``ROUND(v, digits)`` (``digits`` >= 0) as the spreadsheets compute it.

    Python's ``round`` rounds the exact binary value, halves to even: 1.75645,
    stored as 1.75644999999999984..., becomes 1.7564. Excel and LibreOffice
    give 1.7565: they scale by 10**digits, add 0.5, take the result to 15
    significant digits (only below 2**41, and only when it has more than 11
    fractional bits) and round down. This is LibreOffice's ``rtl::math::round``
    step by step, so the importer's checks and messages agree with the
    workbook's live checks bit for bit (tests/test_excel_parity.py).
    """
    if isinstance(v, int) or not v or not math.isfinite(v):
        return v
    a = abs(v)
    if a >= _2_52 or a.is_integer():
        return v
    digits = min(digits, 52 - (math.frexp(a)[1] - 1))  # no more decimals than the double holds
    fac = 10.0**digits
    scaled = a * fac
    if scaled < _2_52:
        scaled = math.floor(_approx_15(scaled + 0.5))
    r = scaled / fac
    return -r if v < 0 else r


_2_52 = 2.0**52
_2_41 = 2.0**41


def _approx_15(x: float) -> float:
    """``x`` (> 0) to 15 significant digits, halves away from zero (LibreOffice's ``rtl::math::approxValue``)."""
    if x > _2_41 or x.is_integer() or x.as_integer_ratio()[1].bit_length() - 1 <= 11:
        return x
    n = 14 - math.floor(math.log10(x))
    f = 10.0 ** abs(n)
    y = x * f if n >= 0 else x / f
    whole = math.floor(y)
    y = whole + 1 if y - whole >= 0.5 else whole
    return y / f if n >= 0 else y * f


def compare(op: str, left, right) -> bool:
    """The comparison as the workbook computes it: ``ROUND(left - right, PRECISION)`` against 0."""
    d = excel_round(left - right, PRECISION)
    return {
        "==": d == 0,
        "!=": d != 0,
        "<=": d <= 0,
        ">=": d >= 0,
        "<": d < 0,
        ">": d > 0,
    }[op]


def to_excel(node, address_of) -> str:
    """An Excel formula body (no leading ``=``) with ``address_of(ref) -> 'A1'``."""
    if isinstance(node, Num):
        return _num_literal(node.value)
    if isinstance(node, Ref):
        return address_of(node)
    if isinstance(node, Sum):
        return "SUM(" + _compact_ranges([address_of(r) for r in node.refs]) + ")"
    if isinstance(node, Neg):
        return f"-({to_excel(node.operand, address_of)})"
    if isinstance(node, BinOp):
        right = to_excel(node.right, address_of)
        if node.op == "-" and isinstance(node.right, BinOp):
            right = f"({right})"
        return f"{to_excel(node.left, address_of)}{node.op}{right}"
    if isinstance(node, Compare):
        left, right = to_excel(node.left, address_of), to_excel(node.right, address_of)
        return f"ROUND(({left})-({right}),{PRECISION}){EXCEL_OPS[node.op]}0"
    raise TypeError(node)


def _num_literal(v) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


_ADDR_RE = re.compile(r"^(?P<sheet>.*!)?\$?(?P<col>[A-Z]+)\$?(?P<row>\d+)$")


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _compact_ranges(addrs: list[str]) -> str:
    """Join addresses, turning runs of adjacent cells on one sheet into A1:A9 ranges."""
    parsed = [_ADDR_RE.match(a) for a in addrs]
    if not all(parsed):
        return ",".join(addrs)
    out, i = [], 0
    while i < len(addrs):
        j = i
        for step in ("row", "col"):
            j = i
            while j + 1 < len(addrs):
                a, b = parsed[j], parsed[j + 1]
                if a["sheet"] != b["sheet"]:
                    break
                same_col = a["col"] == b["col"] and int(b["row"]) == int(a["row"]) + 1
                same_row = a["row"] == b["row"] and _col_index(b["col"]) == _col_index(a["col"]) + 1
                if (step == "row" and same_col) or (step == "col" and same_row):
                    j += 1
                else:
                    break
            if j > i:
                break
        if j > i:
            out.append(f"{addrs[i]}:{addrs[j].split('!')[-1]}")
        else:
            out.append(addrs[i])
        i = j + 1
    return ",".join(out)

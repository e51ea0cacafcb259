"""The architecture, checked: layers import downwards only, and no module imports another in a circle.

spec → workbook → importer → render / collection → commands (see README, "Layout"). Every import
of every module of ``xlsxgen/`` and ``importer/`` counts, at module level or inside a function.
"""

from __future__ import annotations

import ast

from tests.conftest import ROOT

# (module prefix, layer): the longest matching prefix decides; a module may import its own layer and below
LAYERS = [
    ("xlsxgen.errors", 0), ("xlsxgen.resources", 0), ("xlsxgen.messages", 0), ("xlsxgen.files", 0),
    ("xlsxgen.textwidth", 0), ("xlsxgen", 0),  # the package itself (__version__)
    ("xlsxgen.spec", 1),
    ("xlsxgen.data", 2),
    ("xlsxgen.workbook", 3),
    ("importer", 4),
    ("xlsxgen.render", 5), ("xlsxgen.fill", 5),
    ("xlsxgen.collection", 6),
    ("xlsxgen.web", 7), ("xlsxgen.demo", 7),
    ("xlsxgen.commands", 8), ("xlsxgen.cli", 8),
]
# importer reads what the writer wrote, by the plan; it never needs the writer itself
FORBIDDEN = {"importer": ("xlsxgen.workbook.writer", "xlsxgen.workbook.personalise")}


def layer_of(module: str) -> int:
    best = max((p for p, _ in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return dict(LAYERS)[best]


def modules() -> dict[str, str]:
    found = {}
    for pkg in ("xlsxgen", "importer"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            name = ".".join(rel.parts)
            found[name.removesuffix(".__init__")] = str(path)
    return found


def imports_of(name: str, path: str, known: dict) -> set[str]:
    tree = ast.parse(open(path, encoding="utf-8").read())
    is_pkg = path.endswith("__init__.py")
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{a.name}" for a in node.names] + [mod]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and not name.startswith(t + "."):
                out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports_of(m, p, known) for m, p in known.items()}


def test_layers_import_downwards_only():
    bad = []
    for m, deps in graph().items():
        for d in deps:
            if layer_of(d) > layer_of(m):
                bad.append(f"{m} (layer {layer_of(m)}) imports {d} (layer {layer_of(d)})")
            for prefix, banned in FORBIDDEN.items():
                if (m == prefix or m.startswith(prefix + ".")) and d in banned:
                    bad.append(f"{m} imports {d}")
    assert not bad, "imports against the layering:\n" + "\n".join(sorted(bad))


def find_cycles(g: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    cycles = find_cycles(graph())
    assert not cycles, "modules importing each other in a circle:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checks_can_fail():
    """A planted cycle and a planted upward import are found."""
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer_of("importer.validate") > layer_of("xlsxgen.workbook.plan")
    assert layer_of("xlsxgen.collection.store") > layer_of("importer")
    assert layer_of("xlsxgen.commands.collect") > layer_of("xlsxgen.collection.intake")

"""Checking a published report's figures as published (see :func:`lint`)."""

from __future__ import annotations

from importer.findings import make
from importer.published.model import prov_text
from importer.published.result import PublishedResult, _num
from importer.result import ImportResult


def lint(result: PublishedResult, previous=None) -> PublishedResult:
    """Check the figures as published: every identity of the format (a published total against its parts)
    and every rule (cross-year ones with ``previous``). Cells that are not known are skipped, never taken as 0."""
    from importer.published.identities import identities_of
    from importer.validate import validate_submission

    if result.validated or result.spec is None or result.submission is None:
        return result
    spec = result.spec
    vals = result.published
    for ident in identities_of(spec):
        if ident.kind != "total":
            continue
        r = ident.residual(vals.get)
        if r is None or abs(r) < 1e-6:
            continue
        tgt = ident.target
        stated = vals[tgt]
        parts = stated - r
        prov = result.provenance.get(tgt)
        where = prov_text(prov)
        t = spec.table(tgt[0])
        result.findings.append(make(
            "total.mismatch", place=f"表「{t.heading}」中「{t.cell_label(tgt[1], tgt[2])}」"
            + (f"（{where}）" if where else ""), expected=_num(parts), actual=_num(stated), table=tgt[0],
            row=tgt[1], column=tgt[2], identity=ident.id, source=prov))
    prev_sub = previous.submission if isinstance(previous, ImportResult) else previous
    known = {k: v for k, v in vals.items() if v is not None}
    prev_values = None
    if isinstance(previous, PublishedResult) and previous.spec is spec and prev_sub is not None:
        # last year as published: its unknown figures skip the cross-year rules instead of counting as 0
        prev_values = {k: v for k, v in previous.published.items() if v is not None}
        y, py = result.submission.year, prev_sub.year
        if y is not None and py is not None and py != y - 1:
            result.findings.append(make("crossyear.not_previous_year", year=y, expected=y - 1, actual=py))
        prev_sub = None
    result.findings.extend(validate_submission(
        spec, result.submission, prev_sub, claimed={}, unreliable=set(result.unreliable), recomputed=known,
        previous_values=prev_values))
    if previous is not None:
        _previous_hints(result, known, prev_values if prev_values is not None else _prev_known(previous))
    result.validated = True
    return result


def _prev_known(previous) -> dict:
    from xlsxgen.spec.rules import recompute_totals

    sub = previous.submission if isinstance(previous, ImportResult) else previous
    if sub is None:
        return {}
    try:
        from xlsxgen.spec import load_format

        return recompute_totals(load_format(sub.format_id), {k: v for k, v in sub.values.items() if v is not None})
    except Exception:  # noqa: BLE001 - no hint without last year's figures
        return {}


def _previous_hints(result, known: dict, prev: dict) -> None:
    """For an ambiguous run: the one split (if exactly one) that last year's figures fit, as a hint."""
    from xlsxgen.spec import expr
    from xlsxgen.spec.rules import compile_spec

    rules = [ru for ru in compile_spec(result.spec).rules if ru.cross_year and ru.node.op == "=="]
    for f in list(result.findings):
        if f.rule != "extract.ambiguous" or not f.extra.get("split_candidates"):
            continue
        keys = [tuple(k) for k in f.extra["split_keys"]]
        applicable = []
        for ru in rules:
            refs = expr.refs_of(ru.node)
            now = [(r.table, r.row, r.column) for r in refs if not r.previous]
            if not any(k in keys for k in now):
                continue
            if all(k in keys or k in known for k in now) and all(
                    (r.table, r.row, r.column) in prev for r in refs if r.previous):
                applicable.append(ru)
        if not applicable:
            continue
        fits = []
        for cand in f.extra["split_candidates"]:
            vals = dict(known)
            vals.update(zip(keys, cand))

            def value_of(ref, _v=vals):
                return (prev if ref.previous else _v).get((ref.table, ref.row, ref.column), 0)

            if all(ru.evaluate(value_of)[0] for ru in applicable):
                fits.append(cand)
        if len(fits) == 1:
            result.findings.append(make(
                "extract.previous_fits", place=f.extra.get("place", ""), run=f.extra.get("run", ""),
                count=len(f.extra["split_candidates"]), fit=" | ".join(str(_num(v)) for v in fits[0]),
                rule="；".join(dict.fromkeys(ru.title for ru in applicable)), table=f.table, row=f.row,
                source=f.extra.get("source")))

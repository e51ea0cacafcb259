"""Starting the portal under uvicorn: the configuration travels to worker processes in the environment."""

from __future__ import annotations

import json
import os
from pathlib import Path

ENV = "XLSXGEN_PORTAL_CONFIG"


def build_config(*, db: str, year: int, format_id=None, uploads=None, deadline: str = "", office: str = "政务公开办",
                 https_only: bool = False) -> dict:
    """Check everything before any worker starts (a bad --db fails here, in Chinese)."""
    from xlsxgen.collection.store import Store
    from xlsxgen.errors import UsageError
    from xlsxgen.spec.versions import check_year, resolve_format

    spec = resolve_format(format_id, year)
    check_year(spec, year)
    with Store.open(db, create=False) as store:
        if store.roster(year) is None:
            raise UsageError(f"收集库中没有{year}年度的名单；请先用 xlsxgen generate --roster 名单.csv --db … 记录名单")
    if uploads is None:
        uploads = str(db) + ".uploads" if "://" not in str(db) else "xlsxgen-uploads"
    up = Path(uploads).resolve()
    try:
        up.mkdir(parents=True, exist_ok=True)
        os.chmod(up, 0o700)
    except OSError as e:
        raise UsageError(f"无法创建上传文件夹 {up}：{e.strerror or e}") from None
    db_value = str(db) if "://" in str(db) else str(Path(db).resolve())
    return {"db": db_value, "year": year, "format": spec.id, "uploads": str(up), "deadline": deadline,
            "office": office, "https_only": https_only}


def config_env(cfg: dict) -> dict:
    return {ENV: json.dumps(cfg, ensure_ascii=False)}


def app_from_config(cfg: dict):
    from xlsxgen.spec import load_format
    from xlsxgen.web.app import create_app
    from xlsxgen.web.portal import Portal

    portal = Portal(db=cfg["db"], year=int(cfg["year"]), spec=load_format(cfg["format"]), uploads=Path(cfg["uploads"]),
                    deadline=cfg.get("deadline") or "", office=cfg.get("office") or "政务公开办")
    return create_app(portal, https_only=bool(cfg.get("https_only")))


def app_from_env():
    """uvicorn's factory (each worker process builds its app from the environment)."""
    return app_from_config(json.loads(os.environ[ENV]))

"""Schema v4 (issue 12) on both databases: roster contacts, held submissions and their confirmation, inbox files."""

from __future__ import annotations

from tests.test_store import row
from xlsxgen.collection.intake import Skipped
from xlsxgen.collection.roster import Agency, Roster
from xlsxgen.collection.store import Store


def test_contacts_hold_confirm_and_inbox_files(db):
    with Store.open(db) as s:
        s.save_roster(2024, Roster([Agency("001", "甲局", contact="张三", phone="03191234567", email="z@a.cn"),
                                    Agency("002", "乙局")]))
        r = s.roster(2024)
        assert (r.get("001").contact, r.get("001").phone, r.get("001").email) == ("张三", "03191234567", "z@a.cn")
        assert r.get("002").phone == ""
        s.add_submissions([row("a", code="002", checked_status="accepted"), row("b", code="001")])
        assert s.hold(2024, ["a"], "agency_mismatch", "文件名指向甲局") == 1
        assert {r.agency_code for r in s.current(2024)} == {"001"}
        (held,) = s.find(2024, "a.xlsx")
        assert held.status == "rejected" and held.reason_code == "agency_mismatch"
        rec = s.confirm(held.id, agency_code="002", agency_name="乙局", by="张三", note="已电话核实")
        assert rec.status == "accepted" and rec.reason_code == "confirmed" and "张三" in rec.reason
        assert {r.agency_code for r in s.current(2024)} == {"001", "002"}
        assert [a.action for a in s.audit_log(2024, "002")] == ["confirm"]
        sk = Skipped("北关镇年报.xls", "other_type", "其他格式的表格（.xls）", "请另存为 .xlsx", 600, "002", "乙局", "文件名")
        assert s.save_skipped(2024, None, [sk, Skipped(".x.xlsx", "hidden", "隐藏文件，未收集")]) == 2
        sk.reason = "改过的原因"
        s.save_skipped(2024, None, [sk])  # the same path again: updated, not doubled
        files = s.skipped_files(2024)
        assert [f["path"] for f in files] == [".x.xlsx", "北关镇年报.xls"]
        assert files[1]["reason"] == "改过的原因" and files[1]["agency_code"] == "002"
        assert [f["path"] for f in s.skipped_files(2024, codes=["hidden"])] == [".x.xlsx"]

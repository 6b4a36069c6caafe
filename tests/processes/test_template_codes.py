"""Field codes made from Chinese labels (pinyin), unique within the template; typed codes are kept."""
from __future__ import annotations

from processes.templates.codes import code_for, fill_missing


def test_codes_from_labels():
    taken: set[str] = set()
    assert code_for("贷款金额(元)", taken) == "daikuanjine_yuan"
    assert code_for("贷款金额(元)", taken) == "daikuanjine_yuan_2"
    assert code_for("2号附件", taken) == "f_2_haofujian"
    assert code_for("业务类型", taken) == "business_type"  # the fields R4.1.1 requires keep their known codes
    assert code_for("!!!", taken) == "field"


def test_fill_missing_keeps_typed_codes_and_leaves_empty_rows_alone():
    rows = fill_missing([{"label": "手机号码", "code": ""}, {"label": "手机号码", "code": "shoujihaoma"},
                         {"label": "", "code": ""}])
    assert [r["code"] for r in rows] == ["shoujihaoma_2", "shoujihaoma", ""]

"""Field codes made from Chinese labels: 贷款金额(元) → daikuanjine_yuan, unique within the template."""
from __future__ import annotations

import re

from pypinyin import lazy_pinyin

CODE_LIMIT = 40  # characters: room left for a _2 … suffix under the schema's 50
# The fields every template must have (R4.1.1) keep the codes the rest of Guichet knows them by.
KNOWN = {"业务类型": "business_type", "客户信息": "customer", "客户名称": "customer_name", "客户姓名": "customer_name",
         "业务内容": "content", "办理时间": "handled_at", "经办人员": "handled_by", "经办人": "handled_by"}


def code_for(label: str, taken: set[str]) -> str:
    """A lowercase code for a field labelled `label`, not among `taken` (which it joins)."""
    known = KNOWN.get(label.strip())
    if known and known not in taken:
        taken.add(known)
        return known
    words = _words(label)
    base = re.sub(r"_+", "_", "_".join(words)).strip("_")[:CODE_LIMIT].rstrip("_") or "field"
    if not base[0].isalpha():
        base = f"f_{base}"[:CODE_LIMIT]
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}_{n}"
    taken.add(code)
    return code


def _words(label: str) -> list[str]:
    """The label as words: each run of Chinese characters as its joined pinyin, other letters and digits as typed."""
    words = []
    for part in re.split(r"([\u3400-\u9fff]+)", label.strip()):
        if re.fullmatch(r"[\u3400-\u9fff]+", part):
            words.append("".join(lazy_pinyin(part)))
        else:
            words += [w for w in re.split(r"[^a-z0-9]+", part.lower()) if w]
    return words


def fill_missing(rows: list[dict]) -> list[dict]:
    """The designer's rows with a code made for each row that has a label but no code (typed codes are kept)."""
    taken = {r["code"] for r in rows if r.get("code")}
    return [r if r.get("code") or not r.get("label") else {**r, "code": code_for(r["label"], taken)} for r in rows]

"""Chinese formats: resident ID (GB 11643), bank cards (Luhn), mainland mobiles, money amounts."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"\d{17}[\dX]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_CARD = re.compile(r"\d{12,19}")
_AMOUNT = re.compile(r"-?\d{1,13}(\.\d{1,2})?")


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def clean_id_card(value: str, *, today: date | None = None) -> str:
    """An 18-character resident ID number, upper-case X; ValidationError says what is wrong."""
    text = str(value).strip().upper()
    if not _ID_SHAPE.fullmatch(text):
        raise ValidationError(f"身份证号码应为 18 位 (17 位数字加 1 位数字或 X), 当前为 {min(len(text), 99)} 位")
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise ValidationError("身份证号码中的出生日期不存在") from None
    today = today or date.today()
    if born > today or born.year < 1900:
        raise ValidationError("身份证号码中的出生日期不合理")
    if id_check_digit(text[:17]) != text[17]:
        raise ValidationError("身份证号码校验位不正确, 请核对")
    return text


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def clean_bank_card(value: str) -> str:
    """A bank card number of 12-19 digits passing the Luhn check (spaces allowed when typing)."""
    text = re.sub(r"[\s-]", "", str(value))
    if not _CARD.fullmatch(text):
        raise ValidationError("银行卡号应为 12 至 19 位数字")
    if not luhn_ok(text):
        raise ValidationError("银行卡号校验未通过 (Luhn), 请核对")
    return text


def clean_mobile(value: str) -> str:
    """A mainland mobile number: 11 digits starting 13-19 (a leading +86 is accepted)."""
    text = re.sub(r"[\s-]", "", str(value))
    if text.startswith("+86"):
        text = text[3:]
    if not _MOBILE.fullmatch(text):
        raise ValidationError("手机号码应为 11 位, 以 13 至 19 开头")
    return text


def clean_amount(value) -> str:
    """A money amount with at most two decimals, as text with exactly two ("1200.50")."""
    text = str(value).strip().replace(",", "")
    if isinstance(value, bool) or not _AMOUNT.fullmatch(text):
        raise ValidationError("金额格式不正确, 最多两位小数, 例如 1200.50")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError("金额格式不正确, 最多两位小数, 例如 1200.50") from None
    if amount < 0:
        raise ValidationError("金额不能为负数")
    return f"{amount:.2f}"


def mask(kind: str, value: str | None) -> str | None:
    """The masked form shown by default: ID first 6 + last 4, bank card first 4 + last 4, mobile first 3 + last 4."""
    if value is None or value == "":
        return value
    text = str(value)
    keep = {"id_card": (6, 4), "bank_card": (4, 4), "mobile": (3, 4)}.get(kind)
    if keep is None:
        head, tail = (1, 0) if len(text) > 1 else (0, 0)
        return text[:head] + "*" * max(len(text) - head, 1)
    head, tail = keep
    if len(text) <= head + tail:
        return "*" * len(text)
    return text[:head] + "*" * (len(text) - head - tail) + text[-tail:]

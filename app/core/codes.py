"""Validators for the national codes used by China's rural land-rights registry.

Every code that enters the registry (from a form, an Excel import or a GIS
exchange package) passes through one of these functions, so that a typo is
caught at the door with a message a village clerk can act on, instead of
surfacing later as a broken join between a contractor, a parcel and a contract.

Conventions shared by every validator:

* Input is normalised first: full-width digits and letters (common when a
  Chinese IME is left in full-width mode) become ASCII, surrounding whitespace
  (including the ideographic space U+3000) is stripped, and letters are
  upper-cased where the standard uses upper case.  The normalised string is
  returned, so callers should store the return value, not their input.
* Failure raises :class:`CodeError`, a :class:`ValueError` carrying a short
  machine key (``code``) plus a Simplified-Chinese and an English message.
* A non-``str`` argument is a programming error and raises :class:`TypeError`.

Only the standard library is used; the functions are pure apart from reading
today's date for the "birth date is not in the future" rule, which can be
overridden with the ``today`` keyword.

The code hierarchy (农业农村部《农村土地承包经营权确权登记数据库规范》):

* 行政区划代码 (12 digits) — village level for a 发包方.
* 发包方编码 FBFBM (14) = village division code (12) + group (2, ``00`` = village).
* 承包方编码 CBFBM (18) = FBFBM + 4-digit sequence.
* 地块编码 DKBM (19) = FBFBM + 5-digit sequence.
* 承包合同编码 CBHTBM (19) = CBFBM + ``J`` for household contracting (家庭承包), or
  CBFBM + ``Q`` for other contracting methods (其他方式承包); the 承包经营权证 code
  (CBJYQZBM) is the same string.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from app.core.calendar import county_today

__all__ = [
    "CodeError",
    "cbhtbm_for",
    "fbfbm_group",
    "fbfbm_village_code",
    "format_mu",
    "id_birth_date",
    "id_number_check_char",
    "id_sex",
    "mask_id_number",
    "sqm_to_mu",
    "uscc_check_char",
    "validate_cbfbm",
    "validate_cbhtbm",
    "validate_collective_uscc",
    "validate_division_code",
    "validate_dkbm",
    "validate_fbfbm",
    "validate_id_number",
    "validate_unit_number",
    "validate_uscc",
    "CONTRACT_METHOD_LETTERS",
    "PROVINCE_CODES",
    "COLLECTIVE_LEVELS",
]


class CodeError(ValueError):
    """A code failed validation.

    ``code`` is a stable machine key (``"empty"``, ``"length"``, ``"digits"``,
    ``"charset"``, ``"region"``, ``"date"``, ``"sequence"``, ``"prefix"``,
    ``"check_digit"``, ``"format"``, ``"parcel_type"``, ``"building_type"``,
    ``"building_number"``, ``"area"``) so that forms and import reports can
    branch or translate without parsing text; ``message_zh`` is what a clerk
    sees in the UI, ``message_en`` is for logs and tests.
    """

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        # Passing all three to ValueError keeps ``args`` complete, so the
        # exception survives pickling (e.g. when a background import job
        # reports failures back to the web process).
        super().__init__(code, message_zh, message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en

    def __str__(self) -> str:
        return self.message_en


class _Label(NamedTuple):
    """Human names of a code, used to build both messages consistently."""

    zh: str
    en: str


_ID = _Label("身份证号", "ID number")
_ID17 = _Label("身份证号前 17 位", "First 17 characters of the ID number")
_DIVISION = _Label("行政区划代码", "Administrative division code")
_FBFBM = _Label("发包方编码", "Contract-issuing party code (FBFBM)")
_CBFBM = _Label("承包方编码", "Contractor code (CBFBM)")
_DKBM = _Label("地块编码", "Parcel code (DKBM)")
_CBHTBM = _Label("承包合同编码", "Contract code (CBHTBM)")
_UNIT = _Label("不动产单元号", "Real-estate unit number")
_COUNTY = _Label("县级行政区划代码", "County division code")
_USCC = _Label("统一社会信用代码", "Unified social credit code")
_USCC17 = _Label(
    "统一社会信用代码前 17 位", "First 17 characters of the unified social credit code"
)

_DIGITS = frozenset("0123456789")

# Full-width ０-９, Ａ-Ｚ, ａ-ｚ -> ASCII.  Deliberately narrower than NFKC so
# that look-alikes such as circled digits are rejected rather than guessed at.
_FULLWIDTH = {
    cp: cp - 0xFEE0
    for start, end in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
    for cp in range(start, end + 1)
}


# --- helpers


def _clean(s: str, label: _Label, *, upper: bool = False) -> str:
    """Normalise raw input; reject non-strings loudly and empty input clearly."""
    if not isinstance(s, str):
        raise TypeError(f"{label.en} must be a str, got {type(s).__name__}")
    s = s.translate(_FULLWIDTH).strip()
    if upper:
        s = s.upper()
    if not s:
        raise CodeError("empty", f"{label.zh}不能为空", f"{label.en} is empty")
    return s


def _check_length(s: str, n: int, label: _Label, hint_zh: str = "", hint_en: str = "") -> None:
    """Length first: a wrong length usually means a missing or doubled digit."""
    if len(s) != n:
        raise CodeError(
            "length",
            f"{label.zh}应为 {n} 位，实际为 {len(s)} 位{hint_zh}",
            f"{label.en} must be {n} characters long, got {len(s)}{hint_en}",
        )


def _check_digits(s: str, label: _Label, start: int = 0, stop: int | None = None) -> None:
    """Point at the first non-digit so the clerk knows exactly what to fix.

    ``str.isdigit`` is not used because it accepts superscripts and other
    scripts' digits, which would later break ``int()`` or string joins.
    """
    stop = len(s) if stop is None else stop
    for i in range(start, stop):
        if s[i] not in _DIGITS:
            raise CodeError(
                "digits",
                f"{label.zh}第 {i + 1} 位应为数字，实际为“{s[i]}”",
                f"{label.en}: character {i + 1} must be a digit, got {s[i]!r}",
            )


def _digit_code(s: str, n: int, label: _Label) -> str:
    """Normalise and require exactly ``n`` ASCII digits."""
    s = _clean(s, label)
    _check_length(s, n, label)
    _check_digits(s, label)
    return s


def _check_sequence(s: str, start: int, stop: int, label: _Label) -> None:
    """Sequence numbers start at 1; all-zero means the field was left blank-filled."""
    seq = s[start:stop]
    if set(seq) == {"0"}:
        width = stop - start
        raise CodeError(
            "sequence",
            f"{label.zh}第 {start + 1}–{stop} 位为 {width} 位顺序码，不能为 {seq}",
            f"{label.en}: the {width}-digit sequence number "
            f"(characters {start + 1}-{stop}) must not be {seq}",
        )


def _check_prefix(s: str, prefix: str, label: _Label, parent: _Label) -> None:
    """A child code must embed its parent's code, or the hierarchy is broken."""
    if not s.startswith(prefix):
        n = len(prefix)
        raise CodeError(
            "prefix",
            f"{label.zh}应以{parent.zh} {prefix} 开头，实际前 {n} 位为 {s[:n]}",
            f"{label.en} must start with the {parent.en[0].lower()}{parent.en[1:]} {prefix}, "
            f"but its first {n} characters are {s[:n]}",
        )


# --- ID numbers

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

#: Province-level codes of GB/T 2260 (the first two digits of an ID number's address code).
#: 71 is Taiwan's code in the standard; residence permits for Hong Kong, Macao and Taiwan
#: residents (港澳台居民居住证, 国办发〔2018〕81号) carry 81, 82 and 83 (address codes 810000,
#: 820000, 830000) and follow the same GB 11643 layout and check character.
PROVINCE_CODES = frozenset(
    ["11", "12", "13", "14", "15"]  # 京 津 冀 晋 蒙
    + ["21", "22", "23"]  # 辽 吉 黑
    + ["31", "32", "33", "34", "35", "36", "37"]  # 沪 苏 浙 皖 闽 赣 鲁
    + ["41", "42", "43", "44", "45", "46"]  # 豫 鄂 湘 粤 桂 琼
    + ["50", "51", "52", "53", "54"]  # 渝 川 黔 滇 藏
    + ["61", "62", "63", "64", "65"]  # 陕 甘 青 宁 新
    + ["71", "81", "82", "83"]  # 台, 港 澳 台 residence permits
)
_ID_CHECK_CHARS = "10X98765432"
_ID_MIN_BIRTH = date(1900, 1, 1)


def id_number_check_char(first17: str) -> str:
    """Return the GB 11643-1999 check character (ISO 7064 MOD 11-2) for 17 digits.

    Exposed so that tests, demo data and "did you mean" hints can build valid
    IDs without hard-coding real people's numbers.
    """
    s = _digit_code(first17, 17, _ID17)
    total = sum(int(d) * w for d, w in zip(s, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _id_birth(s: str, today: date | None) -> date:
    """Parse positions 7-14 and check the date is real and plausible."""
    raw = s[6:14]
    try:
        born = date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        raise CodeError(
            "date",
            f"身份证号第 7–14 位为出生日期，{raw} 不是有效日期",
            f"ID number characters 7-14 are the birth date; {raw} is not a valid date",
        ) from None
    if born < _ID_MIN_BIRTH:
        raise CodeError(
            "date",
            f"身份证号中的出生日期 {born.isoformat()} 早于 1900-01-01",
            f"Birth date {born.isoformat()} in the ID number is before 1900-01-01",
        )
    today = county_today() if today is None else today
    if born > today:
        raise CodeError(
            "date",
            f"身份证号中的出生日期 {born.isoformat()} 晚于今天（{today.isoformat()}）",
            f"Birth date {born.isoformat()} in the ID number is after today ({today.isoformat()})",
        )
    return born


def validate_id_number(s: str, *, today: date | None = None) -> str:
    """Validate an 18-character resident ID number (GB 11643-1999).

    Household members and contractors are identified by ID number, so a wrong
    one silently splits a person into two records.  Checks, in the order a
    clerk would fix them: length, digits, region code, birth date, check
    character.  ``today`` pins the "not in the future" rule for tests.

    Returns the number with a lower-case ``x`` upper-cased.
    """
    s = _clean(s, _ID, upper=True)
    if len(s) == 15:
        _check_length(
            s,
            18,
            _ID,
            "（15 位旧身份证号须先升位为 18 位）",
            " (old 15-digit numbers must first be converted to 18 digits)",
        )
    _check_length(s, 18, _ID)
    _check_digits(s, _ID, 0, 17)
    last = s[17]
    if last not in _DIGITS and last != "X":
        raise CodeError(
            "digits",
            f"身份证号第 18 位应为数字或 X，实际为“{last}”",
            f"ID number: character 18 must be a digit or X, got {last!r}",
        )
    if s[0] == "0":
        raise CodeError(
            "region",
            f"身份证号前 6 位为地址码（行政区划代码），不能以 0 开头，实际为 {s[:6]}",
            f"ID number: the first 6 digits are the region code and cannot start with 0, "
            f"got {s[:6]}",
        )
    if s[:2] not in PROVINCE_CODES:
        raise CodeError(
            "region",
            f"身份证号前 2 位应为省级行政区划代码，{s[:2]} 不是任何省、自治区、直辖市的代码，"
            f"请核对号码是否录入有误",
            f"ID number: the first 2 digits are the province code, and {s[:2]} is not the code "
            f"of any province; check the number for typos",
        )
    _id_birth(s, today)
    expected = id_number_check_char(s[:17])
    if last != expected:
        raise CodeError(
            "check_digit",
            f"身份证号校验位应为 {expected}，实际为 {last}，请核对前 17 位是否录入有误",
            f"ID number check character should be {expected}, got {last}; "
            f"check the first 17 digits for typos",
        )
    return s


def id_birth_date(s: str, *, today: date | None = None) -> date:
    """Return the birth date encoded in a (validated) ID number.

    Validates first so that a date is never derived from a mistyped number.
    """
    return _id_birth(validate_id_number(s, today=today), today)


def id_sex(s: str) -> str:
    """Return ``"M"`` if the 17th digit is odd, else ``"F"`` (GB 11643-1999 §5.3)."""
    return "M" if int(validate_id_number(s)[16]) % 2 else "F"


def mask_id_number(s: str) -> str:
    """Mask an ID number for display, keeping only the last 4 characters.

    An 18-character number is region (6) + birth date (8) + sequence (3) + check character
    (1). The region is usually the county's own and the check character follows from the rest,
    so a mask that kept the first 6 and last 4 left only the birth date hidden, and that was
    shown beside it. This mask keeps nothing of the region or the birth date: the last 4 (the
    sequence, whose last digit gives the sex shown anyway, and the check character) identify
    the person to someone who holds the card without rebuilding the number for anyone else.
    Masked pages also hide the birth date (``app.registry.present``).

    Works on any string, valid or not, because it is used when rendering whatever was stored
    or typed. A string of fewer than 12 characters is masked whole (at least 8 stay hidden).
    """
    s = s.translate(_FULLWIDTH).strip().upper()
    if len(s) < 12:
        return "*" * len(s)
    return "*" * (len(s) - 4) + s[-4:]


# --- land-contract codes


def validate_division_code(s: str) -> str:
    """Validate a 12-digit administrative division code (统计用区划代码)."""
    return _digit_code(s, 12, _DIVISION)


def validate_fbfbm(s: str) -> str:
    """Validate a 14-digit 发包方编码: village division code (12) + group (2).

    Group ``00`` means the village collective itself is the 发包方.
    """
    return _digit_code(s, 14, _FBFBM)


def fbfbm_village_code(s: str) -> str:
    """Return the 12-digit village division code of a 发包方编码."""
    return validate_fbfbm(s)[:12]


def fbfbm_group(s: str) -> str:
    """Return the 2-digit group part of a 发包方编码 (``"00"`` = the village)."""
    return validate_fbfbm(s)[12:]


def validate_cbfbm(s: str, fbfbm: str | None = None) -> str:
    """Validate an 18-digit 承包方编码: FBFBM (14) + 4-digit sequence (not 0000).

    If ``fbfbm`` is given, the code must belong to that 发包方; this catches a
    household imported under the wrong village or group.
    """
    s = _digit_code(s, 18, _CBFBM)
    _check_sequence(s, 14, 18, _CBFBM)
    if fbfbm is not None:
        _check_prefix(s, validate_fbfbm(fbfbm), _CBFBM, _FBFBM)
    return s


def validate_dkbm(s: str, fbfbm: str | None = None) -> str:
    """Validate a 19-digit 地块编码: FBFBM (14) + 5-digit sequence (not 00000).

    If ``fbfbm`` is given, the parcel must belong to that 发包方.
    """
    s = _digit_code(s, 19, _DKBM)
    _check_sequence(s, 14, 19, _DKBM)
    if fbfbm is not None:
        _check_prefix(s, validate_fbfbm(fbfbm), _DKBM, _FBFBM)
    return s


#: 承包方式 -> the letter that ends the contract code: ``J`` household contracting (家庭承包),
#: ``Q`` other contracting methods (其他方式承包: 招标、拍卖、公开协商, Arts. 3, 48-50).
CONTRACT_METHOD_LETTERS = {"household": "J", "other": "Q"}
_METHOD_NAMES = {
    "household": ("家庭承包", "household contracting"),
    "other": ("其他方式承包", "other contracting"),
}


def validate_cbhtbm(s: str, cbfbm: str | None = None, *, method: str | None = None) -> str:
    """Validate a 19-character 承包合同编码 (= 承包经营权证编码): CBFBM + ``J`` or ``Q``.

    ``J`` is household contracting, ``Q`` other contracting methods; if ``method``
    (``"household"`` / ``"other"``) is given, the letter must be that method's.
    Both a contract code and a parcel code are 19 characters, so the trailing
    letter is what tells them apart; a 19-digit value here is almost always a
    parcel code pasted into the wrong column, and the message says so.
    """
    s = _clean(s, _CBHTBM, upper=True)
    _check_length(s, 19, _CBHTBM)
    if s[18] not in CONTRACT_METHOD_LETTERS.values():
        hint_zh = "（19 位纯数字是地块编码，不是合同编码）" if s.isascii() and s.isdigit() else ""
        hint_en = " (19 digits is a parcel code, not a contract code)" if hint_zh else ""
        raise CodeError(
            "format",
            f"{_CBHTBM.zh}应为承包方编码加字母 J（家庭承包）或 Q（其他方式承包），"
            f"第 19 位实际为“{s[18]}”{hint_zh}",
            f"{_CBHTBM.en} is the contractor code followed by J (household contracting) or "
            f"Q (other contracting); character 19 is {s[18]!r}{hint_en}",
        )
    _check_digits(s, _CBHTBM, 0, 18)
    _check_sequence(s, 14, 18, _CBHTBM)
    if cbfbm is not None:
        _check_prefix(s, validate_cbfbm(cbfbm), _CBHTBM, _CBFBM)
    if method is not None:
        letter = _method_letter(method)
        if s[18] != letter:
            zh, en = _METHOD_NAMES[method]
            raise CodeError(
                "method",
                f"{zh}的{_CBHTBM.zh}应以字母 {letter} 结尾，实际为“{s[18]}”",
                f"A contract by {en} has a code ending in {letter}, got {s[18]!r}",
            )
    return s


def _method_letter(method: str) -> str:
    try:
        return CONTRACT_METHOD_LETTERS[method]
    except KeyError:
        raise ValueError(f"unknown contracting method {method!r}") from None


def cbhtbm_for(cbfbm: str, method: str = "household") -> str:
    """Build the contract (and certificate) code for a contractor: CBFBM + ``J``
    (household contracting) or + ``Q`` (other contracting methods)."""
    return validate_cbfbm(cbfbm) + _method_letter(method)


# --- real-estate unit number

_BUILDING_TYPES = "FLQW"


def validate_unit_number(s: str, county_code: str | None = None) -> str:
    """Validate a 28-character 不动产单元号 (GB/T 37346-2019) for a homestead.

    Layout (1-based positions):

    ====== ======= ==================================================
    1-6    digits  county-level division code
    7-9    digits  地籍区
    10-12  digits  地籍子区
    13-14  ``JC``  宗地特征码: J = 集体土地所有权, C = 宅基地使用权
    15-19  digits  宗地顺序号
    20     F/L/Q/W 定着物特征码: 房屋 / 林木 / 其他 / 无定着物
    21-28  digits  定着物单元编号; ``00000000`` when the type is W
    ====== ======= ==================================================

    Only homestead units (``JC``) are registered here, so any other parcel type
    is rejected rather than accepted as "valid but irrelevant".  If
    ``county_code`` is given, the unit must lie in that county.
    """
    s = _clean(s, _UNIT, upper=True)
    _check_length(s, 28, _UNIT)
    _check_digits(s, _UNIT, 0, 12)
    if s[12:14] != "JC":
        raise CodeError(
            "parcel_type",
            f"{_UNIT.zh}第 13–14 位为宗地特征码，宅基地应为 JC（集体土地所有权、宅基地使用权），"
            f"实际为 {s[12:14]}",
            f"{_UNIT.en}: characters 13-14 are the parcel type and must be JC "
            f"(collective land, homestead use right) for a homestead, got {s[12:14]}",
        )
    _check_digits(s, _UNIT, 14, 19)
    building = s[19]
    if building not in _BUILDING_TYPES:
        raise CodeError(
            "building_type",
            f"{_UNIT.zh}第 20 位为定着物特征码，应为 F（房屋）、L（林木）、Q（其他）"
            f"或 W（无定着物），实际为“{building}”",
            f"{_UNIT.en}: character 20 is the fixture type and must be one of "
            f"F (building), L (trees), Q (other) or W (none), got {building!r}",
        )
    _check_digits(s, _UNIT, 20, 28)
    if building == "W" and s[20:] != "00000000":
        raise CodeError(
            "building_number",
            f"{_UNIT.zh}定着物特征码为 W（无定着物）时，第 21–28 位应为 00000000，实际为 {s[20:]}",
            f"{_UNIT.en}: with fixture type W (none), characters 21-28 must be 00000000, "
            f"got {s[20:]}",
        )
    if county_code is not None:
        _check_prefix(s, _digit_code(county_code, 6, _COUNTY), _UNIT, _COUNTY)
    return s


# --- USCC

_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(_USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _check_uscc_charset(s: str, label: _Label) -> None:
    """Point at the first character outside the GB 32100 alphabet."""
    for i, c in enumerate(s):
        if c not in _USCC_VALUES:
            raise CodeError(
                "charset",
                f"{label.zh}第 {i + 1} 位“{c}”不是合法字符：只能使用数字和"
                f"除 I、O、Z、S、V 以外的大写字母",
                f"{label.en}: character {i + 1} ({c!r}) is not allowed; use digits and "
                f"upper-case letters other than I, O, Z, S, V",
            )


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character (MOD 31) for the first 17 characters."""
    s = _clean(first17, _USCC17, upper=True)
    _check_length(s, 17, _USCC17)
    _check_uscc_charset(s, _USCC17)
    total = sum(_USCC_VALUES[c] * w for c, w in zip(s, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARSET[(31 - total % 31) % 31]


def validate_uscc(s: str) -> str:
    """Validate an 18-character 统一社会信用代码 (GB 32100-2015), returned upper-case."""
    s = _clean(s, _USCC, upper=True)
    _check_length(s, 18, _USCC)
    _check_uscc_charset(s, _USCC)
    expected = uscc_check_char(s[:17])
    if s[17] != expected:
        raise CodeError(
            "check_digit",
            f"{_USCC.zh}校验位应为 {expected}，实际为 {s[17]}，请核对前 17 位是否录入有误",
            f"{_USCC.en} check character should be {expected}, got {s[17]}; "
            f"check the first 17 characters for typos",
        )
    return s


#: Level of a collective economic organisation -> the second character of its USCC (GB 32100:
#: registration authority ``N`` agriculture, then 1 group, 2 village, 3 township).
COLLECTIVE_LEVELS = {"group": "N1", "village": "N2", "township": "N3"}
_LEVEL_NAMES = {
    "group": ("组级", "group-level"),
    "village": ("村级", "village-level"),
    "township": ("乡镇级", "township-level"),
}


def validate_collective_uscc(s: str, level: str | None = None) -> str:
    """Validate the USCC of a rural collective economic organisation (``N1``/``N2``/``N3``).

    Registration authority ``N`` is the agriculture department; the type is ``1`` for a
    villager-group collective, ``2`` for a village one and ``3`` for a township one. If
    ``level`` (``"group"``, ``"village"``, ``"township"``) is given, the code must be that
    level's. Rejecting other prefixes stops a company's or a co-operative's code being
    recorded as the 发包方.
    """
    s = validate_uscc(s)
    if s[:2] not in COLLECTIVE_LEVELS.values():
        raise CodeError(
            "prefix",
            f"农村集体经济组织的{_USCC.zh}应以 N1（组级）、N2（村级）或 N3（乡镇级）开头"
            f"（农业农村部门登记），实际为 {s[:2]}",
            f"A rural collective economic organisation's {_USCC.en.lower()} must start "
            f"with N1 (group), N2 (village) or N3 (township), registered by the agriculture "
            f"department; got {s[:2]}",
        )
    if level is not None:
        try:
            expected = COLLECTIVE_LEVELS[level]
        except KeyError:
            raise ValueError(f"unknown collective level {level!r}") from None
        if s[:2] != expected:
            zh, en = _LEVEL_NAMES[level]
            raise CodeError(
                "level",
                f"{zh}集体经济组织的{_USCC.zh}应以 {expected} 开头，实际为 {s[:2]}",
                f"A {en} collective's {_USCC.en.lower()} starts with {expected}, got {s[:2]}",
            )
    return s


# --- area

_MU_PER_SQM = Decimal(15) / Decimal(10000)


def _check_area(m2: float) -> None:
    """An area is a non-negative finite number; anything else is a data error."""
    if not math.isfinite(m2) or m2 < 0:
        raise CodeError(
            "area",
            f"面积应为非负数，实际为 {m2}",
            f"Area must be a non-negative finite number, got {m2}",
        )


def sqm_to_mu(m2: float) -> float:
    """Convert square metres to 亩 (1 亩 = 10000/15 m²), unrounded.

    Multiplying by 15 and dividing by 10000 avoids the representation error of
    the non-terminating 666.666... divisor.
    """
    _check_area(m2)
    return float(m2) * 15 / 10000


def format_mu(m2: float) -> str:
    """Format an area given in m² as 亩 with two decimals (half-up, as on certificates).

    Decimal arithmetic on the shortest repr of the float gives the rounding a
    person would do by hand; binary floats would round 0.125 亩 inconsistently.
    """
    _check_area(m2)
    mu = (Decimal(str(m2)) * _MU_PER_SQM).copy_abs()
    return str(mu.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

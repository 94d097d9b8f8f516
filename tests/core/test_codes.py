"""Tests for app.core.codes: national code validators of the rural land registry."""

from __future__ import annotations

import pickle
import re
from datetime import date, timedelta

import pytest

from app.core.calendar import county_today
from app.core.codes import (
    PROVINCE_CODES,
    CodeError,
    cbhtbm_for,
    fbfbm_group,
    fbfbm_village_code,
    format_mu,
    id_birth_date,
    id_number_check_char,
    id_sex,
    mask_id_number,
    sqm_to_mu,
    uscc_check_char,
    validate_cbfbm,
    validate_cbhtbm,
    validate_collective_uscc,
    validate_division_code,
    validate_dkbm,
    validate_fbfbm,
    validate_id_number,
    validate_unit_number,
    validate_uscc,
)

# Published specimen numbers (not real people / organisations).
PUBLIC_ID = "11010519491231002X"
PUBLIC_USCC = "91350100M000100Y43"

# Real-shaped land codes for one village group.
VILLAGE = "441481104201"
FBFBM = VILLAGE + "03"
CBFBM = FBFBM + "0027"
DKBM = FBFBM + "00315"
CBHTBM = CBFBM + "J"
UNIT = "441481" + "004" + "012" + "JC" + "00087" + "F" + "00010001"


def make_id(first17: str) -> str:
    """Append the correct check character, so tests never embed real IDs."""
    return first17 + id_number_check_char(first17)


def make_uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def wrong_last(code: str, alphabet: str = "0123456789X") -> str:
    """Same code with a different (hence wrong) check character."""
    return code[:-1] + next(c for c in alphabet if c != code[-1])


def raises(code: str, func, *args, **kwargs) -> CodeError:
    with pytest.raises(CodeError) as info:
        func(*args, **kwargs)
    assert info.value.code == code, (info.value.code, info.value.message_en)
    return info.value


# --- CodeError


def test_code_error_is_value_error_with_bilingual_messages():
    err = raises("check_digit", validate_id_number, wrong_last(PUBLIC_ID))
    assert isinstance(err, ValueError)
    assert str(err) == err.message_en
    assert re.search(r"[\u4e00-\u9fff]", err.message_zh)
    assert err.message_en.isascii()


def test_code_error_survives_pickling():
    err = CodeError("length", "长度不对", "wrong length")
    clone = pickle.loads(pickle.dumps(err))  # noqa: S301 - round-tripping our own object
    assert (clone.code, clone.message_zh, clone.message_en) == (
        "length",
        "长度不对",
        "wrong length",
    )


@pytest.mark.parametrize(
    "func",
    [
        validate_id_number,
        validate_division_code,
        validate_fbfbm,
        validate_cbfbm,
        validate_dkbm,
        validate_cbhtbm,
        validate_unit_number,
        validate_uscc,
        validate_collective_uscc,
    ],
)
def test_empty_and_non_string_input(func):
    err = raises("empty", func, "   ")
    assert "不能为空" in err.message_zh
    with pytest.raises(TypeError):
        func(None)


# --- ID numbers


def test_public_example_id_is_valid():
    assert id_number_check_char(PUBLIC_ID[:17]) == "X"
    assert validate_id_number(PUBLIC_ID) == PUBLIC_ID


def test_id_is_normalised():
    assert validate_id_number("  11010519491231002x \t") == PUBLIC_ID
    # Full-width digits and the ideographic space, as typed with an IME in full-width mode.
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in PUBLIC_ID)
    assert validate_id_number("\u3000" + fullwidth) == PUBLIC_ID


def test_constructed_ids_are_valid():
    for first17 in ["44022219800229123", "44022220000229001", "32010619991231555"]:
        number = make_id(first17)
        assert validate_id_number(number) == number


def test_wrong_check_digit_message_names_expected_and_actual():
    err = raises("check_digit", validate_id_number, PUBLIC_ID[:17] + "3")
    assert "身份证号校验位应为 X，实际为 3" in err.message_zh
    assert "should be X, got 3" in err.message_en


@pytest.mark.parametrize("value", [PUBLIC_ID[:17], PUBLIC_ID + "1", "1101051949123"])
def test_id_wrong_length(value):
    err = raises("length", validate_id_number, value)
    assert f"实际为 {len(value)} 位" in err.message_zh


def test_id_old_15_digit_number_gets_upgrade_hint():
    err = raises("length", validate_id_number, "110105491231002")
    assert "15 位旧身份证号" in err.message_zh


def test_id_letters_in_body_point_at_position():
    err = raises("digits", validate_id_number, "1101051949A231002X")
    assert "第 11 位应为数字" in err.message_zh
    assert "“A”" in err.message_zh


def test_id_last_char_letter_other_than_x():
    err = raises("digits", validate_id_number, PUBLIC_ID[:17] + "Y")
    assert "数字或 X" in err.message_zh


def test_id_region_cannot_start_with_zero():
    err = raises("region", validate_id_number, make_id("01010519491231002"))
    assert "010105" in err.message_zh


@pytest.mark.parametrize(
    "province",
    [
        "10",
        "16",
        "20",
        "24",
        "30",
        "38",
        "40",
        "47",
        "49",
        "55",
        "60",
        "66",
        "70",
        "72",
        "80",
        "84",
        "90",
        "99",
    ],
)
def test_id_province_that_does_not_exist_is_refused(province):
    err = raises("region", validate_id_number, make_id(province + "010519491231002"))
    assert province in err.message_zh and "省" in err.message_zh
    assert "region" not in err.message_zh  # plain words, no codes


@pytest.mark.parametrize("province", sorted(PROVINCE_CODES))
def test_id_every_gb_t_2260_province_is_accepted(province):
    number = make_id(province + "010519491231002")
    assert validate_id_number(number) == number


def test_id_province_list_is_gb_t_2260():
    # 34 province-level divisions (incl. Taiwan 71, Hong Kong 81, Macao 82) + 83, the address
    # code of Taiwan residents' residence permits.
    assert len(PROVINCE_CODES) == 35
    assert {"11", "44", "46", "50", "54", "65", "71", "81", "82", "83"} <= PROVINCE_CODES


@pytest.mark.parametrize(
    "birth", ["19490230", "19491301", "19490001", "19490100", "19000229", "00000101"]
)
def test_id_impossible_date(birth):
    err = raises("date", validate_id_number, make_id("110105" + birth + "002"))
    assert birth in err.message_zh


def test_id_leap_day_2000_is_valid():
    number = make_id("11010520000229002")
    assert id_birth_date(number) == date(2000, 2, 29)


def test_id_before_1900_rejected():
    err = raises("date", validate_id_number, make_id("11010518991231002"))
    assert "早于 1900-01-01" in err.message_zh
    assert validate_id_number(make_id("11010519000101002"))


def test_id_future_birth_date_rejected():
    tomorrow = county_today() + timedelta(days=1)
    err = raises("date", validate_id_number, make_id(f"110105{tomorrow:%Y%m%d}002"))
    assert "晚于今天" in err.message_zh


def test_id_future_is_relative_to_given_today():
    number = make_id("11010520240315002")
    assert validate_id_number(number, today=date(2024, 3, 15)) == number
    raises("date", validate_id_number, number, today=date(2024, 3, 14))


def test_id_born_today_is_valid():
    number = make_id(f"110105{county_today():%Y%m%d}002")
    assert validate_id_number(number) == number


def test_id_birth_date_and_sex():
    assert id_birth_date(PUBLIC_ID) == date(1949, 12, 31)
    assert id_sex(PUBLIC_ID) == "F"  # 17th digit 2
    assert id_sex(make_id("44022219800229123")) == "M"  # 17th digit 3
    assert id_sex(make_id("44022219800229120")) == "F"  # 17th digit 0


def test_id_helpers_validate_first():
    raises("check_digit", id_birth_date, wrong_last(PUBLIC_ID))
    raises("check_digit", id_sex, wrong_last(PUBLIC_ID))


def test_check_char_rejects_bad_input():
    raises("length", id_number_check_char, "1234")
    raises("digits", id_number_check_char, "1101051949123100X")


def test_mask_id_number():
    number = make_id("44022219800229123")
    # Nothing of the region or the birth date: only the last 4 (sequence and check character).
    assert mask_id_number(number) == "*" * 14 + number[-4:]
    assert mask_id_number("440222198002291x3x") == "*" * 14 + "1X3X"
    assert mask_id_number(f"  {PUBLIC_ID} ") == "*" * 14 + "002X"
    assert mask_id_number("１２３４５６７８９０１２") == "********9012"


@pytest.mark.parametrize("value", ["", "1", "123456789", "1234567890", "12345678901"])
def test_mask_short_strings_leak_nothing(value):
    assert mask_id_number(value) == "*" * len(value)


def test_mask_any_length_keeps_only_the_last_4():
    assert mask_id_number("123456789012") == "********9012"
    assert mask_id_number("15010519491231002") == "*" * 13 + "1002"
    assert mask_id_number("abc") == "***"


# --- division / FBFBM


def test_division_code():
    assert validate_division_code(f" {VILLAGE} ") == VILLAGE
    raises("length", validate_division_code, VILLAGE[:-1])
    err = raises("digits", validate_division_code, "4414811042O1")
    assert "第 11 位" in err.message_zh


def test_fbfbm_and_parts():
    assert validate_fbfbm(FBFBM) == FBFBM
    assert fbfbm_village_code(FBFBM) == VILLAGE
    assert fbfbm_group(FBFBM) == "03"
    assert fbfbm_group(VILLAGE + "00") == "00"
    raises("length", validate_fbfbm, VILLAGE)
    raises("digits", validate_fbfbm, VILLAGE + "0A")
    raises("length", fbfbm_group, VILLAGE)


# --- CBFBM / DKBM / CBHTBM


def test_cbfbm():
    assert validate_cbfbm(CBFBM) == CBFBM
    assert validate_cbfbm(CBFBM, fbfbm=FBFBM) == CBFBM
    raises("length", validate_cbfbm, CBFBM[:-1])
    raises("digits", validate_cbfbm, CBFBM[:-1] + "X")
    err = raises("sequence", validate_cbfbm, FBFBM + "0000")
    assert "0000" in err.message_zh


def test_cbfbm_prefix_mismatch():
    other = VILLAGE + "04"
    err = raises("prefix", validate_cbfbm, CBFBM, fbfbm=other)
    assert f"应以发包方编码 {other} 开头" in err.message_zh
    assert FBFBM in err.message_zh


def test_cbfbm_bad_expected_prefix_is_reported():
    raises("length", validate_cbfbm, CBFBM, fbfbm=VILLAGE)


def test_dkbm():
    assert validate_dkbm(DKBM) == DKBM
    assert validate_dkbm(DKBM, fbfbm=FBFBM) == DKBM
    raises("length", validate_dkbm, CBFBM)
    raises("sequence", validate_dkbm, FBFBM + "00000")
    raises("prefix", validate_dkbm, DKBM, fbfbm=VILLAGE + "00")


def test_cbhtbm():
    assert cbhtbm_for(CBFBM) == CBHTBM
    assert validate_cbhtbm(CBHTBM) == CBHTBM
    assert validate_cbhtbm(CBFBM + "j") == CBHTBM
    assert validate_cbhtbm(CBHTBM, cbfbm=CBFBM) == CBHTBM
    raises("length", validate_cbhtbm, CBFBM)
    raises("sequence", validate_cbhtbm, FBFBM + "0000J")
    raises("digits", validate_cbhtbm, "A" + CBHTBM[1:])
    raises("sequence", cbhtbm_for, FBFBM + "0000")


def test_cbhtbm_prefix_mismatch():
    other = FBFBM + "0028"
    err = raises("prefix", validate_cbhtbm, CBHTBM, cbfbm=other)
    assert f"应以承包方编码 {other} 开头" in err.message_zh


def test_cbhtbm_rejects_parcel_code_with_hint():
    err = raises("format", validate_cbhtbm, DKBM)
    assert "地块编码" in err.message_zh
    assert "字母 J（家庭承包）或 Q（其他方式承包）" in err.message_zh


def test_cbhtbm_q_for_other_contracting_methods():
    other = CBFBM + "Q"
    assert cbhtbm_for(CBFBM, "other") == other
    assert cbhtbm_for(CBFBM, "household") == CBHTBM
    assert validate_cbhtbm(other) == other
    assert validate_cbhtbm(CBFBM + "q", method="other") == other
    assert validate_cbhtbm(CBHTBM, cbfbm=CBFBM, method="household") == CBHTBM
    # The letter must be the contracting method's: Q with household contracting and J with
    # another method are refused, each with its method named.
    err = raises("method", validate_cbhtbm, other, method="household")
    assert "家庭承包" in err.message_zh and "J" in err.message_zh
    err = raises("method", validate_cbhtbm, CBHTBM, method="other")
    assert "其他方式承包" in err.message_zh and "Q" in err.message_zh
    raises("format", validate_cbhtbm, CBFBM + "K")


# --- unit number


def test_unit_number_valid():
    assert len(UNIT) == 28
    assert validate_unit_number(UNIT) == UNIT
    assert validate_unit_number(UNIT.lower()) == UNIT
    assert validate_unit_number(UNIT, county_code="441481") == UNIT
    no_building = UNIT[:19] + "W00000000"
    assert validate_unit_number(no_building) == no_building


def test_unit_number_length():
    raises("length", validate_unit_number, UNIT[:-1])


def test_unit_number_jc_position():
    # JC shifted one place right: position 13 is a digit, so the type code is wrong.
    shifted = UNIT[:12] + "0JC" + UNIT[14:-1]
    err = raises("parcel_type", validate_unit_number, shifted)
    assert "第 13–14 位" in err.message_zh
    raises("parcel_type", validate_unit_number, UNIT[:12] + "GB" + UNIT[14:])
    raises("parcel_type", validate_unit_number, UNIT[:12] + "CJ" + UNIT[14:])


def test_unit_number_digit_sections():
    raises("digits", validate_unit_number, "44148A" + UNIT[6:])
    raises("digits", validate_unit_number, UNIT[:14] + "0008A" + UNIT[19:])
    raises("digits", validate_unit_number, UNIT[:-1] + "A")


@pytest.mark.parametrize("char", ["X", "A", "0", "G"])
def test_unit_number_bad_building_code(char):
    err = raises("building_type", validate_unit_number, UNIT[:19] + char + UNIT[20:])
    assert "第 20 位" in err.message_zh


@pytest.mark.parametrize("char", ["F", "L", "Q"])
def test_unit_number_building_codes(char):
    value = UNIT[:19] + char + UNIT[20:]
    assert validate_unit_number(value) == value


def test_unit_number_w_requires_zero_building_number():
    raises("building_number", validate_unit_number, UNIT[:19] + "W00010001")


def test_unit_number_county_prefix():
    err = raises("prefix", validate_unit_number, UNIT, county_code="441402")
    assert "441402" in err.message_zh
    raises("length", validate_unit_number, UNIT, county_code="4414")


# --- USCC


def test_public_uscc_is_valid():
    assert uscc_check_char(PUBLIC_USCC[:17]) == "3"
    assert validate_uscc(PUBLIC_USCC) == PUBLIC_USCC
    assert validate_uscc(f" {PUBLIC_USCC.lower()} ") == PUBLIC_USCC


def test_constructed_usccs_are_valid():
    for first17 in ["N2441481MF1234567", "91440101MA5ABCDE1", "12100000400000624"]:
        code = make_uscc(first17)
        assert validate_uscc(code) == code


def test_uscc_wrong_check_char():
    bad = wrong_last(PUBLIC_USCC, "0123456789ABCDEFGHJKLMNPQRTUWXY")
    err = raises("check_digit", validate_uscc, bad)
    assert "校验位应为 3" in err.message_zh


def test_uscc_check_char_can_be_a_letter_and_zero():
    # Sweep the last body character so every residue, hence letters and 0, shows up.
    checks = {uscc_check_char("9144010100000000" + c) for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"}
    assert len(checks) == 31


@pytest.mark.parametrize("char", ["I", "O", "Z", "S", "V", "-"])
def test_uscc_forbidden_characters(char):
    err = raises("charset", validate_uscc, PUBLIC_USCC[:8] + char + PUBLIC_USCC[9:])
    assert "第 9 位" in err.message_zh


def test_uscc_length():
    raises("length", validate_uscc, PUBLIC_USCC[:-1])
    raises("length", uscc_check_char, PUBLIC_USCC)


def test_collective_uscc_may_be_n1_n2_or_n3():
    code = make_uscc("N2441481MF1234567")
    assert validate_collective_uscc(code) == code
    assert validate_collective_uscc(code.lower()) == code
    err = raises("prefix", validate_collective_uscc, PUBLIC_USCC)
    assert "N2" in err.message_zh and "91" in err.message_zh
    for prefix in ("N1", "N2", "N3"):
        other = make_uscc(prefix + "441481MF1234567")
        assert validate_collective_uscc(other) == other
    raises("prefix", validate_collective_uscc, make_uscc("N9441481MF1234567"))
    raises("prefix", validate_collective_uscc, make_uscc("P1441481MF1234567"))
    # The generic checks still run first.
    raises("check_digit", validate_collective_uscc, wrong_last(code, "0123456789ABCDEF"))


@pytest.mark.parametrize("level,good", [("group", "N1"), ("village", "N2"), ("township", "N3")])
def test_collective_uscc_must_match_the_collectives_level(level, good):
    assert validate_collective_uscc(make_uscc(good + "441481MF1234567"), level)
    for prefix in {"N1", "N2", "N3"} - {good}:
        err = raises(
            "level", validate_collective_uscc, make_uscc(prefix + "441481MF1234567"), level
        )
        assert good in err.message_zh and prefix in err.message_zh


# --- area


def test_sqm_to_mu():
    assert sqm_to_mu(666.67) == pytest.approx(1, abs=1e-5)
    assert sqm_to_mu(10000) == pytest.approx(15)
    assert sqm_to_mu(0) == 0
    assert sqm_to_mu(1000) == pytest.approx(1.5)


def test_format_mu():
    assert format_mu(1000) == "1.50"
    assert format_mu(666.67) == "1.00"
    assert format_mu(0) == "0.00"
    assert format_mu(-0.0) == "0.00"
    # 30 m² = 0.045 亩: half-up gives 0.05, where round(float, 2) would give 0.04.
    assert format_mu(30) == "0.05"
    assert format_mu(6666.67) == "10.00"


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf")])
def test_area_rejects_negative_and_non_finite(value):
    raises("area", sqm_to_mu, value)
    raises("area", format_mu, value)

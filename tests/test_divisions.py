"""Division codes and collectives (发包方)."""

from __future__ import annotations

import pytest

from app.core.errors import DomainError
from app.divisions.loader import LoadReport, bundled_file, find_quirks, read_rows
from app.divisions.services import create_collective


def test_shixing_has_its_towns_and_villages():
    report = LoadReport()
    rows = read_rows(bundled_file("440222"), report)
    levels = [r["level"] for r in rows]
    assert levels.count("county") == 1
    assert levels.count("town") == 10
    assert levels.count("village") == 129


def test_known_quirks_are_reported_not_hidden():
    rows = read_rows(bundled_file("440222"), LoadReport())
    quirks = find_quirks(rows)
    by_kind = {}
    for q in quirks:
        by_kind.setdefault(q.kind, set()).add(q.code)
    assert by_kind["name_mismatch"] == {"440222106001"}  # 隘了镇居委会 under 隘子镇
    assert by_kind["doubled_suffix"] == {"440222107206"}  # 新村委会村委会
    assert by_kind["duplicate_name"] == {"440222104202", "440222106213"}  # 瑶民村委会 twice
    assert "440222204000" in by_kind["missing_coordinates"]  # 深渡水乡
    names = {r["code"]: r["name"] for r in rows}
    assert names["440222106001"] == "隘了镇居委会"  # kept as published


@pytest.mark.parametrize(
    "fbfbm,code",
    [
        ("4402221002050", "length"),
        ("4402221002050A", "digits"),
        ("44022210000001", "fbfbm_village"),  # a town's code, not a village
        ("44022299999900", "fbfbm_village"),
        ("44022210020501", "fbfbm_taken"),  # collective A exists
    ],
)
def test_collective_code_is_checked(ctx, fbfbm, code):
    with pytest.raises(DomainError) as err:
        create_collective(fbfbm, "测试组")
    assert err.value.code == code
    assert err.value.message  # a sentence for the user, in Chinese by default


def test_collective_credit_code_must_be_a_rural_collective(ctx):
    with pytest.raises(DomainError) as err:
        create_collective("44022210020509", "测试组", uscc="91350100M000100Y43")
    assert err.value.field == "uscc"
    c = create_collective("44022210020509", "测试组", share_cap_percent=3)
    assert c.group_number == "09" and c.village.name == "东湖坪村委会"

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
        ("44022210000001", "fbfbm_township_group"),  # a township collective ends in 00
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


def _uscc(first17: str) -> str:
    from app.core.codes import uscc_check_char

    return first17 + uscc_check_char(first17)


def test_township_collective_can_be_registered_with_an_n3_code(ctx):
    """GB 32100: a township-level 发包方 is the township's 12-digit code + 00, its USCC N3."""
    code = _uscc("N3440222MF0000001")
    c = create_collective("44022210000000", "太平镇农村集体经济联合总社", uscc=code)
    assert c.level == "township" and c.uscc == code
    assert c.village.level == "town"


@pytest.mark.parametrize(
    "fbfbm,good,wrong",
    [
        ("44022210000000", "N3", "N2"),  # township
        ("44022210020500", "N2", "N3"),  # village (group 00)
        ("44022210020509", "N1", "N2"),  # villager group
    ],
)
def test_collective_credit_code_must_match_its_level(ctx, fbfbm, good, wrong):
    with pytest.raises(DomainError) as err:
        create_collective(fbfbm, "测试集体", uscc=_uscc(wrong + "440222MF0000002"))
    assert err.value.field == "uscc" and err.value.code == "level"
    assert good in err.value.message and wrong in err.value.message
    c = create_collective(fbfbm, "测试集体", uscc=_uscc(good + "440222MF0000002"))
    assert c.level == {"N1": "group", "N2": "village", "N3": "township"}[good]


def test_county_page_counts_a_township_collective_in_its_township(ctx, client, auth):
    import re

    from app.audit import trail
    from app.extensions import db

    def registered() -> int:
        page = client.get("/county").get_data(as_text=True)
        row = next(line for line in page.splitlines() if ">440222100000<" in line)
        return int(re.findall(r'<td[^>]*class="num"[^>]*>(\d+)</td>', row)[-1])

    auth.login("bureau")
    before = registered()
    with trail.acting(trail.AuditContext(actor="tester", role="system")):
        create_collective("44022210000000", "太平镇农村集体经济联合总社")
        db.session.commit()
    assert registered() == before + 1

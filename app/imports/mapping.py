"""Which column of a file feeds which registry field: NY/T 2539 names, or the user's mapping.

A file in the national layout (NY/T 2539-2016, 农村土地承包经营权确权登记数据库规范) maps itself:
its DK layer has DKBM, DKMC, … and its CBF / CBF_JTCY tables CBFBM, CYXM, …. Any other layout is
mapped by the user, target=source (``--map DKBM=code,DKMC=name`` on the command line, a form in the
web UI), always naming the NY/T field on the left so one vocabulary is used everywhere.

Units: NY/T 2539 keeps SCMJ (实测面积) in m² and SCMJM in 亩; this module reads HTMJ the same way
(HTMJ m², HTMJM 亩). The registry stores m² (the master value); 亩 columns are only used when the
m² column is absent.
"""

from __future__ import annotations

from app.imports.readers import ImportRefused

#: DK layer: NY/T field -> (staging key, Chinese label, English label)
PARCEL_FIELDS: dict[str, tuple[str, str, str]] = {
    "DKBM": ("dkbm", "地块编码", "Plot code"),
    "DKMC": ("name", "地块名称", "Plot name"),
    "DKLB": ("land_class", "地块类别", "Land class"),
    "TDLYLX": ("land_use", "土地利用类型", "Land use"),
    "SFJBNT": ("is_basic_farmland", "是否基本农田", "Basic farmland"),
    "SCMJ": ("measured_area_m2", "实测面积（平方米）", "Measured area (m²)"),
    "SCMJM": ("measured_area_mu", "实测面积（亩）", "Measured area (mu)"),
    "HTMJ": ("contract_area_m2", "合同面积（平方米）", "Contract area (m²)"),
    "HTMJM": ("contract_area_mu", "合同面积（亩）", "Contract area (mu)"),
    "DKDZ": ("east", "东至", "East boundary"),
    "DKNZ": ("south", "南至", "South boundary"),
    "DKXZ": ("west", "西至", "West boundary"),
    "DKBZ": ("north", "北至", "North boundary"),
    "CBFBM": ("cbfbm", "承包方编码", "Household code"),
}
PARCEL_REQUIRED = ("DKBM",)

#: CBF table (承包方)
HOUSEHOLD_FIELDS: dict[str, tuple[str, str, str]] = {
    "CBFBM": ("cbfbm", "承包方编码", "Household code"),
    "CBFMC": ("name", "承包方名称", "Household name"),
    "CBFZJHM": ("head_id_number", "承包方证件号码", "Head's ID number"),
    "CBFCYSL": ("member_count", "成员数量", "Number of members"),
    "CBFDZ": ("address", "承包方地址", "Address"),
}
HOUSEHOLD_REQUIRED = ("CBFBM", "CBFMC")

#: CBF_JTCY table (家庭成员)
MEMBER_FIELDS: dict[str, tuple[str, str, str]] = {
    "CBFBM": ("cbfbm", "承包方编码", "Household code"),
    "CYXM": ("name", "成员姓名", "Member name"),
    "CYZJHM": ("id_number", "成员证件号码", "ID number"),
    "YHZGX": ("relation", "与户主关系", "Relation to head"),
    "SFGYR": ("is_co_holder", "是否共有人", "Co-holder"),
}
MEMBER_REQUIRED = ("CBFBM", "CYXM", "CYZJHM", "YHZGX")


def parse_map_option(text: str | None, targets: dict[str, tuple[str, str, str]]) -> dict[str, str]:
    """``"DKBM=code,DKMC=name"`` -> {"DKBM": "code", "DKMC": "name"}."""
    out: dict[str, str] = {}
    if not text:
        return out
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        target, sep, source = part.partition("=")
        target, source = target.strip().upper(), source.strip()
        if not sep or not source or target not in targets:
            names = ", ".join(targets)
            raise ImportRefused(
                "bad_mapping",
                f"字段对应关系“{part}”无效：应写作 目标字段=文件字段，目标字段为 {names} 之一",
                f"Field mapping {part!r} is not valid: write TARGET=FILE_FIELD with TARGET one of "
                f"{names}",
            )
        out[target] = source
    return out


def resolve(
    file_fields: list[str],
    user_map: dict[str, str] | None,
    targets: dict[str, tuple[str, str, str]],
) -> dict[str, str]:
    """The mapping {NY/T field: file field} to use: the user's choices over same-name matches.

    Same-name matching ignores case (shapefiles often come upper case, GeoPackages lower case).
    A user mapping that names a field the file does not have is refused, listing what it has.
    """
    by_lower = {f.lower(): f for f in file_fields}
    mapping = {t: by_lower[t.lower()] for t in targets if t.lower() in by_lower}
    for target, source in (user_map or {}).items():
        if source == "":
            mapping.pop(target, None)
            continue
        actual = by_lower.get(source.lower())
        if actual is None:
            shown = ", ".join(file_fields[:30])
            raise ImportRefused(
                "mapping_field",
                f"文件中没有字段 {source}（用于 {target}）。文件的字段：{shown}",
                f"The file has no field {source} (mapped to {target}). Its fields: {shown}",
            )
        mapping[target] = actual
    return mapping


def missing_required(mapping: dict[str, str], required: tuple[str, ...]) -> list[str]:
    return [t for t in required if t not in mapping]

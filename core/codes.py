"""码表 shared by the registry (学籍) and registration (报名) imports, pages and exports. No database."""
from __future__ import annotations

import re
import unicodedata

ID_CARD = "居民身份证"
ID_TYPES = (ID_CARD, "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "港澳台居民居住证", "护照",
            "外国人永久居留身份证", "军官证")
GENDERS = ("男", "女")

# GB 3304 民族 codes 01–56.
ETHNICITIES = (
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族",
    "满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族",
    "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族",
    "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族",
    "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族", "塔塔尔族",
    "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族",
)
ETHNICITY_CODES = {f"{i:02d}": name for i, name in enumerate(ETHNICITIES, start=1)}
OTHER_ETHNICITY = "其他"  # foreign candidates, 外籍

# 文化程度, highest first: §20.5.2 "文化程度低的不能覆盖文化程度高的".
EDUCATION_LEVELS = ("博士研究生", "硕士研究生", "大学本科", "大学专科", "中等专科", "职业高中", "技工学校",
                    "普通高中", "初中", "小学", "其他")
EDUCATION_RANK = {name: len(EDUCATION_LEVELS) - i for i, name in enumerate(EDUCATION_LEVELS)}  # 其他 = 1 (lowest)

OCCUPATIONS = ("在校学生", "教师", "公务员", "企事业单位职工", "军人", "自由职业", "待业", "其他")

CHANNELS = {"group": "集体报名", "individual": "考生注册"}

_OTHER_ID = re.compile(r"[A-Z0-9()\-]{4,30}")


def education_rank(name: str | None) -> int:
    """0 for unknown/empty, else higher = more education."""
    return EDUCATION_RANK.get(name or "", 0)


def normalise_other_id(text: str) -> str:
    """An ID number of a type other than 居民身份证: half-width, no spaces, upper case, 4–30 of A–Z 0–9 ( ) -."""
    t = re.sub(r"[\s\u3000]+", "", unicodedata.normalize("NFKC", str(text))).upper()
    if not _OTHER_ID.fullmatch(t):
        raise ValueError(f"证件号码“{text}”格式不正确：应为 4–30 位字母、数字、括号或“-”")
    return t

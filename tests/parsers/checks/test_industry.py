"""产业类别 tags against the tag list of 沪人社职〔2025〕76号 附件1 填表说明 5."""

from __future__ import annotations

import pytest

from zhengji.notices.registry import IndustryTags, load_registry
from zhengji.parsers.checks.industry import bad_tags, split_tags


@pytest.fixture(scope="module")
def tags() -> IndustryTags:
    tags = load_registry().notice("沪人社职〔2025〕76号").industry_tags
    assert tags is not None
    return tags


def test_split_by_notice_separator_and_common_others() -> None:
    assert split_tags("集成电路、人工智能，生物医药;汽车 高端装备") == [
        "集成电路",
        "人工智能",
        "生物医药",
        "汽车",
        "高端装备",
    ]
    assert split_tags(["集成电路、人工智能", "养老护理"]) == ["集成电路", "人工智能", "养老护理"]
    assert split_tags("其他产业： 低空经济") == ["其他产业：低空经济"]
    assert split_tags(None) == []


@pytest.mark.parametrize(
    "value",
    [
        "集成电路、人工智能",
        "养老护理",
        "低空经济",
        "其他产业：低空经济",
        "“3+6”产业：集成电路",
        ["时尚消费品", "文化创意"],
    ],
)
def test_acceptable_tags(value: str | list[str], tags: IndustryTags) -> None:
    assert bad_tags(value, tags) == []


@pytest.mark.parametrize("label", ["3+6产业", "“3+6”产业", "两大民生产业", "其他产业", "民生产业", "其他产业："])
def test_group_label_written_as_tag(label: str, tags: IndustryTags) -> None:
    found = bad_tags(f"人工智能、{label}", tags)
    assert [bad.tag for bad in found] == [label]
    assert found[0].group_label


def test_free_text_under_a_listed_group_is_outside_the_list(tags: IndustryTags) -> None:
    found = bad_tags("3+6产业：低空经济", tags)
    assert len(found) == 1 and not found[0].group_label

"""The notices as data: what each file says, and the 202-row catalog of 沪人社职〔2025〕76号 附件2."""

from __future__ import annotations

import pytest

from zhengji.notices.registry import Center, FormId, Track, load_registry


def test_five_notices_with_their_numbers_and_dates() -> None:
    registry = load_registry()
    found = {notice.number: notice.date.isoformat() for notice in registry.notices}
    assert found == {
        "沪人社职〔2025〕77号": "2025-03-20",
        "沪人社职〔2024〕319号": "2024-09-25",
        "粤人社函〔2026〕159号": "2026-06-02",
        "沪人社职〔2025〕140号": "2025-05-12",
        "沪人社职〔2025〕76号": "2025-03-20",
    }


def test_mailboxes_are_the_two_the_notices_name() -> None:
    assert load_registry().mailboxes() == ["yanfa312@126.com", "jnzx_zzyfk@gd.gov.cn"]


def test_every_track_has_a_notice() -> None:
    assert set(load_registry().tracks()) == set(Track)


def test_shanghai_new_occupation_wants_both_forms_in_pdf_and_word() -> None:
    [(notice, rule)] = load_registry().track_rules("new_occupation")
    assert notice.number == "沪人社职〔2025〕77号"
    assert {doc.form: doc.formats for doc in rule.documents} == {
        FormId.new_occupation_proposal: ["pdf", "word"],
        FormId.new_occupation_summary: ["pdf", "word"],
    }


def test_guangdong_wants_word_and_waives_sections_for_adjustment() -> None:
    [(notice, rule)] = load_registry().track_rules("gd_new_occupation")
    assert notice.province == "guangdong"
    assert rule.mailbox == "jnzx_zzyfk@gd.gov.cn"
    proposal = next(doc for doc in rule.documents if doc.form == FormId.new_occupation_proposal)
    assert proposal.formats == ["word"]
    assert proposal.optional_sections == "error"
    assert proposal.sections_waived_for == ["adjustment"]
    summary = next(doc for doc in rule.documents if doc.form == FormId.new_occupation_summary)
    assert summary.required is False


def test_industry_tags_of_the_recommendation_form() -> None:
    tags = load_registry().notice("沪人社职〔2025〕76号").industry_tags
    assert tags is not None
    assert tags.listed_tags() == {
        "集成电路", "生物医药", "人工智能", "电子信息", "生命健康", "汽车", "高端装备", "先进材料", "时尚消费品",
        "养老护理", "家政服务",
    }  # fmt: skip
    assert "3+6产业" in tags.group_labels()
    assert "两大民生产业" in tags.group_labels()


def test_catalog_has_exactly_202_rows_in_order() -> None:
    catalog = load_registry().catalog()
    assert len(catalog) == 202
    assert [entry.seq for entry in catalog.entries] == list(range(1, 203))
    assert catalog.source == "沪人社职〔2025〕76号 附件2"


@pytest.mark.parametrize(
    ("seq", "code", "name", "occupation", "levels"),
    [
        (1, "3-01-01-02", "政务服务办事员", "政务服务办事员", (5, 4, 3)),
        (13, "4-02-04-06", "无人机驾驶员", "无人机驾驶员", (5, 2, 1)),
        (31, "4-04-04-02", "网络与信息安全管理师（数据安全安全管理师）", "网络与信息安全管理师", (4, 3, 2, 1)),
        (37, "4-04-05-05", "人工智能训练师", "人工智能训练师", (5, 4, 3, 2, 1)),
        (38, "4-04-05-06", "区块链应用操作员", "区块链应用操作员", (3,)),
        (85, "4-09-09-00", "有害生物防制员", "有害生物防制员", (5, 4, 3, 2)),
        (113, "4-12-01-01", "汽车维修工(汽车电器维修工)", "汽车维修工", (5, 4, 3, 2, 1)),
        (133, "4-14-05-01", "社会体育指导员(登山(山地户外))", "社会体育指导员", (5, 4)),
        (202, "6-31-07-03", "工业机器人系统操作员", "工业机器人系统操作员", (4, 3)),
    ],
)
def test_catalog_spot_checks_against_the_notice(
    seq: int, code: str, name: str, occupation: str, levels: tuple[int, ...]
) -> None:
    entry = load_registry().catalog().entries[seq - 1]
    assert (entry.seq, entry.code, entry.name, entry.occupation, entry.levels) == (seq, code, name, occupation, levels)


def test_special_ability_rows_of_the_catalog() -> None:
    catalog = load_registry().catalog()
    special = [entry for entry in catalog.entries if entry.special_ability]
    assert [(entry.code, entry.name) for entry in special] == [
        ("4-04-05-Z1", "人工智能数据标注"),
        ("4-04-05-Z2", "人工智能模型运用"),
    ]
    assert all(entry.levels == () for entry in special)


def test_catalog_find_by_code_and_work_type_and_by_name() -> None:
    catalog = load_registry().catalog()
    by_code = catalog.find("4-12-01-01", "汽车维修工", "汽车电器维修工")
    assert by_code is not None and by_code.seq == 113
    # Full-width brackets and spaces as applicants type them match the half-width ones of the notice.
    by_name = catalog.find(None, "汽车维修工", "汽车 电器维修工")
    assert by_name is not None and by_name.seq == 113
    assert catalog.find("4-04-05-05", None, None) is not None
    assert catalog.find("4-12-01-01", "汽车维修工", "新能源汽车维修工") is None
    assert catalog.find("9-99-99-99", "不存在的职业", None) is None


def test_each_mailbox_has_one_center_with_the_notices_own_contact_facts() -> None:
    registry = load_registry()
    owners = {mailbox: registry.center_of_mailbox(mailbox) for mailbox in registry.mailboxes()}
    assert {mailbox: center.name for mailbox, center in owners.items() if center} == {
        "yanfa312@126.com": "上海市职业技能鉴定中心",
        "jnzx_zzyfk@gd.gov.cn": "广东省职业技能服务指导中心",
    }
    assert registry.center_of_mailbox("JNZX_ZZYFK@gd.gov.cn ") == owners["jnzx_zzyfk@gd.gov.cn"]
    assert "020-83305821" in owners["jnzx_zzyfk@gd.gov.cn"].contact  # type: ignore[union-attr]


def test_a_contact_fact_no_notice_prints_is_refused() -> None:
    center = load_registry().centers[1].model_dump()
    center["contact"] += "；联系电话：020-12345678"
    with pytest.raises(ValueError, match="020-12345678"):
        Center.model_validate(center)


def test_the_receiving_mailbox_decides_the_voice_then_the_track() -> None:
    registry = load_registry()
    assert registry.voice(["yanfa312@126.com"], "gd_new_occupation").province == "shanghai"
    assert registry.voice(["jnzx_zzyfk@gd.gov.cn"], "new_occupation").province == "guangdong"
    assert registry.voice([], "gd_new_occupation").province == "guangdong"  # loose files: the track's center
    assert registry.voice(["clerk@example.com"], None).province == "shanghai"
    both = ["yanfa312@126.com", "jnzx_zzyfk@gd.gov.cn"]
    assert registry.voice(both, "gd_new_occupation").province == "guangdong"


def test_organisations_apply_through_the_system_and_the_mailbox_is_for_questions() -> None:
    registry = load_registry()
    for track in ("evaluator_org", "special_ability_institution"):
        [(_, rule)] = registry.track_rules(track)
        assert (rule.mailbox_role, rule.channel) == ("consult", "上海市人力资源和社会保障自助经办系统")
    [(_, rule)] = registry.track_rules("special_ability_project")
    assert (rule.mailbox_role, rule.channel) == ("submit", None)

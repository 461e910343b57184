"""Canonical correct ``fields`` for every form id, written as an applicant would fill the forms.

Each function returns a fresh dict (tests mutate them). The checks must give no finding on any of them; other
helpers may reuse them as the expected fields of their extractors' fixtures.
"""

from __future__ import annotations

from typing import Any

BACKGROUND = (
    "随着本市低空经济加快发展，无人机物流配送、城市空中交通等新业态不断涌现，低空飞行器的运行调度、航线规划、"
    "空域协同和安全监控形成了大量专门岗位。现有《大典》中的无人机驾驶员侧重单机操控，难以覆盖多机协同调度、"
    "运行数据分析和应急处置等工作内容，用人单位普遍反映招聘和培养缺少统一的职业规范。"
)
ROLE = (
    "该职业保障低空飞行活动安全有序运行，提升低空物流和城市管理的效率，带动相关制造、服务产业发展，创造新的就业岗位。"
)
TECH_CHANGE = (
    "低空飞行服务系统、北斗导航、5G 通信和人工智能调度算法的应用，使从业方式由单机人工操控转向平台化、"
    "集群化的运行管理，对从业人员的数据分析和协同处置能力提出了更高要求。"
)
PROSPECTS = "预计未来三年本市低空运行管理岗位需求年均增长 30% 以上，职业发展前景广阔。"


def proposal_shanghai() -> dict[str, Any]:
    """新职业信息建议书 (沪人社职〔2025〕77号 附件1), every section filled."""
    return {
        "province": "shanghai",
        "category": "new_occupation",
        "category_ticks": 1,
        "name": "低空运行调度员",
        "alt_names": ["低空飞行调度员", "无人机运行管理员"],
        "definition": "在低空飞行服务平台上，从事低空飞行器运行计划编排、航线调度、飞行监控和应急处置的人员。",
        "related_occupations": (
            "与无人机驾驶员（4-02-04-06）相关，区别在于本职业负责多机运行的调度与监控，不直接操控飞行器。"
        ),
        "industry": "航空运输业",
        "tasks": [
            {"content": "编排低空飞行器运行计划，申报飞行空域", "tools": "低空飞行服务平台", "techniques": "空域申报"},
            {"content": "监控飞行状态，调度航线和起降点", "tools": "运行监控系统", "techniques": "多机协同调度"},
            {"content": "处置飞行异常和突发事件", "tools": "应急指挥终端", "techniques": "应急处置"},
        ],
        "requirements": {
            "ethics": "遵守航空安全法规，保守飞行数据秘密。",
            "education": "高中毕业（或同等学力）",
            "special_ability": "具有较强的空间感和应变能力。",
            "physique": "身体健康，视力良好。",
            "teamwork": "能与飞行、地勤和空管人员协同工作。",
            "safety": "掌握低空飞行安全和应急处置规定。",
        },
        "workforce": {
            "national_count": "约5万人",
            "distribution": "主要分布在上海、深圳、广州等低空经济试点城市。",
            "supply_demand": "近一年需求持续增长，人才供给不足。",
            "salary": "月薪 8000 元至 15000 元。",
            "data_source": "行业协会调研及招聘平台统计。",
        },
        "employers": [
            {"name": "上海低空物流科技有限公司", "address": "上海市浦东新区张江路 100 号", "phone": "021-58881234"},
        ],
        "analysis": {"background": BACKGROUND, "role": ROLE, "tech_change": TECH_CHANGE, "prospects": PROSPECTS},
        "schools": [
            {"name": "上海民航职业技术学院", "major": "无人机应用技术", "courses": "飞行原理、空域管理、运行调度"}
        ],
        "training_orgs": [
            {"name": "上海航空培训中心", "address": "上海市长宁区虹桥路 2550 号", "phone": "021 6268 5678"}
        ],
        "laws": "《无人驾驶航空器飞行管理暂行条例》第二章有关飞行空域和飞行活动管理的规定。",
        "foreign": {
            "regions": ["美国", "欧盟"],
            "similar_names": ["UAS Traffic Manager", "Drone Operations Coordinator"],
            "main_tasks": "1. 编排运行计划 2. 监控飞行 3. 处置异常",
            "requirements": "须取得相应的运行管理资质。",
            "standards": "FAA Part 107 相关运行要求。",
            "training": "航空院校开设无人机运行管理课程。",
        },
        "contact": {
            "address": "上海市浦东新区张江路 100 号",
            "person": "王敏",
            "phone": "13812345678",
            "email": "wangmin@example.com.cn",
        },
        "other": None,
        "signer": "上海低空物流科技有限公司",
        "fill_date": "2025-06-22",
    }


def proposal_guangdong() -> dict[str, Any]:
    """新职业建议书 (粤人社函〔2026〕159号 附件1): the Shanghai content under Guangdong's form, a 新工种."""
    fields = proposal_shanghai()
    fields.update(
        province="guangdong",
        category="new_work_type",
        signer="广州低空运营服务有限公司",
        fill_date="2026-07-15",
    )
    fields["contact"] = {
        "address": "广州市天河区天河路 200 号",
        "person": "陈晓",
        "phone": "020-83305821",
        "email": "chenxiao@example.cn",
    }
    return fields


def summary_shanghai() -> dict[str, Any]:
    """新职业汇总表 (77号 附件2): only 序号, 新职业名称, 新职业建议单位."""
    return {
        "province": "shanghai",
        "recommender": "上海市浦东新区人力资源和社会保障局",
        "contact_person": "李华",
        "contact_phone": "021-50281234",
        "fill_date": "2025-06-25",
        "rows": [{"seq": 1, "name": "低空运行调度员", "proposer": "上海低空物流科技有限公司"}],
        "opinion": "同意推荐。",
    }


def summary_guangdong() -> dict[str, Any]:
    """新职业信息汇总表（广州市）(159号 附件2)."""
    return {
        "province": "guangdong",
        "recommender": "广州市人力资源和社会保障局",
        "contact_person": "陈晓",
        "contact_phone": "020-83305821",
        "fill_date": "2026-08-01",
        "rows": [
            {
                "seq": 1,
                "category": "new_work_type",
                "name": "低空运行调度员",
                "alt_names": ["低空飞行调度员"],
                "definition": "在低空飞行服务平台上，从事低空飞行器运行计划编排、航线调度和飞行监控的人员。",
                "related_occupations": "无人机驾驶员（4-02-04-06）",
                "industry": "航空运输业",
                "proposer": "广州低空运营服务有限公司",
                "contact": "陈晓 13912345678",
                "city_reviewed": True,
            }
        ],
        "opinion": None,
    }


def recommendation() -> dict[str, Any]:
    """社会化职业技能等级认定职业（工种）推荐表 (76号 附件1): two occupations not yet in the catalog."""
    return {
        "recommender": "上海市经济和信息化委员会",
        "contact_person": "张伟",
        "contact_phone": "021-23111234",
        "fill_date": "2025-06-23",
        "rows": [
            {
                "seq": 1,
                "code": "6-18-01-04",
                "occupation": "磨工",
                "work_type": None,
                "standard_name": "磨工国家职业技能标准",
                "standard_version": "2018年版",
                "shortage_listed": True,
                "industries": ["高端装备", "汽车"],
                "estimated_count": 1500,
                "reason": "本市高端装备产业规划提出加强精密加工技能人才培养，调研显示企业需求较大。",
            },
            {
                "seq": 2,
                "code": "6-18-01-05",
                "occupation": "镗工",
                "work_type": None,
                "standard_name": "镗工国家职业技能标准",
                "standard_version": "2019年版",
                "shortage_listed": False,
                "industries": ["高端装备", "其他产业：船舶制造"],
                "estimated_count": 600,
                "reason": "行业调研摸底。",
            },
        ],
    }


def recommendation_letter() -> dict[str, Any]:
    """关于推荐（申报单位全称）成为评价机构的函 (76号 附件3), the fixed paragraph unchanged."""
    return {
        "applicant": "上海智能制造职业技能评价有限公司",
        "occupations": ["工业机器人系统运维员", "电工"],
        "recommender": "上海市经济和信息化委员会",
        "fill_date": "2025-06-24",
        "altered_fixed_paragraph": False,
    }


def special_summary() -> dict[str, Any]:
    """专项职业能力考核项目及考核机构推荐汇总表 (140号 附件1), with a real credit code (华为技术有限公司)."""
    return {
        "recommender": "上海市经济和信息化委员会",
        "contact_person": "赵丽",
        "contact_phone": "021-23112345",
        "fill_date": "2025-05-26",
        "rows": [
            {
                "seq": 1,
                "domain": "软件和信息技术服务人员",
                "domain_code": "4-04-05",
                "project": "智能体应用开发",
                "industries": ["人工智能"],
                "institution": "华为技术有限公司",
                "credit_code": "914403001922038216",
                "estimated_count": 1000,
                "reason": "行业规划",
            }
        ],
    }


def special_proposal() -> dict[str, Any]:
    """专项职业能力考核项目及考核机构建议书 (140号 附件2)."""
    return {
        "project_section": "智能体应用开发项目面向软件和信息技术服务从业人员，考核运用智能体平台开发应用的能力。",
        "institution_section": "推荐单位长期从事人工智能应用培训，具备考核场地和专家团队。",
    }


def special_content() -> dict[str, Any]:
    """主要考核内容 (140号 附件3), the notice's own sample (40% + 20% + 40%)."""
    return {
        "project": "人工智能模型运用",
        "definition": "运用大模型工具，在智能体平台根据任务场景撰写提示词，创建和开发智能体的能力。",
        "ability_name": "人工智能模型运用",
        "domain": "软件和信息技术服务人员",
        "tasks": [
            {
                "task": "（一）提示词撰写",
                "norms": "1. 能掌握提示词工程的使用技巧 2. 能撰写适用于不同任务场景的大模型提示词",
                "knowledge": "1. 提示词工程的基本原理和实际作用的相关知识",
                "weight": 40,
            },
            {
                "task": "（二）大模型工具使用",
                "norms": "1. 能使用大模型生成文本、图像、音频类型数据",
                "knowledge": "1. 大模型的基本概念、工作原理和关键技术的相关知识",
                "weight": 20,
            },
            {
                "task": "（三）智能体生成",
                "norms": "1. 能使用智能体平台 2. 能设计智能体的场景化解决方案",
                "knowledge": "1. 智能体平台的基本概念、工作原理和关键技术的相关知识",
                "weight": 40,
            },
        ],
    }

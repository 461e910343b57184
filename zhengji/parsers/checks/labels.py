"""The forms' own Chinese labels, by field path, so that a message names what the applicant sees.

Paths are the contract's field keys; a list's columns are written ``list.column`` (``rows.code``,
``employers.phone``). Guangdong's 建议书 and 汇总表 print other labels for some fields (职业（工种）名称 for
新职业名称); they override the Shanghai label where they differ.
"""

from __future__ import annotations

from zhengji.notices.registry import FormId
from zhengji.parsers.titles import form_title

_PROPOSAL = {
    "category": "新职业类别",
    "name": "新职业名称",
    "alt_names": "备选名称",
    "definition": "新职业定义",
    "related_occupations": "与相关职业的关系",
    "industry": "所属行业",
    "tasks": "主要工作任务",
    "tasks.content": "内容",
    "tasks.tools": "特有工具/设备",
    "tasks.techniques": "专门技术",
    "requirements": "从业要求",
    "requirements.ethics": "职业操守与职业道德",
    "requirements.education": "基本文化程度",
    "requirements.special_ability": "特殊能力",
    "requirements.physique": "身体素质与体能",
    "requirements.teamwork": "人际协作",
    "requirements.safety": "职业安全",
    "workforce": "从业人员情况",
    "workforce.national_count": "全国从业人数",
    "workforce.distribution": "地区分布情况",
    "workforce.supply_demand": "最近一年劳动力市场供需情况",
    "workforce.salary": "薪酬情况",
    "workforce.data_source": "数据来源",
    "employers": "吸纳从业人员较多的用人单位",
    "employers.name": "单位名称",
    "employers.address": "单位地址",
    "employers.phone": "联系电话",
    "analysis.background": "新职业产生背景",
    "analysis.role": "新职业在经济社会发展中的作用",
    "analysis.tech_change": "与新职业直接相关的技术和从业方式的发展变化情况",
    "analysis.prospects": "新职业的发展前景",
    "schools": "学校教育情况",
    "schools.name": "院校名称",
    "schools.major": "专业名称",
    "schools.courses": "主干课程",
    "training_orgs": "培训机构情况",
    "training_orgs.name": "名称",
    "training_orgs.address": "地址",
    "training_orgs.phone": "联系电话",
    "laws": "有关法律法规情况",
    "foreign": "国外相关情况",
    "foreign.regions": "国家或地区",
    "foreign.similar_names": "同类职业名称",
    "foreign.main_tasks": "主要工作内容",
    "foreign.requirements": "对从业人员要求",
    "foreign.standards": "相关职业标准要求",
    "foreign.training": "专业教育与职业培训情况",
    "contact.address": "通讯地址",
    "contact.person": "联系人",
    "contact.phone": "联系电话",
    "contact.email": "电子信箱",
    "other": "其他需要说明的情况",
    "signer": "建议人（盖章或签字）",
    "fill_date": "填写时间",
}
_PROPOSAL_GD = {
    "category": "申报类别",
    "name": "职业（工种）名称",
    "definition": "职业（工种）定义",
    "related_occupations": "与相关职业（工种）的关系",
    "analysis.background": "产生背景",
    "analysis.role": "在经济社会发展中的作用",
    "analysis.tech_change": "与该职业（工种）直接相关的技术和从业方式的发展变化情况",
    "analysis.prospects": "发展前景",
    "foreign.similar_names": "同类职业（工种）名称",
    "foreign.standards": "相关职业（工种）标准情况",
    "foreign.training": "专业教育与职业（工种）培训情况",
    "signer": "申报单位/个人（盖章或签字）",
}
_SUMMARY = {
    "recommender": "推荐单位（加盖公章）",
    "contact_person": "联系人",
    "contact_phone": "联系电话",
    "fill_date": "推荐单位意见的日期",
    "rows": "推荐的新职业",
    "rows.name": "新职业名称",
    "rows.proposer": "新职业建议单位",
    "opinion": "推荐单位意见",
}
_SUMMARY_GD = {
    "recommender": "填表人及联系方式（单位盖章）",
    "contact_person": "填表人",
    "contact_phone": "联系方式",
    "fill_date": "填报时间",
    "rows": "汇总的职业（工种）",
    "rows.category": "申报类别",
    "rows.name": "职业（工种）名称",
    "rows.alt_names": "备选名称",
    "rows.definition": "职业（工种）定义",
    "rows.related_occupations": "与相关职业（工种）的关系",
    "rows.industry": "所属行业",
    "rows.proposer": "申报单位",
    "rows.contact": "联系人及电话",
    "rows.city_reviewed": "地市是否有初审",
}
_RECOMMENDATION = {
    "recommender": "推荐单位（加盖公章）",
    "contact_person": "联系人",
    "contact_phone": "联系方式",
    "fill_date": "填表日期",
    "rows": "推荐的职业（工种）",
    "rows.code": "职业编码",
    "rows.occupation": "职业",
    "rows.work_type": "工种",
    "rows.standard_name": "国家职业标准名称",
    "rows.standard_version": "国家职业标准版本",
    "rows.shortage_listed": "是否已纳入急需紧缺职业目录",
    "rows.industries": "产业类别",
    "rows.estimated_count": "预计评价人次",
    "rows.reason": "推荐理由",
}
_LETTER = {
    "applicant": "申报单位全称",
    "occupations": "职业（工种）",
    "recommender": "主管部门（盖章）",
    "fill_date": "落款日期",
    "altered_fixed_paragraph": "此段请勿更改",
}
_SPECIAL_SUMMARY = {
    "recommender": "推荐单位（加盖公章）",
    "contact_person": "联系人",
    "contact_phone": "联系电话",
    "fill_date": "推荐意见的日期",
    "rows": "推荐的考核项目",
    "rows.domain": "所属领域",
    "rows.domain_code": "所属领域代码",
    "rows.project": "项目名称",
    "rows.industries": "产业类别",
    "rows.institution": "拟承担评价任务的考核机构",
    "rows.credit_code": "统一社会信用代码",
    "rows.estimated_count": "预计考核人次",
    "rows.reason": "推荐理由",
}
_SPECIAL_PROPOSAL = {
    "project_section": "考核项目推荐情况",
    "institution_section": "拟承担评价任务的考核机构推荐情况",
}
_SPECIAL_CONTENT = {
    "project": "专项职业能力考核项目名称",
    "definition": "定义",
    "ability_name": "能力名称",
    "domain": "所属领域",
    "tasks": "能力标准与评价内容",
    "tasks.task": "工作任务",
    "tasks.norms": "操作规范",
    "tasks.knowledge": "相关知识",
    "tasks.weight": "考核比重",
}

LABELS: dict[FormId, dict[str, str]] = {
    FormId.new_occupation_proposal: _PROPOSAL,
    FormId.new_occupation_summary: _SUMMARY,
    FormId.skill_level_recommendation: _RECOMMENDATION,
    FormId.evaluator_recommendation_letter: _LETTER,
    FormId.special_ability_summary: _SPECIAL_SUMMARY,
    FormId.special_ability_proposal: _SPECIAL_PROPOSAL,
    FormId.special_ability_content: _SPECIAL_CONTENT,
}
GUANGDONG_LABELS: dict[FormId, dict[str, str]] = {
    FormId.new_occupation_proposal: _PROPOSAL_GD,
    FormId.new_occupation_summary: _SUMMARY_GD,
}


def label(form: FormId, path: str, province: str = "shanghai") -> str:
    """The form's label for ``path``; the path itself if the table lacks it (a bug the tests catch)."""
    if province == "guangdong" and path in GUANGDONG_LABELS.get(form, {}):
        return GUANGDONG_LABELS[form][path]
    return LABELS.get(form, {}).get(path, path)


def has_label(form: FormId, path: str, province: str = "shanghai") -> bool:
    return label(form, path, province) != path


def form_name(form: FormId, province: str = "shanghai") -> str:
    return form_title(form, province)

"""The Chinese words a reviewer reads for zhengji's codes: findings, statuses, tracks, audit actions."""

from __future__ import annotations

from functools import cache

from zhengji.notices.registry import load_registry
from zhengji.storage.status import DECISION_LABELS as DECISION_NAMES
from zhengji.storage.status import STATUS_LABELS, VERDICT_LABELS, Decision, SubmissionStatus, Verdict

CODE_LABELS: dict[str, str] = {
    "unknown_form": "非通知所附表格",
    "unreadable": "文件无法读取",
    "missing_field": "必填项空缺",
    "unchecked_category": "类别勾选有误",
    "too_long": "字数超限",
    "bad_code": "编码有误",
    "already_listed": "已在目录中",
    "bad_industry_tag": "产业类别不规范",
    "bad_credit_code": "统一社会信用代码有误",
    "bad_weights": "考核比重合计不为100%",
    "bad_phone": "电话有误",
    "bad_email": "邮箱有误",
    "bad_date": "日期有误",
    "unsigned": "未盖章或签字",
    "missing_document": "缺少材料",
    "missing_format": "缺少PDF或WORD版",
    "mismatch": "材料之间不一致",
    "outside_window": "不在受理时间内",
    "wrong_mailbox": "发错邮箱",
    "scanned": "扫描件",
    "altered_text": "改动了固定文字",
    "unlocated_field": "系统未定位的栏目",
}

ACTION_LABELS: dict[str, str] = {
    "status": "状态变更",
    "verdict": "系统核验",
    "resubmitted": "补正后重新提交",
    "state": "邮件处理",
    "ignored": "自动邮件，不予回复",
    "failed": "转人工处理",
    "reply_sent": "回复已发出",
    "reply_refused": "回复被对方服务器拒收",
    "reply_suppressed": "回复未发送",
    "reprocess": "重新核验",
    "correction": "更正栏目",
    "decision": "审核决定",
    "note": "备注",
    "assign": "分配审核人",
    "late_exception": "准许逾期提交",
    "late_mail": "发送准许逾期补交通知",
    "staff_add": "新建账号",
    "staff_password": "修改密码",
    "staff_active": "启用或停用账号",
    "template": "修改退回理由模板",
    "track_set": "设定征集事项",
    "not_submission": "标为非申报来信",
    "not_submission_cleared": "撤销“非申报来信”标记",
    "staff_answer": "工作人员答复来信",
}

DECISION_LABELS = {"accept": "通过（予以受理）", "return": "退回修改", "reject": "不予受理"}
DECISION_STATUS = {
    "accept": Decision.accepted,
    "return": Decision.returned,
    "reject": Decision.declined,  # 不予受理 by a person, never the machine's `rejected`
}

# The statuses the queue filters by, in the order a reviewer works through them.
QUEUE_STATUSES = [
    SubmissionStatus.complete,
    SubmissionStatus.unknown,
    SubmissionStatus.incomplete,
    SubmissionStatus.returned,
    SubmissionStatus.accepted,
    SubmissionStatus.rejected,
    SubmissionStatus.declined,
    SubmissionStatus.received,
]


def code_label(code: str) -> str:
    return CODE_LABELS.get(code, code)


def status_label(status: str) -> str:
    try:
        return STATUS_LABELS[SubmissionStatus(status)]
    except ValueError:
        return status


def verdict_label(verdict: str | None) -> str:
    """The machine's verdict as the staff page names it after "系统核验：" (材料齐全, 材料需补正, …)."""
    try:
        return VERDICT_LABELS[Verdict(str(verdict))]
    except ValueError:
        return str(verdict or "")


def decision_label(decision: str | None) -> str:
    """A reviewer's decision as the staff page names it after "审核决定：" (予以受理, 退回修改, 不予受理)."""
    if decision is None:
        return "尚未决定"
    try:
        return DECISION_NAMES[Decision(str(decision))]
    except ValueError:
        return str(decision)


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


@cache
def track_names() -> dict[str, str]:
    """Each track's name as its newest notice gives it, in the registry's order."""
    registry = load_registry()
    names: dict[str, str] = {}
    for track in registry.tracks():
        names[track.value] = registry.track_rules(track)[-1][1].name
    return names


def track_label(track: str) -> str:
    return track_names().get(track, "无法识别的事项" if track == "unknown" else track)

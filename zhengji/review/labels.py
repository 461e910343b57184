"""The Chinese words a reviewer reads for zhengji's codes: findings, statuses, tracks, audit actions."""

from __future__ import annotations

from functools import cache

from zhengji.notices.registry import load_registry
from zhengji.storage.status import STATUS_LABELS, SubmissionStatus

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
    "staff_add": "新建账号",
    "staff_password": "修改密码",
    "staff_active": "启用或停用账号",
    "template": "修改退回理由模板",
}

DECISION_LABELS = {"accept": "通过（予以受理）", "return": "退回修改", "reject": "不予受理"}
DECISION_STATUS = {
    "accept": SubmissionStatus.accepted,
    "return": SubmissionStatus.returned,
    "reject": SubmissionStatus.rejected,
}

# The statuses the queue filters by, in the order a reviewer works through them.
QUEUE_STATUSES = [
    SubmissionStatus.complete,
    SubmissionStatus.unknown,
    SubmissionStatus.incomplete,
    SubmissionStatus.in_review,
    SubmissionStatus.returned,
    SubmissionStatus.accepted,
    SubmissionStatus.rejected,
    SubmissionStatus.declined,
    SubmissionStatus.received,
    SubmissionStatus.withdrawn,
]


def code_label(code: str) -> str:
    return CODE_LABELS.get(code, code)


def status_label(status: str) -> str:
    try:
        return STATUS_LABELS[SubmissionStatus(status)]
    except ValueError:
        return status


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

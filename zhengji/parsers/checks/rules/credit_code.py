"""统一社会信用代码 of the 考核机构 in a 专项 推荐汇总表 (填表说明 4: "提供正确的统一社会信用代码")."""

from __future__ import annotations

from zhengji.parsers.checks import credit_code
from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView, is_blank
from zhengji.parsers.model import Finding

_REASONS = {
    credit_code.Problem.length: "位数不对（应为 18 位，现为 {count} 位）",
    credit_code.Problem.character: "含有代码中不使用的字符（代码由数字和除 I、O、S、V、Z 以外的大写字母组成）",
    credit_code.Problem.authority: "前两位（登记管理部门代码和机构类别代码）有误",
    credit_code.Problem.region: "第 3 至 8 位（登记管理机关行政区划码）有误",
    credit_code.Problem.check_digit: "最后一位校验码不符",
}


class CreditCodes(Rule):
    name = "credit_codes"
    code = "bad_credit_code"
    message = "{of}{name}“{value}”{reason}，请对照营业执照或登记证书核对后更正。"

    def __init__(self, key: str = "rows", column: str = "credit_code") -> None:
        self.key = key
        self.column = column

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        findings = []
        for number, row in enumerate(doc.rows(self.key), start=1):
            value = row.get(self.column)
            if is_blank(value):
                continue
            problem = credit_code.problem(str(value))
            if problem is not None:
                reason = _REASONS[problem].format(count=len(credit_code.normalise(str(value))))
                findings.append(
                    self.finding(
                        doc, ctx, self.column, list_key=self.key, row=number, value=str(value).strip(), reason=reason
                    )
                )
        return findings

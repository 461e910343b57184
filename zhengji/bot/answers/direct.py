"""Direct answers: the answer in one line first (可以/不可以/是/不是, the date, the number, the address), then at
most what the question needs, then the clause quoted once.

Each function answers one question act (zhengji/bot/acts.py) for one track from the fact base
(zhengji/bot/facts.py). Where the notices are silent the answer says "通知未作规定" and names the office of the
region asked about; it never pastes a neighbouring rule instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from zhengji.bot.answers.notices import contact_text
from zhengji.bot.facts import Stage, TrackFacts, field_fact, quoted, section_limits, source, track_facts
from zhengji.bot.faq import cite, load_faq
from zhengji.bot.vocabulary import FieldSpec, elsewhere_in
from zhengji.bot.wording import days_text
from zhengji.clock import shanghai_date
from zhengji.notices.calendar import Window, cn_date, cn_window, position, windows
from zhengji.notices.registry import Material, Track, load_registry

YES_NO = re.compile(
    r"吗|(?<![什怎这那多])么|嘛|可以不|能不能|可不可以|是不是|对不对|对吧|行不行|是否|能否|可否|有没有|要不要|需不需要"
)
_ASKS_MAILBOX = re.compile(r"邮箱|邮件|发邮|email|@")
_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+")
_PERSON = re.compile(r"个人|自己|单独|独立|一个人")
_ISSUED = re.compile(
    r"(发|发布|印发|下发|出台|颁布|发文|出)的?(时间|日期)|(什么时候|何时|哪天|哪一天|几号|啥时候?|哪年|几月)(发|发布|印发|下发|出台|颁布|出)"
)
_NEXT = re.compile(r"下一?期|下一?次|下一?轮|(截止|结束)(以?后|之后)|还会(再)?(征集|开展)|还有没有|(只有|就)一(次|期)")
_CLAIMED = re.compile(r"推荐单位|申报单位|地市|区人社|主管部门|省厅|个人|我们|自己|企业|公司")

IDENTITY = (
    "不是。我是职业技能鉴定中心征集受理系统的自动咨询助手，不是工作人员，只根据征集通知作答。"
    "需要工作人员答复的，请咨询{contact}。"
)
NO_NOTICE = "目前尚无{name}的征集通知，暂不受理，请以通知发布后的安排为准。"


def _province(region: str | None, tracks: list[Track]) -> str | None:
    if region:
        return region
    provinces = {track_facts_province(track) for track in tracks}
    return provinces.pop() if len(provinces) == 1 else None


def track_facts_province(track: Track) -> str:
    return load_registry().track_rules(track)[-1][0].province


def identity(region: str | None) -> str:
    return IDENTITY.format(contact=contact_text(region))


def silent(subject: str, region: str | None, tracks: list[Track]) -> str:
    """The notices say nothing of ``subject``: say so, and whom to ask in the region asked about."""
    return f"通知未作规定：{subject}，征集通知中没有规定。请咨询{contact_text(_province(region, tracks))}。"


def _unpublished(facts: TrackFacts) -> str:
    return NO_NOTICE.format(name=facts.name)


def channel(track: Track, moment: datetime, text: str, city: str | None) -> str:
    """Where and how a track's materials go: the mailbox that receives them, or the system with the mailbox for
    questions, or the city bureau first (属地)."""
    facts = track_facts(track, moment)
    if facts.rule is None or facts.notice is None:
        return _unpublished(facts)
    rule, notice = facts.rule, facts.notice
    yes_no = bool(YES_NO.search(text))
    typed = _EMAIL.findall(text)
    if rule.mailbox_role == "consult" and rule.channel:
        lead = "不可以。" if yes_no and _ASKS_MAILBOX.search(text) else ""
        line = (
            f"{lead}{rule.name}通过{rule.channel}申报，{rule.mailbox}是咨询邮箱，不是受理申报材料的邮箱。"
            f"{quoted('self_service_system', track, notice)}"
        )
        return line
    if rule.route and rule.route_clause:
        where = f"{city}市" if city and city not in {"广东", "粤", "省厅", "地市", "省属"} else "所在地市"
        if city == "省属":
            head = "省属申报单位征求行业主管部门意见后，报省人力资源社会保障部门。"
        else:
            head = f"报{where}人力资源社会保障部门（省属单位征求行业主管部门意见后报省人力资源社会保障部门）。"
        paper = f"另{rule.paper.removeprefix('须同时')}。" if rule.paper else ""
        # 附件1 填写说明四: "电子版材料发至邮箱：jnzx_zzyfk@gd.gov.cn" (the mailbox of the track's rule).
        mail = f"电子版（WORD版）发至邮箱 {rule.mailbox}（附件1 填写说明四）。"
        return f"{head}{mail}{paper}{quoted('local_reporting', track, notice)}"
    if typed and not any(address == rule.mailbox for address in typed):
        lead = f"不是。{rule.name}的受理邮箱是 {rule.mailbox}。"
    elif yes_no and (typed or re.search(r"(这个|该|此|那个)邮箱|邮箱(对|是)", text)):
        lead = f"是。{rule.name}的受理邮箱是 {rule.mailbox}。"
    elif yes_no and _ASKS_MAILBOX.search(text):
        lead = f"可以。{rule.name}的申报材料发送至受理邮箱 {rule.mailbox}。"
    else:
        lead = f"{rule.mailbox}（{rule.name}的受理邮箱）。"
    return f"{lead}{quoted('how_to_submit', track, notice)}"


def item(track: Track, material: Material, moment: datetime) -> str:
    """One item of a track's material list, as the notice lists it, with the list's clause."""
    facts = track_facts(track, moment)
    rule, notice = facts.rule, facts.notice
    if rule is None or notice is None:
        return _unpublished(facts)
    clause = f"（{rule.materials_clause}）" if rule.materials_clause else ""
    return f"须提交：{material.name}。这是{rule.name}的申报材料之一，见{notice.number}{clause}所列材料清单。"


def can_now(track: Track, moment: datetime) -> str:
    """May it be sent today: 可以 inside a window, 不可以 outside it, with the window and the clause."""
    facts = track_facts(track, moment)
    if facts.rule is None:
        return _unpublished(facts)
    rule = facts.rule
    how = f"请通过{rule.channel}申报（{rule.mailbox}仅供咨询）。" if rule.mailbox_role == "consult" else ""
    clause = quoted("late", track, facts.notice)
    if facts.stage is Stage.open and facts.window is not None:
        if rule.window.kind == "deadlines":
            line = (
                f"可以。{rule.name}正在征集，本期各地市于{cn_date(facts.window.end)}前报送省厅，"
                "请按所在地市人力资源社会保障部门的安排报送。"
            )
        else:
            line = f"可以。{rule.name}正在受理，本期受理时间为{cn_window(facts.window)}，{_days(facts, moment)}。{how}"
        return line + clause
    if facts.stage is Stage.between and facts.next_window is not None:
        wait = days_text(position(track, moment))
        return f"不可以。{rule.name}目前不在受理时间内，下一期为{cn_window(facts.next_window)}，{wait}。{clause}"
    ended = f"已于{cn_date(facts.last_window.end)}截止" if facts.last_window else "已截止"
    return f"不可以。{rule.name}{ended}，目前没有后续受理安排，请以后续通知为准。"


def _days(facts: TrackFacts, moment: datetime) -> str:
    return days_text(position(facts.track, moment))


def paper(track: Track, moment: datetime) -> str:
    """Paper copies: only a notice that asks for them gets a yes."""
    facts = track_facts(track, moment)
    rule, notice = facts.rule, facts.notice
    if rule is None or notice is None:
        return _unpublished(facts)
    if rule.paper and rule.paper_clause:
        return f"需要。{rule.name}{rule.paper}（{notice.number}{rule.paper_clause}）。"
    if rule.mailbox_role == "consult" and rule.channel:
        return (
            f"不需要邮寄纸质材料：{rule.name}通过{rule.channel}申报，通知未要求纸质材料。"
            f"{quoted('self_service_system', track, notice)}"
        )
    return (
        f"不需要邮寄纸质材料：{notice.number}只要求将盖章或签字后的电子版发送至受理邮箱 {rule.mailbox}。"
        f"{quoted('how_to_submit', track, notice)}"
    )


def who_may(tracks: list[Track], text: str) -> str:
    """Who may apply; a person alone gets 可以 or 不可以 first, and so does a unit registered in another province
    where the notice wants one registered in its own (76号 二（一）"本市依法登记的独立法人")."""
    person = bool(_PERSON.search(text))
    outside = elsewhere_in(text)
    lines: list[str] = []
    for track in tracks:
        item = source("who_may_apply", track)
        if item is None:
            continue
        head = item.individual if person and item.individual else ""
        if outside and item.outsider:
            head = item.outsider
        lines.append(f"{head}{cite(item)}")
    return "\n".join(lines)


def field(spec: FieldSpec, region: str | None, tracks: list[Track]) -> str:
    """One field of a form: its word limit, the weights' total, the rows, how to tick the category."""
    province = _province(region, tracks)
    if spec.what == "limit":
        fact = field_fact(spec.form, spec.field, province)
        if fact is None or fact.limit is None:
            return silent("该栏的字数", region, tracks)
        return f"{fact.limit}字以内。{_limit_quote(fact.label, province)}"
    if spec.what == "limits":
        facts = section_limits(spec.form, spec.field, province)
        parts = "、".join(f"{fact.label}{fact.limit}字" for fact in facts)
        return f"职业分析各项均有字数上限：{parts}（均为“以内”）。{_limit_quote('', province)}"
    if spec.what == "weights":
        fact = field_fact(spec.form, spec.field.split(".")[0], province)
        clause = fact.clause if fact else ""
        del clause
        return (
            "合计100%。《主要考核内容》（沪人社职〔2025〕140号附件3）中各项工作任务的“考核比重”以百分比填写，"
            "合计应为100%（附件3样例为40%、20%、40%）；通知未规定每项的最低或最高比重。"
        )
    if spec.what == "rows":
        return silent("汇总表（推荐表）可填写的行数或职业个数", region, tracks)
    topic = load_faq().topic("category_tick")
    chosen = [item for item in topic.sources if not tracks or set(item.tracks) & set(tracks)] or list(topic.sources)
    if province:
        wanted = Track.gd_new_occupation if province == "guangdong" else Track.new_occupation
        chosen = [item for item in chosen if wanted in item.tracks] or chosen
    if chosen[0].notice == "gd-2026-159":
        head = "在所选类别前的括号内画“√”，三项只选一项。"
    else:
        head = "在“全新职业”前的括号内画“√”（上海的建议书只有这一个选项）。"
    return head + cite(chosen[0])


def _limit_quote(label: str, province: str | None) -> str:
    track = Track.gd_new_occupation if province == "guangdong" else Track.new_occupation
    item = source("word_limits", track)
    if item is None:
        return ""
    notice = load_registry().notice(item.notice)
    quotes = [quote for quote in item.quotes if not label or quote.startswith(label)] or item.quotes
    return f"根据{notice.number}（{item.clause}）：“{'”“'.join(quotes)}”"


def history(moment: datetime, text: str = "") -> str:
    """沪人社职〔2024〕319号: a one-off collection, its period, exclusions, 工种 rule and contact. Asked when it was
    issued, or whether another period follows, the answer is that fact and the period's clause, not the list."""
    registry = load_registry()
    notice = registry.notice("sh-2024-319")
    day = shanghai_date(moment)
    if day < notice.date:
        return "目前尚无该征集通知。"
    topic = load_faq().topic("history_319")
    period, excluded, work_type, contact = topic.sources
    last = max(window.end for window in _windows_of(notice.id))
    over = day > last
    asks = bool(YES_NO.search(text) and re.search(r"报|交|发|推荐|申请", text)) and not _ISSUED.search(text)
    lead = ("不可以。" if over else "可以。") if asks else ""
    state = f"已于{cn_date(last)}截止，是一次性征集" if over else f"正在征集，截止日为{cn_date(last)}"
    successor = registry.notice("sh-2025-76")
    after = f"；现行的职业（工种）征集按{successor.number}办理" if day >= successor.date else ""
    name = f"{notice.number}（2024年职业（工种）征集）"
    clause = f"根据{notice.number}（{period.clause}）：“{period.quotes[0]}”"
    if _ISSUED.search(text):
        return f"{cn_date(notice.date)}。{name}于{cn_date(notice.date)}印发，{state}{after}。{clause}"
    if _NEXT.search(text):
        once = "是。" if re.search(r"(只有|就)一(次|期)", text) else lead
        later = after or "；后续征集以新发布的通知为准"
        when = f"已于{cn_date(last)}截止" if over else f"正在征集，截止日为{cn_date(last)}"
        return f"{once}{name}只规定了这一期征集，{when}，未规定下一期{later}。{clause}"
    return (
        f"{lead}{name}{state}{after}。\n"
        f"1. 征集时间：“{period.quotes[0]}”\n"
        f"2. 不纳入申报范围：“{excluded.quotes[0]}”\n"
        f"3. 工种：“{work_type.quotes[0]}”\n"
        f"4. 该次征集的联系人：{contact.quotes[0].removeprefix('联系人:').rstrip('。')}。"
    )


def compare(moment: datetime) -> str:
    """319号 (2024, one-off) beside 76号 (2025, quarterly): period, exclusions, the 工种 rule, organisations."""
    day = shanghai_date(moment)
    if day < load_registry().notice("sh-2025-76").date:
        return history(moment)
    topic = load_faq().topic("history_319")
    period, excluded, work_type, _ = topic.sources
    late = source("late", Track.skill_level_occupation)
    repeat = source("listed_no_repeat", Track.skill_level_occupation)
    column = source("work_type_column", Track.skill_level_occupation)
    assert late and repeat and column
    return (
        "主要区别如下（319号为2024年一次性征集，已截止；76号为现行通知）：\n"
        f"1. 时间：319号“{period.quotes[0]}”；76号“{late.quotes[0]}”\n"
        f"2. 范围：319号“{excluded.quotes[0]}”；76号“{repeat.quotes[0]}”\n"
        f"3. 工种：319号“{work_type.quotes[0]}”；76号“{column.quotes[0]}”\n"
        "4. 76号另开展社会培训评价组织征集遴选（二、），319号没有。"
    )


def _windows_of(notice_id: str) -> list[Window]:
    """The windows one notice set for the skill-level track (319号: one period)."""
    found: list[Window] = []
    for window in windows(Track.skill_level_occupation):
        if window.notice.id == notice_id:
            found.append(window)
        elif found:
            break
    return found


_APPLICANT_WORDS = frozenset({"申报单位", "个人", "我们", "自己", "企业", "公司"})
_FORM_WORDS = ("建议书", "汇总表", "推荐表", "推荐函")


def filler(text: str, tracks: list[Track], region: str | None, moment: datetime) -> str:
    """Who fills a form in, from the registry's ``filled_by`` and its clause; a guess typed in the question
    ("是推荐单位填的吧") gets 是 or 不是 first."""
    del region
    for track in tracks:
        facts = track_facts(track, moment)
        if facts.rule is None or facts.notice is None:
            continue
        for document in facts.rule.documents:
            named = document.name in text or any(word in text and word in document.name for word in _FORM_WORDS)
            if document.filled_by and named:
                who = document.filled_by
                lead = ""
                claimed = set(_CLAIMED.findall(text))
                if claimed and (YES_NO.search(text) or "吧" in text):
                    applicant = "申报单位" in who and bool(claimed & _APPLICANT_WORDS)
                    lead = "是。" if applicant or any(word in who for word in claimed - _APPLICANT_WORDS) else "不是。"
                clause = f"{facts.notice.number}{document.filled_by_clause or ''}"
                return f"{lead}《{document.name}》由{who}填写（{clause}）。"
    return "请告诉我您问的是哪一张表格（如新职业汇总表、推荐表），以便准确答复。"


def visual(text: str, tracks: list[Track], region: str | None, moment: datetime) -> str:
    """Short videos and charts: only 159号 says how they go (on CD or USB stick, with the paper copies); for a
    Shanghai track the notices are silent."""
    del text, moment
    for track in tracks:
        item = source("visual_materials", track)
        if item is None:
            continue
        if len(tracks) > 1:
            return f"{track_facts_name(track)}：{cite(item)}上海各征集通知对此未作规定。"
        return cite(item)
    return silent("短视频、图表等可视化资料的提交方式", region, tracks)


def track_facts_name(track: Track) -> str:
    return load_registry().track_rules(track)[-1][1].name


ActAnswer = Callable[[str, list[Track], str | None, datetime], str]
BY_ACT: dict[str, ActAnswer] = {"filler": filler, "visual": visual}
"""Acts answered from the message, the tracks asked about (those of the region when none was named), the
region and the business time; the core looks an act up here before its own cases."""
DATED_ACTS = frozenset({"history", "compare"})
"""Acts whose answer gives the dates asked: no window list beside them."""

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
from difflib import SequenceMatcher

from zhengji.bot.answers.materials import formats_text, signing
from zhengji.bot.answers.notices import contact_text
from zhengji.bot.facts import Stage, TrackFacts, field_fact, quoted, section_limits, source, track_facts
from zhengji.bot.faq import cite, load_faq
from zhengji.bot.vocabulary import FieldSpec, elsewhere_in
from zhengji.bot.wording import days_text
from zhengji.clock import shanghai_date
from zhengji.notices.calendar import Window, cn_date, cn_window, position, windows
from zhengji.notices.forms import form_spec
from zhengji.notices.registry import DocumentRule, Material, MonthlyRule, Notice, Track, TrackRule, load_registry

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
_PAPER_ONLY = re.compile(r"只(寄|交|要|提交|发|邮寄)?纸质|不(发|交|提交|用|要|寄)电子|(不要|不用|无需|不需要)电子版")
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
    typed = typed_mailboxes(text)
    if facts.rule is None or facts.notice is None:
        # Before its notice a track has no mailbox of its own: another center's address is still not it.
        wrong = [address for address in typed if _province_of_mailbox(address) != facts.province]
        lead = f"不是。{wrong[0]}不是{facts.name}的邮箱。" if wrong else ""
        return f"{lead}{_unpublished(facts)}请咨询{contact_text(facts.province)}。"
    rule, notice = facts.rule, facts.notice
    yes_no = bool(YES_NO.search(text))
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
        if typed and rule.mailbox not in typed:
            head = f"不是。{rule.name}的材料{head}"
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


def channel_short(track: Track, moment: datetime) -> str:
    """A track's channel in a few words, for a list of every track: its mailbox, its system, or its 属地 route."""
    facts = track_facts(track, moment)
    rule = facts.rule
    if rule is None:
        return "目前尚无该征集事项的通知"
    if rule.mailbox_role == "consult" and rule.channel:
        return f"通过{rule.channel}申报（{rule.mailbox}为咨询邮箱）"
    if rule.route:
        paper = "，另须邮寄纸质版" if rule.paper else ""
        return f"报所在地市人力资源社会保障部门，电子版发至 {rule.mailbox}{paper}"
    return f"受理邮箱 {rule.mailbox}"


def typed_mailboxes(text: str) -> list[str]:
    """The mailboxes a question names: full addresses, and the notices' own mailboxes named by their part before
    the "@" alone ("发yanfa312那个邮箱吗")."""
    typed = _EMAIL.findall(text)
    for address in _known_mailboxes():
        if address not in typed and re.search(rf"(?<![a-z0-9._-]){re.escape(address.split('@')[0])}", text):
            typed.append(address)
    return typed


def _province_of_mailbox(address: str) -> str | None:
    """The province whose notices name ``address`` as a mailbox."""
    for notice in load_registry().notices:
        if any(rule.mailbox == address for rule in notice.tracks):
            return notice.province
    return None


def _known_mailboxes() -> tuple[str, ...]:
    registry = load_registry()
    return tuple(dict.fromkeys(rule.mailbox for notice in registry.notices for rule in notice.tracks))


def item(track: Track, material: Material, moment: datetime, text: str = "") -> str:
    """One item of a track's material list, as the notice lists it, with the list's clause; asked whether it
    will do ("营业执照复印件可以吗"), the answer is 可以 first, since the notice lists it."""
    lead = "可以。" if YES_NO.search(text) and re.search(r"可以|行|能|算", text) else ""
    facts = track_facts(track, moment)
    rule, notice = facts.rule, facts.notice
    if rule is None or notice is None:
        return _unpublished(facts)
    clause = f"（{rule.materials_clause}）" if rule.materials_clause else ""
    return f"{lead}须提交：{material.name}。这是{rule.name}的申报材料之一，见{notice.number}{clause}所列材料清单。"


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


def paper(track: Track, moment: datetime, text: str = "") -> str:
    """Paper copies: only a notice that asks for them gets a yes."""
    facts = track_facts(track, moment)
    rule, notice = facts.rule, facts.notice
    if rule is None or notice is None:
        return _unpublished(facts)
    if rule.paper and rule.paper_clause:
        formats = "、".join(dict.fromkeys(formats_text(document).removeprefix("须提交") for document in rule.documents))
        lead = "不可以。" if _PAPER_ONLY.search(text) else "需要。"
        electronic = f"电子版（{formats}，发至邮箱 {rule.mailbox}）" if formats else "电子版"
        return (
            f"{lead}{rule.name}须提交{electronic}，{rule.paper.removeprefix('须')}"
            f"（{notice.number}{rule.paper_clause}）。"
        )
    if rule.mailbox_role == "consult" and rule.channel:
        return (
            f"不需要邮寄纸质材料：{rule.name}通过{rule.channel}申报，通知未要求纸质材料。"
            f"{quoted('self_service_system', track, notice)}"
        )
    return (
        f"不需要邮寄纸质材料：{notice.number}只要求将盖章或签字后的电子版发送至受理邮箱 {rule.mailbox}。"
        f"{quoted('how_to_submit', track, notice)}"
    )


def paper_everywhere(tracks: list[Track], moment: datetime) -> str | None:
    """Paper copies asked of several tracks none of whose notices wants them: one answer, not one a track (where
    the electronic copies go, by channel); None when some track does want paper."""
    facts = [track_facts(track, moment) for track in tracks]
    rules = [item.rule for item in facts if item.rule is not None]
    if not rules or any(rule.paper for rule in rules):
        return None
    by_channel: dict[str, list[str]] = {}
    for rule in rules:
        where = (
            f"通过{rule.channel}申报"
            if rule.mailbox_role == "consult" and rule.channel
            else f"电子版发送至 {rule.mailbox}"
        )
        by_channel.setdefault(where, []).append(rule.name)
    ways = "；".join(f"{'、'.join(names)}{where}" for where, names in by_channel.items())
    note = quoted("paper_copies", rules[0].id).removeprefix("上海的征集事项只收电子版：")
    return f"不需要邮寄纸质材料，通知未要求纸质材料：{ways}。{note}"


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
        named = _named_kind(text, item.quotes)
        if not head and named and YES_NO.search(text):
            # "民办非企业单位能当考核机构吗": the notice lists the kind among its examples, with its conditions.
            head = f"可以。{named}在通知所列的申报主体之中，须同时满足通知所列条件。"
        lines.append(f"{head}{cite(item)}")
    return "\n".join(lines)


_KINDS = re.compile(r"民办非企业|民营企业|社会团体|行业协会|职业院校|科研机构|事业单位|院校|企业|协会|学校|公司")


def _named_kind(text: str, quotes: list[str]) -> str | None:
    """The kind of body a question names that the notice's own list of examples holds (企业, 院校, 民办非企业)."""
    listed = "".join(quotes)
    return next((kind for kind in _KINDS.findall(text) if kind in listed), None)


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
    """沪人社职〔2024〕319号: a one-off Shanghai collection, its period, exclusions, 工种 rule and contact. A
    question about one of its facts (when issued, where it went, its formats, its basis, whether 76号 followed
    it, the days left) gets that fact first, with its clause; a question about the notice as a whole gets the
    list."""
    registry = load_registry()
    notice = registry.notice("sh-2024-319")
    day = shanghai_date(moment)
    if day < notice.date:
        return "目前尚无该征集通知。"
    topic = load_faq().topic("history_319")
    period, excluded, work_type, contact = topic.sources
    rule = next(item for owner, item in registry.track_rules(Track.skill_level_occupation) if owner.id == notice.id)
    last = max(window.end for window in _windows_of(notice.id))
    over = day > last
    asks = bool(YES_NO.search(text) and re.search(r"报|交|发|推荐|申请", text)) and not _ISSUED.search(text)
    successor = registry.notice("sh-2025-76")
    after = f"；现行的职业（工种）征集按{successor.number}办理{_rhythm(successor)}" if day >= successor.date else ""
    name = f"{notice.number}（{notice.issuer}2024年职业（工种）征集）"
    state = f"已于{cn_date(last)}截止，是一次性征集" if over else f"正在征集，截止日为{cn_date(last)}"
    clause = f"根据{notice.number}（{period.clause}）：“{period.quotes[0]}”"
    if _ISSUED.search(text):
        return f"{cn_date(notice.date)}。{name}于{cn_date(notice.date)}印发，{state}{after}。{clause}"
    if _BASIS.search(text):
        basis = source("basis_319", Track.skill_level_occupation)
        return f"{name}的依据文件见其正文首段。{cite(basis)}" if basis else silent("依据文件", "shanghai", [])
    if _WHICH_REGION.search(text):
        return f"上海。{name}是{notice.issuer}印发的通知，{state}{after}。"
    if _LEFT.search(text):
        left = days_text(position(Track.skill_level_occupation, moment)) if not over else f"已于{cn_date(last)}截止"
        return f"{left}。{name}{state}{after}。{clause}"
    if _SUCCEEDS.search(text):
        if day < successor.date:
            return f"{name}{state}；目前尚无后续通知。"
        return f"是。{name}{state}{after}。{clause}"
    documents = rule.documents
    if _FORMAT_ASKED.search(text) and documents:
        lines = "；".join(f"《{document.name}》{formats_text(document)}" for document in documents)
        return f"是。{name}：{lines}，发送至 {rule.mailbox}。{state}{after}。"
    if _WHERE.search(text):
        return f"{rule.mailbox}。{name}的推荐表发送至 {rule.mailbox}（{notice.number}三、（二））；{state}{after}。"
    lead = ("不可以。" if over else "可以。") if asks else ""
    if _NEXT.search(text):
        once = "是。" if re.search(r"(只有|就)一(次|期)", text) else lead
        later = after or "；后续征集以新发布的通知为准"
        return f"{once}{name}只规定了这一期征集，{state.split('，')[0]}，未规定下一期{later}。{clause}"
    return (
        f"{lead}{name}{state}{after}。\n"
        f"1. 征集时间：“{period.quotes[0]}”\n"
        f"2. 不纳入申报范围：“{excluded.quotes[0]}”\n"
        f"3. 工种：“{work_type.quotes[0]}”\n"
        f"4. 该次征集的联系人：{contact.quotes[0].removeprefix('联系人:').rstrip('。')}。"
    )


_BASIS = re.compile(r"依据|根据(哪|什么)|(哪|什么)(些|个)?文件|文件精神")
_WHICH_REGION = re.compile(
    r"上海还是广东|广东还是上海|哪(个|里|儿)(省|市|地方)?的(通知|文件)?(吗|呢)?$|哪个(省|地方|部门)|谁(发|印发)的"
)
_LEFT = re.compile(r"还(剩|有)(几|多少)天|剩(下)?(几|多少)天|几天(截止|结束)|还有多久")
_SUCCEEDS = re.compile(r"接替|取代|替代|代替|替换|继承|延续|接续|后续|之后(的|是)")
_FORMAT_ASKED = re.compile(r"pdf|word|格式|电子版")
_WHERE = re.compile(r"发(到)?哪|交(到)?哪|寄(到)?哪|报(送)?(到)?哪|邮箱|发给谁|(提交|报送)(到|至)")


def _rhythm(notice: Notice) -> str:
    """How often a notice's collection runs, from its window rule ("，每年3月、6月、9月、12月的20日至30日受理")."""
    rule = next((item for item in notice.tracks if item.id is Track.skill_level_occupation), None)
    if rule is None or not isinstance(rule.window, MonthlyRule):
        return ""
    months = "、".join(f"{month}月" for month in rule.window.months)
    return f"，每季度受理一次（每年{months}的{rule.window.first_day}日至{rule.window.last_day}日）"


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
            named = _names(text, document)
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


def _documents(text: str, tracks: list[Track], moment: datetime) -> list[tuple[Notice, TrackRule, DocumentRule]]:
    """The documents a question is about: those it names ("建议书", "推荐函"), else every document of the tracks
    asked about, each with the notice and rule in force on the day."""
    every: list[tuple[Notice, TrackRule, DocumentRule]] = []
    for track in tracks:
        facts = track_facts(track, moment)
        if facts.rule is None or facts.notice is None:
            continue
        every += [(facts.notice, facts.rule, document) for document in facts.rule.documents]
    named = [item for item in every if _names(text, item[2])]
    if len(named) > 1:
        # "专项考核项目建议书" names the 140号 建议书, not 77号's: the name sharing the longest run with the question.
        best = max(_overlap(text, item[2].name) for item in named)
        named = [item for item in named if _overlap(text, item[2].name) == best]
    return named or every


def _overlap(text: str, name: str) -> int:
    """The longest run of characters a question shares with a document's name, ignoring the form words they
    all share (建议书, 汇总表) unless nothing else is shared."""
    core = name
    for word in _FORM_WORDS:
        core = core.replace(word, "\0")
    match = SequenceMatcher(None, text, core, autojunk=False).find_longest_match(0, len(text), 0, len(core))
    return match.size


def _section_title(number: str | None, heading: str, guangdong: str | None, province: str) -> str:
    """A section as the province's form prints it ("五、职业（工种）分析")."""
    title = guangdong if province == "guangdong" and guangdong else heading
    return f"{number}、{title}" if number else title


def _none_published(tracks: list[Track], moment: datetime) -> str | None:
    """Before any notice of the tracks asked about, their forms do not exist yet: say so, never "未作规定"."""
    facts = [track_facts(track, moment) for track in tracks]
    if facts and all(item.rule is None for item in facts):
        return "；".join(_unpublished(item) for item in facts)
    return None


def _names(text: str, document: DocumentRule) -> bool:
    """Whether a question names a document: its name, or the short name applicants use (建议书, 推荐函 for
    《关于推荐……的函》)."""
    return document.name in text or any(word in text and _short_for(word, document.name) for word in _FORM_WORDS)


def _short_for(word: str, name: str) -> bool:
    return word in name or (word.endswith("函") and word[:2] in name and name.endswith("函"))


def _document_title(notice: Notice, rule: TrackRule, document: DocumentRule, several: bool) -> str:
    where = f"（{notice.number}{document.attachment}）"
    return f"{rule.name}《{document.name}》{where}" if several else f"《{document.name}》{where}"


def seal(text: str, tracks: list[Track], region: str | None, moment: datetime) -> str:
    """Stamp or signature: each document's signature line as its notice prints it ("建议人（盖章或签字）"). Asked
    whether a signature will do, the answer is 可以 where the line allows one and 不可以 where it wants a stamp."""
    documents = [item for item in _documents(text, tracks, moment) if item[2].signature]
    if not documents:
        return _none_published(tracks, moment) or silent("该材料的盖章或签字", region, tracks)
    several = len({rule.id for _, rule, _ in documents}) > 1
    allows = ["签" in (document.signature or "") for _, _, document in documents]
    lead = ""
    if YES_NO.search(text) or "吧" in text:
        if re.search(r"签字|签名|手签", text):
            lead = "可以。" if all(allows) else ("不可以，须加盖公章。" if not any(allows) else "")
        else:
            lead = "需要。"
    lines = [f"{_document_title(n, r, d, several)}{signing(d)}" for n, r, d in documents]
    papers = {(notice.number, rule.paper, rule.paper_clause) for notice, rule, _ in documents if rule.paper}
    for number, paper_rule, clause in sorted(papers, key=str):
        how = _INNER_NOTE.search(paper_rule or "")
        if how:
            lines.append(f"纸质版材料{how.group(1)}（{number}{clause or ''}）")
    tracks_asked = {rule.id for _, rule, _ in documents}
    quote = ""
    if len(tracks_asked) == 1 and not papers:
        notice, rule, _ = documents[0]
        quote = quoted("how_to_submit", rule.id, notice)
        quote = quote if re.search(r"盖章|公章|签名|签字", quote) else ""  # a clause about stamping, or none
    return lead + "；".join(lines) + "。" + quote


_INNER_NOTE = re.compile(r"（(须[^（）]+)）")


def formats(text: str, tracks: list[Track], region: str | None, moment: datetime) -> str:
    """Which file formats: the documents' formats in the notice registry (76号 and 77号 PDF and WORD, 159号 WORD
    and paper); a format the notice does not ask for, or one of two sent alone, gets 不可以 first."""
    documents = _documents(text, tracks, moment)
    if not documents:
        return _none_published(tracks, moment) or silent("文件格式", region, tracks)
    typed = {name for name, pattern in _FORMAT_WORDS.items() if pattern.search(text)}
    wanted = {fmt for _, _, document in documents for fmt in document.formats}
    lead = ""
    only = "只" in text or bool(re.search(r"就行|就可以|即可|就够|就好", text))
    if only and "电子" in text and any(rule.paper for _, rule, _ in documents):
        lead = "不是，还须提交纸质版。"
    elif wanted and typed and (YES_NO.search(text) or only or "还是" in text):
        if typed - wanted or (only and wanted - typed):
            lead = "不可以。"
        elif re.search(r"(要|需要|得)(交|提交|发)?(pdf|word)", text) or "还是" in text:
            lead = "都要。" if len(wanted) > 1 and "还是" in text else "需要。"
    several = len({rule.id for _, rule, _ in documents}) > 1
    lines = []
    for notice, rule, document in documents:
        line = f"{_document_title(notice, rule, document, several)}{formats_text(document)}"
        if rule.paper:
            line += "，另须提交盖章的纸质版"
        lines.append(line)
    return lead + "；".join(lines) + "。"


_FORMAT_WORDS = {"pdf": re.compile(r"pdf"), "word": re.compile(r"word|docx?(?![a-z])")}


def contents(text: str, tracks: list[Track], region: str | None, moment: datetime) -> str:
    """What a form holds: its numbered sections in the form data, or the columns of its table."""
    documents = _documents(text, tracks, moment)
    named = [item for item in documents if _names(text, item[2])]
    if not named:
        return "请告诉我您问的是哪一张表格（如新职业建议书、推荐表），以便准确答复。"
    notice, _, document = named[0]
    spec = form_spec(document.form)
    if spec is None:
        return silent(f"《{document.name}》的内容", region, tracks)
    province = notice.province
    if spec.sections:
        parts = [_section_title(item.number, item.heading, item.guangdong, province) for item in spec.sections]
        head = f"《{document.name}》（{notice.number}{document.attachment}）共{len(parts)}部分："
        return head + "；".join(parts) + "。请按表格各栏及其脚注（填写说明）填写。"
    columns = [column.label_for(province) for column in spec.rows if not column.derived]
    title = f"《{document.name}》（{notice.number}{document.attachment}）"
    if not columns or spec.guangdong_title:
        # A table both provinces use keeps columns of either in one list: the printed table is the answer.
        return f"{title}按通知所附表格的各栏及填表说明逐项填写。"
    return f"《{document.name}》（{notice.number}{document.attachment}）各栏为：{'、'.join(columns)}。"


_NUMBER = re.compile(r"(\d{2,3})号")


def issued(text: str, tracks: list[Track], region: str | None, moment: datetime) -> str:
    """When a notice was issued: the notice named by its number ("76号"), else the one in force for the track
    asked about; a notice dated after today is not known yet."""
    registry = load_registry()
    day = shanghai_date(moment)
    numbers = set(_NUMBER.findall(text))
    notices = [notice for notice in registry.notices if any(notice.number.endswith(f"〕{n}号") for n in numbers)]
    if not notices:
        notices = [facts.notice for track in tracks if (facts := track_facts(track, moment)).notice is not None]
    notices = [notice for notice in {notice.id: notice for notice in notices}.values() if notice.date <= day]
    if not notices:
        return "目前尚无该征集通知。" if numbers or tracks else silent("该通知的发布日期", region, tracks)
    lines = [f"{notice.number}《{notice.title}》于{cn_date(notice.date)}印发" for notice in notices[:2]]
    return f"{cn_date(notices[0].date)}。" + "；".join(lines) + "。"


ActAnswer = Callable[[str, list[Track], str | None, datetime], str]
BY_ACT: dict[str, ActAnswer] = {
    "filler": filler,
    "visual": visual,
    "seal": seal,
    "issued": issued,
    "formats": formats,
    "contents": contents,
}
"""Acts answered from the message, the tracks asked about (those of the region when none was named), the
region and the business time; the core looks an act up here before its own cases."""
DATED_ACTS = frozenset({"history", "compare", "issued"})
"""Acts whose answer gives the dates asked: no window list beside them."""

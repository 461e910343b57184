"""The answering core: one message in, one answer out, the same on every channel.

Steps for each message: (1) understand it (:mod:`zhengji.bot.understand`); (2) lean on the chat's context for
a follow-up ("那材料呢？"); (3) pick what to answer — a command, a one-time code, binding and status (which
need the database and the mailbox proof), or up to two of the public questions — and fall back to an honest
"I do not know" below the threshold; (4) compose the answer from the notice data, the catalog or the database;
(5) put any status notices waiting for this chat in front of it, and remember the context.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from zhengji.bot.acts import Act, acts_in
from zhengji.bot.answers import direct
from zhengji.bot.answers.conditions import answer_conditions, asks_whether, conditions_in, says_yes
from zhengji.bot.answers.eligibility import answer_eligibility
from zhengji.bot.answers.materials import answer_materials
from zhengji.bot.answers.notices import GREETING, HELP, THANKS, answer_faq, answer_unknown
from zhengji.bot.answers.windows import answer_windows, rhythm_line, track_name
from zhengji.bot.asof import answering, period_pins, unknown_numbers
from zhengji.bot.catalog import NameMatch, catalog_index
from zhengji.bot.conversation import Chat, Context, Conversations, MemoryConversations
from zhengji.bot.faq import issued_for
from zhengji.bot.memo import Memo
from zhengji.bot.understand import (
    CONTENT,
    DAILY_LIFE,
    OTHER_EVENTS,
    THRESHOLD,
    WINDOW_SUBJECTS,
    Intent,
    Understanding,
    is_follow_up,
    question_parts,
    understand,
)
from zhengji.bot.vocabulary import tracks_in, vocabulary
from zhengji.clock import Clock, shanghai_date
from zhengji.notices.registry import Track, load_registry

if TYPE_CHECKING:
    from zhengji.bot.links import Desk

log = logging.getLogger(__name__)

OUT_OF_SCOPE_MARGIN = 6.0
"""A question about a subject the notices do not cover is answered only when it clearly asks something else."""
SECOND_ANSWER = 0.75
"""A second kind of question is answered too when it scores at least this share of the first."""


@dataclass(frozen=True)
class Answer:
    """What the core answers; ``text`` is what every channel sends."""

    text: str
    intents: tuple[Intent, ...]
    tracks: tuple[Track, ...] = ()
    notices: tuple[str, ...] = field(default=())  # status notices delivered in front of the answer

    def as_json(self, chat: Chat | None) -> dict[str, Any]:
        return {
            "chat": chat.id if chat else None,
            "reply": self.text,
            "intents": [intent.value for intent in self.intents],
            "tracks": [track.value for track in self.tracks],
        }


class Bot:
    """The core. ``desk`` gives it the database (status, binding); without one it answers public questions only."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        desk: Desk | None = None,
        conversations: Conversations | None = None,
    ) -> None:
        self.clock = clock or Clock()
        self.desk = desk
        self.conversations: Conversations = conversations or MemoryConversations(self.clock.machine)
        # Reading a message depends on its text and the data alone (zhengji.bot.memo): a burst of chats asking
        # the same questions reads each once.
        self._read: Memo[Understanding] = Memo()
        self._asked: Memo[tuple[Act, ...]] = Memo()

    def now(self) -> datetime:
        """The business clock (``ZHENGJI_NOW``): windows and days left are judged on it."""
        return self.clock.business()

    def answer(self, chat: Chat | None, message: str) -> Answer:
        """Answer one message of ``chat`` (None: a one-off question with no conversation and no status).

        A message of several questions ("联系电话多少 纸质版寄哪") is answered part by part, in the order asked,
        each part leaning on the ones before it as a follow-up leans on the previous turn."""
        context = self.conversations.get(chat) if chat else Context()
        parts = question_parts(message)
        texts: list[str] = []
        intents: list[Intent] = []
        tracks: list[Track] = []
        for part in parts:
            text, part_intents, found, context = self._turn(chat, part, context)
            text = _issued_only(text, self.now(), context.region)
            if part_intents == [Intent.unknown] and len(parts) > 1 and len(found.text) <= _LEANING_PART:
                # "产业类别能填多个吗 用什么隔开": the second part asks more of the first, which answered it.
                continue
            texts += [paragraph for paragraph in _once(text, texts) if paragraph]
            intents += [intent for intent in part_intents if intent not in intents]
            tracks += [track for track in found.tracks if track not in tracks]
        if not texts:
            texts = [answer_unknown(context.region)]
        pushed: tuple[str, ...] = ()
        if chat is not None:
            if self.desk is not None:
                pushed = tuple(self.desk.collect_notices(chat))
            self.conversations.put(chat, context)
        return Answer("\n\n".join([*pushed, *texts]), tuple(intents), tuple(tracks), pushed)

    def _turn(
        self, chat: Chat | None, message: str, context: Context
    ) -> tuple[str, list[Intent], Understanding, Context]:
        """One question: its answer, what it was taken to ask, and the chat's state after it."""
        found = self._read.get(message, lambda: understand(message))
        # What the message asks by itself, before the chat's last question is lent to a bare follow-up.
        asks_own = any(found.scores.get(intent, 0) >= THRESHOLD for intent in CONTENT)
        found = _with_context(found, context)
        if found.province is None and context.region == "guangdong" and Track.new_occupation in found.tracks:
            # 建议书, 汇总表, 新职业 in a chat about a Guangdong city are 159号's.
            fitted: list[Track] = [Track.gd_new_occupation if t is Track.new_occupation else t for t in found.tracks]
            found = Understanding(**{**found.__dict__, "tracks": list(dict.fromkeys(fitted))})
        found = _topics_of_tracks(found)
        with answering(self.now(), period_pins(found.text, found.tracks, self.now())):
            return self._turn_as_of(chat, found, context, asks_own)

    def _turn_as_of(
        self, chat: Chat | None, found: Understanding, context: Context, asks_own: bool
    ) -> tuple[str, list[Intent], Understanding, Context]:
        """The turn once the day's notices (and the period asked about) are fixed: only they answer."""
        found = _topics_issued(found)
        intents = self._choose(chat, found)
        asked = self._acts_in(found.text)
        acts = _acts(found, context, asked, asks_own=asks_own) if intents[0] in _ANSWERED_BY_ACTS else []
        region = found.province or (_region_of(found.tracks) if found.tracks else None) or context.region
        if acts:
            tracks = _act_tracks(found, region)
            text, intents = self._direct(found, acts, tracks, region, context)
        else:
            text = self._compose(chat, found, intents)
        if intents[0] in _ANSWERED_BY_ACTS and asks_whether(found.text):
            # "有失信记录还能报吗": the condition asked about decides, not the window (answers/conditions.py).
            named = conditions_in(found.text, _act_tracks(found, region))
            if named and (any(condition.rulings for condition in named) or says_yes(text)):
                text = answer_conditions(named, region)
                intents = intents if intents[0] is Intent.faq else [Intent.eligibility]
        if intents == [Intent.unknown] and found.unanswered and not found.out_of_scope:
            # "上海新职业评上了有没有奖励": other notices speak of it, this track's notice does not.
            text = direct.silent(found.unanswered, region, _act_tracks(found, region))
        return text, intents, found, _remember(context, found, intents, acts)

    def _acts_in(self, text: str) -> list[Act]:
        """The acts ``text`` asks (:func:`zhengji.bot.acts.acts_in`, a function of the text and the data)."""
        return list(self._asked.get(text, lambda: tuple(acts_in(text))))

    # --- direct answers to question acts -------------------------------------------------------------------

    def _direct(
        self, found: Understanding, acts: list[Act], tracks: list[Track], region: str | None, context: Context
    ) -> tuple[str, list[Intent]]:
        """Each act asked, answered in the order asked; a materials, window or occupation question asked beside
        them in so many words is answered too."""
        moment = self.now()
        parts: list[str] = []
        for act in acts:
            part = self._act(act, found, tracks, region, context)
            if part not in parts:
                parts.append(part)
        extra = [
            intent
            for intent, marker in _ALSO.items()
            if marker.search(found.text) and found.scores.get(intent, 0) >= THRESHOLD
        ]
        if any(act.id == "silent" for act in acts) and OTHER_EVENTS.search(found.text):
            # "结果什么时候公布": the notices fix no date for it; the windows are no answer to it.
            extra = [intent for intent in extra if intent is not Intent.window]
        if (found.names or found.codes) and not any(act.id == "identity" for act in acts):
            extra.append(Intent.eligibility)
        if any(act.id in direct.DATED_ACTS for act in acts):
            # 319号's own dates and documents answer it; today's lists are another notice's.
            extra = [intent for intent in extra if intent not in {Intent.window, Intent.materials}]
        for intent in extra:
            parts.append(self._one(None, found, intent))
        del moment
        first = _ACT_INTENT.get(acts[0].id, Intent.faq)
        if acts[0].id == "channel" and re.search(r"材料|邮箱", found.text):
            first = Intent.materials
        said: list[str] = []
        for part in parts:
            said += [paragraph for paragraph in _once(part, said) if paragraph]
        return "\n\n".join(said), [first, *extra]

    def _act(self, act: Act, found: Understanding, tracks: list[Track], region: str | None, context: Context) -> str:
        moment = self.now()
        text = found.text
        place = found.place or context.place
        if act.id in direct.BY_ACT:
            return direct.BY_ACT[act.id](text, tracks or _province_tracks(region), region, moment)
        if act.id == "identity":
            return direct.identity(region)
        if act.id == "silent" and act.silent is not None:
            return direct.silent(act.silent.subject, region, tracks)
        if act.id == "field" and act.field is not None:
            return direct.field(act.field, region, tracks)
        if act.id == "item" and act.item is not None:
            return direct.item(act.item[0], act.item[1], moment, text)
        if act.id == "history":
            return direct.history(moment, text)
        if act.id == "compare":
            return direct.compare(moment)
        if act.id == "who_may":
            return direct.who_may(tracks or _province_tracks(region), text)
        per_track: dict[str, Callable[[Track], str]] = {
            "channel": lambda track: direct.channel(track, moment, text, place),
            "can_now": lambda track: direct.can_now(track, moment),
            "paper": lambda track: direct.paper(track, moment, text),
        }
        chosen = tracks or _province_tracks(region)
        if len(chosen) == 1:
            return per_track[act.id](chosen[0])
        if act.id == "paper" and (everywhere := direct.paper_everywhere(chosen, moment)) is not None:
            return everywhere
        lines = []
        for number, track in enumerate(chosen, 1):
            if act.id == "channel":
                lines.append(f"{number}. {track_name(track)}：{direct.channel_short(track, moment)}。")
                continue
            line = per_track[act.id](track).split("根据", 1)[0]
            name = track_name(track)
            lines.append(f"{number}. {line if name in line else f'{name}：{line}'}")
        return "请告诉我您要申报的征集事项，以便准确答复。各征集事项：\n" + "\n".join(lines)

    # --- deciding ------------------------------------------------------------------------------------------

    def _choose(self, chat: Chat | None, found: Understanding) -> list[Intent]:
        scores = found.scores
        if found.command is not None:
            return [found.command]
        if found.digits and chat is not None and self.desk is not None:
            # Six digits alone (or "验证码 123456") can only be a code: an expired one is told so, not ignored.
            bare = len(found.text) <= 12 or "验证码" in found.text
            if bare or (scores.get(Intent.bind, 0) >= THRESHOLD and self.desk.has_pending_code(chat)):
                return [Intent.verify]
        for private in (Intent.unlink, Intent.bind, Intent.status):
            if scores.get(private, 0) >= THRESHOLD and scores[private] == max(scores.values()):
                return [private]
        if found.references and scores.get(Intent.status, 0) >= THRESHOLD:
            return [Intent.bind]
        ranked = [(intent, score) for intent, score in found.ranked if score >= THRESHOLD]
        if not ranked:
            return [Intent.unknown]
        best, best_score = ranked[0]
        if found.out_of_scope and best_score < OUT_OF_SCOPE_MARGIN:
            return [Intent.unknown]
        if best is Intent.faq and found.faq and found.faq[0].topic.id in _MATERIALS_TOPICS:
            best = Intent.materials  # the list of documents quotes the same sentence, and says more
        elif best is Intent.faq and found.faq and found.faq[0].topic.id in _WHO_TOPICS and _asks_materials(found):
            best = Intent.materials  # "推荐单位要提交啥": 推荐单位 says who submits; what is asked is the list
        if best in CONTENT:
            chosen = [best]
            for intent, score in ranked[1:]:
                if intent not in CONTENT or intent in chosen:
                    continue
                if intent in _ALSO and not _ALSO[intent].search(found.text):
                    continue  # "收材料的截止时间": 材料 named, not asked about
                # A quoted rule is added only when it was asked as plainly as the first answer.
                if score >= best_score * (1.0 if intent is Intent.faq else SECOND_ANSWER):
                    chosen.append(intent)
                    break
            return chosen
        return [best]

    # --- composing -----------------------------------------------------------------------------------------

    def _compose(self, chat: Chat | None, found: Understanding, intents: list[Intent]) -> str:
        parts = [self._one(chat, found, intent) for intent in intents]
        return "\n\n".join(part for part in parts if part)

    def _one(self, chat: Chat | None, found: Understanding, intent: Intent) -> str:
        moment = self.now()
        simple: dict[Intent, Callable[[], str]] = {
            Intent.help: lambda: HELP,
            Intent.greeting: lambda: GREETING,
            Intent.thanks: lambda: THANKS,
            Intent.window: lambda: _windows(found, moment),
            Intent.materials: lambda: answer_materials(found.tracks, moment),
            Intent.eligibility: lambda: answer_eligibility(found),
            Intent.faq: lambda: (
                answer_faq(found.faq, found.tracks, found.text) if found.faq else answer_unknown(found.province)
            ),
            Intent.overview: lambda: _overview(found.tracks, moment),
            Intent.unknown: lambda: answer_unknown(found.province),
        }
        if intent in simple:
            return simple[intent]()
        return self._private(chat, found, intent)

    def _private(self, chat: Chat | None, found: Understanding, intent: Intent) -> str:
        """Status, binding and unlinking: only for a chat that can be recognised again, and with the database."""
        from zhengji.bot.answers import status as wording

        if chat is None or self.desk is None:
            return wording.NEEDS_CHAT
        if intent is Intent.verify:
            return self.desk.verify(chat, found.digits or "")
        if intent is Intent.unlink:
            return self.desk.unlink(chat, found.references)
        if intent is Intent.bind:
            return self.desk.request_code(chat, found.references, found.emails)
        return self.desk.status(chat, found.references)


_FORM_NAMES = re.compile(r"建议书|汇总表|推荐表")
_LEANING_PART = 8
"""A part of a several-part message this short that nothing answers is taken to ask more of the part before."""
_QUOTE = re.compile(r"根据[^：。\n]{2,40}：“[^\n]*?”(?=$|\n|[^“]|。)")


def _once(text: str, before: list[str]) -> list[str]:
    """The paragraphs of ``text`` not already answered, each clause quoted once: a quotation given in an
    earlier paragraph is not repeated (the paper and channel answers of one question cite the same clause)."""
    said = "\n\n".join(before)
    kept: list[str] = []
    for paragraph in text.split("\n\n"):
        if paragraph in said or paragraph in kept:
            continue
        body = paragraph.split("\n")[1:]
        if body and all(line in said or any(line in earlier for earlier in kept) for line in body):
            continue  # the same list under another heading ("各征集事项的申报渠道如下")
        for quote in _QUOTE.findall(paragraph):
            if quote in said or any(quote in earlier for earlier in kept):
                paragraph = paragraph.replace(quote, "").rstrip()
        kept.append(paragraph)
    return kept


_MATERIALS_TOPICS = frozenset({"how_to_submit"})
"""FAQ topics whose answer is part of the materials answer."""
_WHO_TOPICS = frozenset({"who_may_apply"})
"""FAQ topics a question may name only as the one who acts ("推荐单位要提交啥" asks for the materials)."""


def _asks_materials(found: Understanding) -> bool:
    return bool(_ALSO[Intent.materials].search(found.text)) and found.scores.get(Intent.materials, 0) >= THRESHOLD


_REPEATABLE = (Intent.window, Intent.materials, Intent.eligibility)
"""What a bare follow-up ("广东的呢？") asks again of its own subject."""


_RHYTHM = re.compile(r"每(个)?(季度|年|月)|规律|固定(在|是)|(上|中|下)旬|哪几个月|几月份?(受理|征集|申报)")
"""A question about how a collection recurs, not only about its next dates."""


def _windows(found: Understanding, moment: datetime) -> str:
    """The windows of the tracks asked about; with the rule they recur by when that is what is asked."""
    text = answer_windows(found.tracks, moment)
    if not _RHYTHM.search(found.text):
        return text
    lines = [line for track in found.tracks or load_registry().tracks() if (line := rhythm_line(track, moment))]
    return "\n".join([text, *lines]) if lines else text


def _overview(tracks: list[Track], moment: datetime) -> str:
    return answer_windows(tracks, moment) + "\n\n" + answer_materials(tracks, moment)


def _topics_of_tracks(found: Understanding) -> Understanding:
    """A notice topic no notice of the tracks asked about answers is no answer ("省属单位报新职业走哪个流程" in
    Guangdong is not 76号's 遴选流程): it is set aside, and with it the faq score when none is left."""
    if not found.tracks or not found.faq:
        return found
    # Only tracks named in so many words count: 汇总表 or 建议书 alone are every track's forms.
    if not tracks_in(_FORM_NAMES.sub("", found.text)):
        return found
    asked = set(found.tracks)
    kept = [match for match in found.faq if any(asked & set(source.tracks) for source in match.topic.sources)]
    if len(kept) == len(found.faq):
        return found
    scores = dict(found.scores)
    unanswered = found.unanswered
    if kept:
        scores[Intent.faq] = 4.0 * kept[0].hits
    else:
        scores.pop(Intent.faq, None)
        unanswered = found.faq[0].topic.title
    return Understanding(**{**found.__dict__, "faq": kept, "scores": scores, "unanswered": unanswered})


def _topics_issued(found: Understanding) -> Understanding:
    """A topic no notice issued on the answer's day answers for the tracks asked about (76号's 推荐主体 on
    2024-10-10) is no answer: it is set aside, and with it the faq score when none is left."""
    if not found.faq:
        return found
    kept = [match for match in found.faq if issued_for(match.topic, found.tracks)]
    if len(kept) == len(found.faq):
        return found
    scores = dict(found.scores)
    if kept:
        scores[Intent.faq] = min(scores.get(Intent.faq, 0.0), 4.0 * kept[0].hits)
    else:
        scores.pop(Intent.faq, None)
    return Understanding(**{**found.__dict__, "faq": kept, "scores": scores})


def _issued_only(text: str, moment: datetime, region: str | None) -> str:
    """The last word on time: an answer never names a notice dated after the business day. Every path chooses
    its quotes and rules through zhengji.bot.asof; a paragraph that still names a later notice (a bug) is left
    out, and an answer left empty admits it does not know."""
    day = shanghai_date(moment)
    if not unknown_numbers(text, day):
        return text
    kept = [paragraph for paragraph in text.split("\n\n") if not unknown_numbers(paragraph, day)]
    log.error(
        "an answer named a notice not issued on %s; %d paragraph(s) left out", day, text.count("\n\n") + 1 - len(kept)
    )
    return "\n\n".join(kept) if kept else answer_unknown(region)


def _with_context(found: Understanding, context: Context) -> Understanding:
    """A follow-up takes what the chat was talking about: its tracks, its occupations, and, when it asks
    nothing itself, the last question ("下一期呢" after a window question)."""
    if not (context.intents or context.tracks or context.occupations) or found.command is not None:
        return found
    changes: dict[str, Any] = {}
    follow_up = is_follow_up(found)
    if not found.tracks and context.tracks and (follow_up or not found.mentions_occupation):
        changes["tracks"] = [Track(track) for track in context.tracks]
    asks_occupation = found.scores.get(Intent.eligibility, 0) > 0
    if not found.mentions_occupation and context.occupations and follow_up and asks_occupation:
        entries = {entry.seq: entry for entry in catalog_index().catalog.entries}
        rows = tuple(entries[seq] for seq in context.occupations if seq in entries)
        if rows:
            changes["names"] = [NameMatch(rows[0].name, rows, exact=True)]
            changes["scores"] = {**found.scores, Intent.eligibility: found.scores[Intent.eligibility] + 3}
    if follow_up and not any(
        found.scores.get(intent, 0) >= THRESHOLD for intent in Intent if intent != Intent.overview
    ):
        last = [Intent(value) for value in context.intents if value in Intent.__members__]
        if last and last[0] in _REPEATABLE:
            scores = dict(found.scores)
            scores[last[0]] = THRESHOLD
            scores.pop(Intent.overview, None)
            changes["scores"] = scores
    if not changes:
        return found
    return Understanding(**{**found.__dict__, **changes})


def _remember(context: Context, found: Understanding, intents: list[Intent], acts: list[Act]) -> Context:
    """The chat's state after this turn: what it named replaces what it had; a turn that named nothing (or
    failed) keeps the region, track, topic and field it had."""
    occupations = [entry.seq for match in found.names for entry in match.entries]
    content = [intent.value for intent in intents if intent in CONTENT or intent is Intent.overview]
    fields = [act.field for act in acts if act.field is not None]
    field_index = vocabulary().spec.fields.index(fields[-1]) if fields else None
    tracks = [track.value for track in found.tracks] or context.tracks
    region = found.province or (_region_of(found.tracks) if found.tracks else None) or context.region
    return Context(
        intents=content or context.intents,
        tracks=tracks,
        occupations=occupations or context.occupations,
        region=region,
        place=found.place or (context.place if region == context.region else None),
        topic=acts[-1].id if acts else (content[0] if content else context.topic),
        field=field_index if field_index is not None else (context.field if acts or not content else None),
    )


_ANSWERED_BY_ACTS = frozenset({*CONTENT, Intent.overview, Intent.unknown, Intent.greeting, Intent.help})
"""What the intent rules chose that a question act may answer better (never status, binding or a command)."""
_ACT_INTENT = {
    "can_now": Intent.window,
    "seal": Intent.materials,
    "formats": Intent.materials,
    "contents": Intent.materials,
}
"""The intent an act's answer is reported as (the channels and tests read ``intents``)."""
_OCCUPATION_ACTS = frozenset({"can_now", "channel", "who_may"})
"""Acts an occupation's name turns into an eligibility question."""
_FOLLOWED = frozenset({"can_now", "channel", "paper", "who_may", "field", "silent", "seal", "formats"})
"""Acts a bare follow-up ("那广东的呢", "那前景呢") asks again of its new subject."""
_ALSO = {
    Intent.materials: re.compile(
        r"(什么|哪些|啥)(材料|资料|文件|表格?)|(材料|资料)(有|是|要|需要)?(哪些|什么|啥)|材料清单|(交|提交|准备)(什么|哪些|啥)"
        r"|还有(别的|其他|其它)"
    ),
    Intent.window: re.compile(
        r"什么时候|何时|几号|哪天|截止(日期|时间)?(是)?(哪|什么|几)|窗口期|下一期|最后一天|(上|中|下)旬|(第一|头一)(次|期|轮)"
    ),
}
"""Intents answered beside an act only when asked in so many words."""


def _acts(found: Understanding, context: Context, asked: list[Act], *, asks_own: bool = False) -> list[Act]:
    """The acts to answer: those ``asked`` in the text (``acts_in(found.text)``), fitted to what the message
    and the chat's state say."""
    acts = asked
    if found.faq:
        yields = vocabulary().yields_to
        best = found.faq[0].topic.id
        acts = [act for act in acts if best not in yields.get(act.id, frozenset())]
    if found.out_of_scope:
        # 社保, 培训班: the honest "I do not know" of understand.OUT_OF_SCOPE stands; a subject the notices are
        # known to be silent on (申报收费) is answered as such, and "are you a person" as ever.
        # "周末去哪玩" names a holiday, but asks nothing of a collection: the silent subject is not what it asks.
        daily = bool(DAILY_LIFE.search(found.text)) and not WINDOW_SUBJECTS.search(found.text)
        return [act for act in acts if act.id == "identity" or (act.id == "silent" and not daily)]
    unplaced = not found.tracks and not found.province and not context.region
    if unplaced and found.faq and found.faq[0].topic.id == "paper_copies":
        acts = [act for act in acts if act.id not in {"paper", "channel"}]  # the notice that asks for paper
    if found.faq and found.faq[0].topic.id == "late":
        acts = [act for act in acts if act.id != "can_now"]  # "逾期了还能交吗": the notice's 逾期 clause answers
    if found.mentions_occupation and not any(act.id == "identity" for act in acts):
        # "育婴员还能报吗" asks about the occupation: the catalog answers it, not the calendar.
        acts = [act for act in acts if act.id not in _OCCUPATION_ACTS]
    if acts or not is_follow_up(found) or context.topic not in _FOLLOWED or asks_own:
        return acts
    if context.topic == "field" and context.field is not None:
        return [Act("field", 0, field=vocabulary().spec.fields[context.field])]
    if context.topic in {"field", "silent"}:
        return []
    return [Act(context.topic or "", 0)]


def _region_of(tracks: list[Track]) -> str | None:
    provinces = {load_registry().track_rules(track)[-1][0].province for track in tracks}
    return provinces.pop() if len(provinces) == 1 else None


def _act_tracks(found: Understanding, region: str | None) -> list[Track]:
    """The tracks an act is about: those named (or kept from the chat), fitted to the region asked about."""
    tracks = list(found.tracks)
    if region == "guangdong":
        tracks = [Track.gd_new_occupation if track is Track.new_occupation else track for track in tracks]
        tracks = [track for track in dict.fromkeys(tracks) if _region_of([track]) == "guangdong"]
        return tracks or [Track.gd_new_occupation]
    if region == "shanghai" and found.province == "shanghai":
        tracks = [Track.new_occupation if track is Track.gd_new_occupation else track for track in tracks]
        return list(dict.fromkeys(tracks))
    return tracks


def _province_tracks(region: str | None) -> list[Track]:
    tracks = load_registry().tracks()
    return [track for track in tracks if region is None or _region_of([track]) == region]

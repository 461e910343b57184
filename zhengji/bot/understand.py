"""Understanding one message: what it asks (the intents, ranked) and what it names (codes, occupations, tracks,
references, a one-time code, an address).

A small rule classifier is enough for the questions applicants ask: weighted patterns per intent (a table,
not an if-chain), boosted by the entities found, jieba for word boundaries and rapidfuzz for typos. Nothing
is downloaded and nothing is learned at run time, so an answer can always be traced to a rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from zhengji.bot.catalog import CodeMention, NameMatch, catalog_index, read_codes
from zhengji.bot.faq import FaqMatch, load_faq
from zhengji.bot.segment import Token, segmenter
from zhengji.bot.text import has_han, normalize
from zhengji.bot.typos import repair
from zhengji.bot.vocabulary import STOP_WORDS, in_chinese, region_in, tracks_in, vocabulary
from zhengji.notices.registry import Track
from zhengji.storage.references import ALPHABET


class Intent(StrEnum):
    help = "help"
    greeting = "greeting"
    thanks = "thanks"
    status = "status"
    bind = "bind"
    verify = "verify"
    unlink = "unlink"
    eligibility = "eligibility"
    window = "window"
    materials = "materials"
    faq = "faq"
    overview = "overview"  # a track named and nothing asked of it
    unknown = "unknown"


# Commands every channel understands (Telegram shows them in its menu; the web chat and WeChat take them too).
COMMANDS: dict[str, Intent] = {
    "start": Intent.help,
    "help": Intent.help,
    "status": Intent.status,
    "bind": Intent.bind,
    "unbind": Intent.unlink,
    "unlink": Intent.unlink,
    "window": Intent.window,
    "eligible": Intent.eligibility,
    "materials": Intent.materials,
}

# Subjects the notices do not speak of: a question about them gets an honest "I do not know" unless it also
# asks something the bot clearly answers.
OUT_OF_SCOPE = re.compile(
    r"报名费|收费|费用|多少钱|价格|工资|薪资|待遇|社保|公积金|个税|退休|养老金|天气|招聘|招人|落户|积分|学历|"
    r"培训班|课程|教材|题目|考试(内容|时间|地点|科目)|怎么考|考点在|准考证|成绩(查询|单)|补考|发票|快递单号|"
    r"帮(我|忙|我们)(写|填|改)|代写|代填|加急|快递(到哪|到了|单号|物流|查询|进度)|查.{0,2}(快递|物流)|物流(信息|到哪)|"
    r"(去|到)?(哪|哪里|哪儿)(玩|吃|旅游|逛)|旅游|好玩"
)
# Matters of daily life, not of a collection: a holiday named in them ("周末去哪玩") asks nothing the notices are
# silent on either.
DAILY_LIFE = re.compile(
    r"快递(到哪|到了|单号|物流|查询|进度)|查.{0,2}(快递|物流)|物流(信息|到哪)|(哪|哪里|哪儿)(玩|吃|旅游|逛)|旅游|好玩"
)
# A "when" question about something that is no window (评审会, 结果, 公示名单): the notices fix no date for it.
OTHER_EVENTS = re.compile(r"评审|论证会|评估结果|结果|名单|公布|发证|证书|考试|答辩|考察|开会|会议")
WINDOW_SUBJECTS = re.compile(r"受理|申报|征集|报送|提交|推荐|截止|截至|交|报|收|窗口|下一期|本期")


@cache
def _rules() -> dict[Intent, tuple[tuple[re.Pattern[str], float], ...]]:
    """The intent rules of the vocabulary file (``[[rules]]``), compiled once; an unknown intent stops start-up."""
    table: dict[Intent, list[tuple[re.Pattern[str], float]]] = {}
    for rule in vocabulary().spec.rules:
        table.setdefault(Intent(rule.intent), []).append((re.compile(rule.pattern), rule.weight))
    return {intent: tuple(rules) for intent, rules in table.items()}


CONTENT = (Intent.eligibility, Intent.window, Intent.materials, Intent.faq)
"""Intents that answer from the notices; two of them may be answered together ("什么时候截止，交什么材料")."""
THRESHOLD = 2.0
"""The score an intent needs to be answered; below it the bot says it does not know."""

_REFERENCE = re.compile(
    rf"z\s*j\s*[-_ ]?\s*(\d{{4}})\s*[-_ ]?\s*q\s*([1-4])\s*[-_ ]?\s*([{ALPHABET.lower()}]{{6}})(?![a-z0-9])"
)
_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+")
_SIX_DIGITS = re.compile(r"(?<!\d)(\d{6})(?!\d)")
# Digits in three or four groups that no reading of a 大典 code fits ("40-4-5-5", "4-004-05-05"); a date has a
# four-digit year first and is left alone.
_CODE_LIKE = re.compile(r"(?<![\d.-])(?!\d{4}-)\d{1,3}(?:-\d{1,3}|-z\d){2,3}(?![\d-])")
_COMMAND = re.compile(r"^/([a-z]+)(?:@\w+)?(?:\s+|$)")
_OCCUPATION_ENDING = re.compile(r"(师|员|工|手|匠)$")
_PART_BREAK = re.compile(r"[?？!！。；;，,\s]+")
_QUESTION_WORD = re.compile(
    r"吗|么|呢|多少|(?<!好)几|哪|什么|啥|怎么|怎样|如何|是否|是不是|要不要|需不需要|能不能|可不可以|有没有|谁|分别|多久|"
    r"多长|可以不|(\w)不\1|\?"
)
_FOLLOW_UP = re.compile(r"^(那|那么|还有|另外|再问(一下)?|请问)?.{0,6}(呢|吗)?[?]?$")


@dataclass(frozen=True)
class Understanding:
    """One message as the core reads it."""

    original: str
    text: str  # normalized
    command: Intent | None = None
    argument: str = ""
    tracks: list[Track] = field(default_factory=list)
    province: str | None = None
    codes: list[CodeMention] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)  # looks like a code, is not of the 大典's form
    names: list[NameMatch] = field(default_factory=list)
    ambiguous: list[list[NameMatch]] = field(default_factory=list)
    unfound: list[str] = field(default_factory=list)
    place: str | None = None  # the place name that said the province (广州, 浦东, 省属)
    references: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    digits: str | None = None
    faq: list[FaqMatch] = field(default_factory=list)
    scores: dict[Intent, float] = field(default_factory=dict)
    out_of_scope: bool = False
    # A notice topic asked about a track whose notice says nothing of it (上海新职业的奖励): the notices are silent.
    unanswered: str | None = None

    @property
    def ranked(self) -> list[tuple[Intent, float]]:
        return sorted(self.scores.items(), key=lambda item: -item[1])

    @property
    def mentions_occupation(self) -> bool:
        return bool(self.codes or self.malformed or self.names or self.ambiguous or self.unfound)


def understand(message: str) -> Understanding:
    """Read ``message``: normalize it, pull out its entities and score every intent."""
    text = repair(in_chinese(normalize(message)))
    command: Intent | None = None
    argument = text
    found = _COMMAND.match(text)
    if found:
        command = COMMANDS.get(found.group(1), Intent.help)
        argument = text[found.end() :].strip()
    references = [f"ZJ-{year}Q{quarter}-{suffix.upper()}" for year, quarter, suffix in _REFERENCE.findall(argument)]
    emails = _EMAIL.findall(argument)
    rest = _EMAIL.sub(" ", _REFERENCE.sub(" ", argument))
    codes = read_codes(rest)
    for code in codes:
        rest = rest.replace(code.typed, " ")
    malformed = [match.group(0) for match in _CODE_LIKE.finditer(rest)]
    digits = _SIX_DIGITS.search(rest)
    compact = rest.replace(" ", "")
    tokens = segmenter().tokens(compact)
    names, ambiguous, unfound = _occupations(compact, tokens)
    province, place = region_in(text)
    tracks = tracks_in(text)
    if province == "guangdong" and Track.new_occupation in tracks:
        # A Guangdong city's new occupation is 159号's, whatever words it used (建议书, 新职业).
        tracks = [Track.gd_new_occupation if track is Track.new_occupation else track for track in tracks]
        tracks = list(dict.fromkeys(tracks))
    faq = load_faq().match(text)
    understanding = Understanding(
        original=message,
        text=text,
        command=command,
        argument=argument,
        tracks=tracks,
        province=province,
        place=place,
        codes=codes,
        malformed=malformed,
        names=names,
        ambiguous=ambiguous,
        unfound=unfound,
        references=list(dict.fromkeys(references)),
        emails=list(dict.fromkeys(emails)),
        digits=digits.group(1) if digits else None,
        faq=faq,
        out_of_scope=bool(OUT_OF_SCOPE.search(text)),
    )
    return _scored(understanding)


def _occupations(text: str, tokens: list[Token]) -> tuple[list[NameMatch], list[list[NameMatch]], list[str]]:
    """Catalog names written out, names that look like typos of one (or of several), and names not found."""
    index = catalog_index()
    boundaries = {0, len(text)} | {token.start for token in tokens} | {token.end for token in tokens}
    names = index.find_exact(text, boundaries)
    covered = [(text.find(match.typed), text.find(match.typed) + len(match.typed)) for match in names]
    ambiguous: list[list[NameMatch]] = []
    unfound: list[str] = []
    for span, start, end in _spans(tokens):
        if any(start < right and left < end for left, right in covered):
            continue
        candidates = index.find_fuzzy(span)
        if len(candidates) == 1:
            names.append(candidates[0])
        elif candidates:
            ambiguous.append(candidates)
        elif _OCCUPATION_ENDING.search(span) and len(span) >= 2:
            unfound.append(span)
    return names, ambiguous, unfound


def _spans(tokens: list[Token]) -> list[tuple[str, int, int]]:
    """Runs of words that are not question words: the names a question may be about."""
    spans: list[tuple[str, int, int]] = []
    run: list[Token] = []
    for token in [*tokens, Token("", -1, -1)]:
        word = token.word
        if word and word not in STOP_WORDS and has_han(word):
            run.append(token)
            continue
        if run:
            span = "".join(item.word for item in run)
            if len(span) >= 2:
                spans.append((span, run[0].start, run[-1].end))
            run = []
    return spans


def _scored(found: Understanding) -> Understanding:
    scores: dict[Intent, float] = {}
    for intent, rules in _rules().items():
        score = sum(weight for pattern, weight in rules if pattern.search(found.text))
        if score:
            scores[intent] = score
    words = vocabulary()
    if words.status.search(found.text):
        scores[Intent.status] = scores.get(Intent.status, 0) + words.spec.status.weight
    if found.faq:
        scores[Intent.faq] = 4.0 * found.faq[0].hits
    if found.codes or found.malformed:
        scores[Intent.eligibility] = scores.get(Intent.eligibility, 0) + 5
    elif found.names or found.ambiguous:
        scores[Intent.eligibility] = scores.get(Intent.eligibility, 0) + 3
    elif found.unfound and Intent.eligibility in scores:
        scores[Intent.eligibility] += 3
    other_event = False
    if Intent.window in scores and OTHER_EVENTS.search(found.text) and not WINDOW_SUBJECTS.search(found.text):
        del scores[Intent.window]
        other_event = True
    if found.references or (found.emails and Intent.bind in scores):
        scores[Intent.bind] = scores.get(Intent.bind, 0) + 4
    named = found.tracks and tracks_in(_without_places(found.text))
    if named and not other_event and not any(scores.get(intent, 0) >= THRESHOLD for intent in CONTENT):
        scores[Intent.overview] = THRESHOLD
    if found.command is not None:
        scores[found.command] = scores.get(found.command, 0) + 100
    return Understanding(**{**found.__dict__, "scores": scores, "out_of_scope": found.out_of_scope or other_event})


def _without_places(text: str) -> str:
    """The message without its place names: a city alone ("去广州的机票") names no collection to describe."""
    for _, pattern in vocabulary().regions:
        text = pattern.sub(" ", text)
    return text


def question_parts(message: str) -> list[str]:
    """The questions a message asks, in order: it is cut at its punctuation and spaces, and kept whole unless
    every piece asks something of its own (a question word, a "吗"). "端午节放假 邮箱有人处理吗" and "可以吗
    还是要等" stay one question; "建议书要盖章吗？产生背景写多少字？" is two. A command is never cut."""
    if _COMMAND.match(message.strip().lower()):
        return [message]
    pieces = [piece for piece in _PART_BREAK.split(message) if piece.strip()]
    if len(pieces) < 2 or not all(_QUESTION_WORD.search(normalize(piece)) for piece in pieces):
        return [message]
    return pieces


def is_follow_up(found: Understanding) -> bool:
    """A short message that leans on the previous one ("那材料呢？", "下一期呢")."""
    return bool(_FOLLOW_UP.match(found.text)) and len(found.text) <= 12

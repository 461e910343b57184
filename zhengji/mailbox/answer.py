"""The reply to a mail that is not a submission: a question, answered from the notices by the chat bot's core.

A mail with no file (pictures pasted into its text aside) brings no form to check, so judging it against a
track would only demand forms of someone who asked a question ("请问新职业申报需要哪些材料"). Its reply answers
what the notices answer, with the same core as every chat channel (:class:`zhengji.bot.core.Bot`, on the
mail's received time as its clock), says how to submit (which forms, to which mailbox, in which window, from the
notice registry), and demands nothing. The mail is filed as a case of track and status ``unknown`` without
findings, so that a clerk still finds it in the queue; a mail that answers an existing case is filed to that
case and leaves its documents and verdict as they were.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING

from zhengji.clock import Clock
from zhengji.mailbox.compose import (
    ITEM_LIMIT,
    ComposedReply,
    _environment,
    _greeting,
    _received,
    _subject_text,
    reply_subject,
    voice,
)
from zhengji.mailbox.envelope import Envelope
from zhengji.mailbox.mime import IncomingMail
from zhengji.notices.calendar import cn_date
from zhengji.notices.registry import Track, load_registry
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.submission import CheckedSubmission, Mail
from zhengji.textsafe import clean_line

# The bot's answering core sits below the mailbox (ARCHITECTURE.md, "Layers"): a pure function of the notices, the
# catalog and the database, which knows nothing of mail. It is imported when a question mail arrives, because it
# loads its vocabularies and the catalog, which no other mail needs.
if TYPE_CHECKING:
    from zhengji.bot.core import Answer

QUESTION_LIMIT = 400
"""How much of a mail's text is put to the bot (characters): a question is short; what follows it is quoted
mail, signatures and disclaimers, whose words would only make the bot answer what was not asked."""


def _from_the_notices(answer: Answer) -> bool:
    """Whether the bot answered from the notices; a greeting, a help text or a chat-only step is no mail answer."""
    from zhengji.bot.understand import CONTENT, Intent

    return any(intent in {*CONTENT, Intent.overview} for intent in answer.intents)


_QUOTED = re.compile(r"^\s*(>|-{2,}|_{5,}|={5,}|发件人[:：]|From:|在.{0,40}写道[:：]|On .{0,80}wrote:)", re.IGNORECASE)


def is_question(incoming: IncomingMail | Envelope) -> bool:
    """A mail with no file of its own: none at all, or only pictures shown in its text."""
    return all(attachment.embedded for attachment in incoming.attachments)


def question_text(incoming: IncomingMail | Envelope) -> str:
    """The subject and the sender's own words: the body up to the first quoted mail or signature line."""
    lines = []
    for line in incoming.text.splitlines():
        if _QUOTED.match(line):
            break
        lines.append(line.strip())
    subject = re.sub(r"^\s*((re|fw|fwd|回复|转发)\s*[:：]\s*)+", "", incoming.subject, flags=re.IGNORECASE)
    return "\n".join(part for part in [subject, *lines] if part)[:QUESTION_LIMIT]


def as_question(mail: Mail, documents: list[ParsedDocument]) -> CheckedSubmission:
    """The checked submission of a question: no track, no window, no finding (the contract's ``unknown``)."""
    return CheckedSubmission("unknown", None, mail.received, None, documents, [], "unknown", mail)


def _answer(text: str, received: datetime) -> Answer:
    from zhengji.bot.core import Bot

    """The bot core's answer, judged on the day the mail arrived (windows, days left)."""
    return Bot(clock=Clock(received)).answer(None, text)


def _center_tracks(mailboxes: list[str]) -> list[Track]:
    """The tracks whose notices name one of the answering center's mailboxes as theirs."""
    registry = load_registry()
    owned = {address.lower() for address in mailboxes}
    return [
        track
        for track in registry.tracks()
        if any(rule.mailbox.lower() in owned for _, rule in registry.track_rules(track))
    ]


def _how_to(answer: Answer | None, mailboxes: list[str], received: datetime) -> list[str]:
    """How to submit, for the tracks the question names (else those of the answering center), from the
    notices: the forms and the mailbox (unless the answer already listed them), and the window."""
    from zhengji.bot.answers.materials import governing_rule, track_materials
    from zhengji.bot.answers.windows import window_line
    from zhengji.bot.understand import Intent

    named = list(answer.tracks) if answer is not None else []
    listed = answer is not None and bool({Intent.materials, Intent.overview} & set(answer.intents))
    lines = []
    if named:
        for track in named:
            if not listed:
                lines.append(track_materials(track, received))
            lines.append(window_line(track, received))
        return lines
    for track in _center_tracks(mailboxes):
        notice, rule = governing_rule(track, received)
        if rule.channel and rule.mailbox_role == "consult":  # the notice has the application made elsewhere
            cited = f"按照{notice.number}{rule.channel_clause}，" if rule.channel_clause else ""
            lines.append(f"{window_line(track, received)}{cited}须通过{rule.channel}申报，{rule.mailbox} 为咨询邮箱。")
            continue
        forms = "、".join(f"《{document.name}》（{document.attachment}）" for document in rule.documents)
        what = f"须提交{forms}" if forms else "申报方式详见通知"
        lines.append(f"{window_line(track, received)}{what}，受理邮箱：{rule.mailbox}。")
    return lines


def compose_question(
    mail: Mail,
    question: str,
    today: date,
    *,
    reference: str | None = None,
    track: str | None = None,
    follow_up: bool = False,
) -> ComposedReply:
    """The reply to a question mail; ``reference``, ``track`` and ``follow_up`` when it was filed to an
    existing case (whose track then says how to submit, unless the question names another)."""
    from zhengji.bot.core import Answer

    answer = _answer(question, mail.received) if question else None
    if track is not None and track in Track.__members__ and (answer is None or not answer.tracks):
        answer = Answer(answer.text if answer else "", answer.intents if answer else (), (Track(track),))
    answered = answer is not None and _from_the_notices(answer)
    said = answer.text if answer is not None and answered else ""
    center = voice(as_question(mail, []))
    subject = _subject_text(mail.subject)
    body = (
        _environment()
        .get_template("question.txt.j2")
        .render(
            greeting=_greeting(mail.sender_name),
            office=center.name,
            contact=center.contact,
            received=_received(mail.received),
            subject_line=f"来信（邮件主题：{subject}）" if subject else "来信",
            reference=reference,
            follow_up=follow_up,
            # The bot may quote the sender's words (an occupation asked about): cleaned like every such text.
            answer="\n".join(clean_line(line, ITEM_LIMIT) for line in said.splitlines()),
            how_to=_how_to(answer, center.mailboxes, mail.received),
            today=cn_date(today),
        )
    )
    return ComposedReply(reply_subject(mail.subject, reference), body)

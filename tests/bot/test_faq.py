"""The bot quotes the notices, never paraphrases them: every quote of ``data/faq.toml`` is the notice's own text.

The notices are in ``shared/notices/`` beside the repository (where CI and every developer have them); white
space and the angle brackets of the text conversion aside, each quote must appear there word for word.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import need_server
from zhengji.bot.faq import cite, load_faq
from zhengji.notices.registry import load_registry

NOTICES = Path(__file__).resolve().parents[3] / "shared" / "notices"


def _plain(text: str) -> str:
    return re.sub(r"[\s<>]", "", text)


@pytest.fixture(scope="module")
def notices() -> dict[str, str]:
    if not NOTICES.is_dir():
        need_server(f"the notices' text is not at {NOTICES}")
    registry = load_registry()
    return {notice.id: _plain((NOTICES / notice.source).read_text("utf-8")) for notice in registry.notices}


def test_every_quote_is_the_notices_own_text(notices: dict[str, str]) -> None:
    faq = load_faq()
    quoted = [
        (topic.id, source.notice, quote) for topic in faq.topics for source in topic.sources for quote in source.quotes
    ]
    quoted += [("contacts", contact.notice, contact.quote) for contact in faq.contacts]
    assert len(quoted) > 60
    missing = [(topic, notice, quote) for topic, notice, quote in quoted if _plain(quote) not in notices[notice]]
    assert missing == []


def test_the_contacts_say_only_what_their_quotes_say() -> None:
    for contact in load_faq().contacts:
        for fact in re.findall(r"[\w.-]+@[\w.-]+|\d[\d-]{6,}", contact.text):
            assert fact in contact.quote


def test_an_answer_names_the_notice_and_its_clause() -> None:
    source = load_faq().topic("pass_score").sources[0]
    assert cite(source) == "根据沪人社职〔2025〕140号（四、组织实施）：“考核成绩实行百分制，总分 60 分及以上为合格。”"

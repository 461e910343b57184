"""An outgoing mail server that accepts TCP and never answers must not stop intake or the other mails.

The reply step hands a reply over between two transactions, so the database is free while it waits: inbound
SMTP keeps answering ``250``, other mails keep being claimed, parsed and checked, and ``zhengji serve`` still
stops within seconds when told to, giving back the replies it could not hand over.
"""

from __future__ import annotations

import smtplib
import threading
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.mailbox.crash_support import MAILBOX, Service, small_mail
from tests.mailbox.pipeline_support import CORPUS, SilentProvider, arrive, drain
from tests.servers.ports import free_port
from zhengji.clock import SHANGHAI
from zhengji.mailbox.pipeline import PROCESSING, SENDING_ORDER, Pipeline
from zhengji.settings import load_settings
from zhengji.storage.db import make_engine
from zhengji.storage.models import Message, MessageState, Reply, ReplyState

REHEARSAL = datetime(2025, 6, 23, 16, 45, tzinfo=SHANGHAI)


def test_a_reply_waiting_on_a_silent_provider_holds_no_lock(engine: Engine, tmp_path: Path) -> None:
    with SilentProvider() as provider:
        settings = load_settings(
            data_dir=tmp_path / "var",
            database_url=engine.url.render_as_string(hide_password=False),
            outbound_smtp_url=f"smtp://127.0.0.1:{provider.port}",
        )
        raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
        first = arrive(engine, settings, raw)
        assert drain(Pipeline(engine, settings, states=PROCESSING)) == 2  # parsed and checked
        sender = Pipeline(engine, settings, worker="sender", states=SENDING_ORDER)
        sending = threading.Thread(target=sender.run_once, daemon=True)
        sending.start()
        assert provider.connected.wait(30), "the reply step never reached the provider"

        # While the reply waits for the provider's greeting, intake stores a mail and a worker takes it up.
        # (On SQLite, a reply step holding its transaction made this wait 30 s and fail: "database is locked".)
        second = arrive(engine, settings, raw.replace(b"Message-ID: <", b"Message-ID: <second.", 1))
        assert drain(Pipeline(engine, settings, worker="other", states=PROCESSING)) == 2
        assert sending.is_alive(), "the provider was meant to still keep the reply waiting"
        provider.close()  # the provider hangs up at last
        sending.join(60)
        assert not sending.is_alive()
    with Session(engine) as session:
        states = {row.id: (row.state, row.attempts) for row in session.exec(select(Message)).all()}
        assert states == {first: (MessageState.checked, 1), second: (MessageState.checked, 0)}
        assert {reply.state for reply in session.exec(select(Reply)).all()} == {ReplyState.pending}


def _states(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT state, count(*) FROM messages GROUP BY state")).all()
    return {str(state): int(count) for state, count in rows}


def test_serve_keeps_taking_mail_while_the_provider_is_silent_and_stops_within_seconds(tmp_path: Path) -> None:
    mails = [small_mail("silent", number, with_attachment=False) for number in range(7)]
    with SilentProvider() as provider:
        service = Service(
            tmp_path / "var",
            tmp_path,
            imap_url="",
            smtp_port=free_port(),
            web_port=free_port(),
            environment={"ZHENGJI_OUTBOUND_SMTP_URL": f"smtp://127.0.0.1:{provider.port}"},
        )
        observer = make_engine(f"sqlite:///{tmp_path / 'var' / 'zhengji.db'}")
        try:
            service.start(REHEARSAL)
            service.wait_listening()
            with smtplib.SMTP("127.0.0.1", service.smtp_port, timeout=20) as client:
                client.sendmail(mails[0].sender, [MAILBOX], mails[0].raw)
            assert provider.connected.wait(60), f"no reply reached the provider:\n{service.output()[-3000:]}"
            # Every other mail is accepted (a client waits 20 s at most, less than a locked database's 30 s)...
            with smtplib.SMTP("127.0.0.1", service.smtp_port, timeout=20) as client:
                for mail in mails[1:]:
                    assert client.sendmail(mail.sender, [MAILBOX], mail.raw) == {}
            # ...and parsed and checked, while the replies wait for the provider.
            deadline = time.monotonic() + 60
            while _states(observer).get(MessageState.checked.value, 0) < len(mails):
                assert time.monotonic() < deadline, f"{_states(observer)}\n{service.output()[-3000:]}"
                assert service.alive(), service.output()[-3000:]
                time.sleep(0.2)
            assert service.stop(seconds=20) == 0, service.output()[-3000:]
        finally:
            service.ensure_dead()
            observer.dispose()
    log = service.output()
    assert "their mail is given back" in log, log[-3000:]
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'zhengji.db'}")
    with Session(engine) as session:
        rows = session.exec(select(Message)).all()
        assert {(row.state, row.claimed_by) for row in rows} == {(MessageState.checked, None)}
        assert {reply.state for reply in session.exec(select(Reply)).all()} == {ReplyState.pending}
    engine.dispose()

"""The queue's index on SQLite and PostgreSQL: built from the audit trail, kept current by reading only what is
new, and answering filters, counts, pages and "the next case" the way the queue page asks them."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from benchmarks.queue import seed
from zhengji.clock import real_now
from zhengji.review.index import sync
from zhengji.review.queue import QueueQuery, counts, neighbour, page
from zhengji.storage.models import AuditEvent, QueueEntry, QueueEntryCode, Submission
from zhengji.storage.status import SubmissionStatus, Verdict, record_verdict


def test_the_index_follows_the_audit_trail_and_answers_the_queue(engine: Engine) -> None:
    seed(engine, 120, random.Random(5))
    with Session(engine, expire_on_commit=False) as session:
        assert sync(session) == 120
        assert sync(session) == 0  # nothing new: nothing rebuilt
        statuses = dict(session.exec(select(Submission.status, func.count()).group_by(col(Submission.status))).all())
        everything = QueueQuery()
        assert counts(session, everything) == {str(status): number for status, number in statuses.items()}
        total, first = page(session, QueueQuery(per_page=50))
        assert total == 120 and len(first) == 50
        assert [entry.received_at for entry in first] == sorted((e.received_at for e in first), reverse=True)
        with_code = session.exec(
            select(func.count()).select_from(QueueEntryCode).where(QueueEntryCode.code == "bad_phone")
        ).one()
        assert page(session, QueueQuery(code="bad_phone"))[0] == with_code
        hit_id, hit_reference = first[7].submission_id, first[7].reference
        found = page(session, QueueQuery(q=hit_reference.lower()))[1]
        assert [entry.reference for entry in found] == [hit_reference]
        assert neighbour(session, QueueQuery(per_page=50), first[0].submission_id) == first[1].reference
        window = page(session, QueueQuery(window=date(2025, 6, 20), track="new_occupation"))
        assert window[0] > 0 and all(entry.window_start == date(2025, 6, 20) for entry in window[1])

        # A verdict of the pipeline (any writer's audit event) is seen by the next sync, and only that case is rebuilt.
        submission = session.get(Submission, hit_id)
        assert submission is not None
        before = submission.status
        target = SubmissionStatus.incomplete if before != SubmissionStatus.incomplete else SubmissionStatus.complete
        if SubmissionStatus(before) not in {
            SubmissionStatus.complete,
            SubmissionStatus.incomplete,
            SubmissionStatus.rejected,
            SubmissionStatus.unknown,
        }:
            session.add(AuditEvent(at=real_now(), actor="test", action="note", submission_id=submission.id, detail={}))
        else:
            record_verdict(session, submission, Verdict(target.value), actor="pipeline", detail={"findings": []})
        session.commit()
        assert sync(session) == 1
        entry = session.get(QueueEntry, hit_id)
        assert entry is not None and entry.status == str(session.get(Submission, hit_id).status)  # type: ignore[union-attr]

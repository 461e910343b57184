"""The write gate across the processes of one ``serve``: the SMTP server's process and the mailbox workers' child.

SQLite's busy handler lets a waiting writer sleep and poll; a workers' process that starts its next transaction
as soon as the last one committed would keep the lock from intake. With the gate between processes, a mail
waiting to be stored goes before the workers' next transaction.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import text

from tests.storage.test_locks import wait_until
from zhengji.storage.db import make_engine
from zhengji.storage.locks import WriteGate, gate_between_processes

# The workers' process: one transaction held open until told, then committed, and the next begun at once.
WORKERS = """
import sys
from sqlalchemy import text
from zhengji.storage.db import make_engine
from zhengji.storage.locks import WriteGate, gate_between_processes

engine = make_engine(sys.argv[1])
WriteGate(between_processes=gate_between_processes(engine)).install(engine, urgent=False)
with engine.begin() as connection:
    connection.execute(text("INSERT INTO steps VALUES ('step 1')"))
    print("holding", flush=True)
    sys.stdin.readline()
with engine.begin() as connection:
    connection.execute(text("INSERT INTO steps VALUES ('step 2')"))
engine.dispose()
"""


def test_a_mail_waiting_to_be_stored_goes_before_the_next_transaction_of_the_workers_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'zhengji.db'}"
    intake = make_engine(url)
    gate = WriteGate(between_processes=gate_between_processes(intake))
    gate.install(intake, urgent=True)
    with intake.begin() as connection:
        connection.execute(text("CREATE TABLE steps (who TEXT)"))
    with subprocess.Popen(
        [sys.executable, "-c", WORKERS, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as workers:
        try:
            assert workers.stdout is not None and workers.stdin is not None
            assert workers.stdout.readline().strip() == "holding"

            def store_mail() -> None:
                with intake.begin() as connection:
                    connection.execute(text("INSERT INTO steps VALUES ('mail')"))

            mail = threading.Thread(target=store_mail)
            mail.start()
            wait_until(gate.held, "the mail waits for the workers' transaction")
            workers.stdin.write("\n")
            workers.stdin.flush()
            mail.join(30)
            assert workers.wait(30) == 0
        finally:
            if workers.poll() is None:
                workers.kill()
    with intake.connect() as connection:
        order = [who for (who,) in connection.execute(text("SELECT who FROM steps ORDER BY rowid"))]
    assert order == ["step 1", "mail", "step 2"]  # the workers' next step waited for the mail
    intake.dispose()


def test_the_gate_between_processes_is_for_a_sqlite_file_only(tmp_path: Path) -> None:
    assert gate_between_processes(make_engine(f"sqlite:///{tmp_path / 'zhengji.db'}")) == tmp_path / "zhengji.db"
    assert gate_between_processes(make_engine("sqlite://")) is None

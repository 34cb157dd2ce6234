"""`fuelpipe dlq purge` at its prompt: it deletes the dead letters it read and asked about, by
message id, and none that arrived while the question was open, on either home (SQS keeps no
order: a purge of "as many as were asked about" could take a late one in place of one asked
about that another reader held)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from devtools.aws.servers import LocalServer
from tests.support.aws_backends import aws_cli_env, aws_home
from tests.support.dlq_reader import DlqReaderProxy

from fuelpipe.adapters.clock import SystemClock
from fuelpipe.adapters.sqlite_queue import SqliteQueue
from fuelpipe.adapters.sqlite_store import SqliteStore
from fuelpipe.homes.settings import queue_file
from fuelpipe.ports.queue import Queue

HANG_GUARD_S = 120
"""Only against a hang: the prompt comes as soon as the CLI has started."""


def _dead_letter(queue: Queue, body: str) -> None:
    queue.send([body])
    (message,) = queue.receive(1)
    queue.dead_letter(message, "malformed message: test")


def _read_until(fd: int, wanted: bytes, seen: bytearray) -> None:
    """Read the terminal's output into ``seen`` until ``wanted`` is in it, or it closes."""
    while wanted not in seen:
        ready, _, _ = select.select([fd], [], [], HANG_GUARD_S)
        assert ready, f"no {wanted!r} from the CLI; it printed: {seen.decode(errors='replace')}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # Linux: EIO once the CLI has exited and closed its terminal
            return
        if not chunk:
            return
        seen.extend(chunk)


def _purge_answering_yes(
    env: dict[str, str], question: bytes, while_asked: Callable[[], None]
) -> tuple[int, str]:
    """`fuelpipe dlq purge` on a terminal: once it asks ``question``, ``while_asked()`` runs,
    then the answer is yes. Its exit code and its output, on one line, without colours."""
    primary, secondary = pty.openpty()  # a terminal, so purge asks instead of refusing
    with subprocess.Popen(
        [sys.executable, "-m", "fuelpipe.cli", "dlq", "purge"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={**env, "NO_COLOR": "1", "COLUMNS": "200"},
    ) as cli:
        os.close(secondary)
        seen = bytearray()
        try:
            _read_until(primary, b"for good?", seen)
            assert question in seen, seen.decode(errors="replace")
            while_asked()
            os.write(primary, b"y\n")
            _read_until(primary, b"\0", seen)  # to the end of its output
        finally:
            os.close(primary)
        code = cli.wait(HANG_GUARD_S)
    return code, " ".join(re.sub(r"\x1b\[[0-9;]*m", "", seen.decode()).split())


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[dict[str, str], SqliteQueue]]:
    """An embedded home with two dead letters: the CLI's environment and its queue."""
    db = tmp_path / "fuelpipe.sqlite"
    SqliteStore(db).close()
    queue = SqliteQueue(queue_file(db), SystemClock(), timedelta(seconds=60))
    for body in ('{"seen": 1}', '{"seen": 2}'):
        _dead_letter(queue, body)
    env = {**os.environ, "FUELPIPE_DB": str(db)}
    env.pop("FUELPIPE_NOW", None)
    yield env, queue
    queue.close()


def test_a_dead_letter_arriving_at_the_prompt_is_not_purged(
    embedded: tuple[dict[str, str], SqliteQueue],
) -> None:
    env, queue = embedded
    code, out = _purge_answering_yes(
        env,
        b"Delete 2 dead letter(s) for good?",
        lambda: _dead_letter(queue, '{"late": 1}'),  # arrives while the question is open
    )
    assert code == 0, out
    assert "purged 2 dead letter(s)" in out
    assert "1 more arrived after they were read: run `fuelpipe dlq list`" in out
    assert [d.body for d in queue.dead_letters()] == ['{"late": 1}']


def test_dead_letters_redriven_at_the_prompt_are_not_made_up_for_with_a_late_one(
    embedded: tuple[dict[str, str], SqliteQueue],
) -> None:
    """While the question is open, another person redrives the two asked about and a third
    is dead-lettered: purging "the two oldest" deleted that one, unseen. Nothing asked about
    is there to delete, so nothing is, and it says so."""
    env, queue = embedded

    def redrive_and_a_late_one() -> None:
        assert queue.redrive() == 2
        queue.receive(10)  # taken again, and hidden: the late one is received alone
        _dead_letter(queue, '{"late": 1}')

    code, out = _purge_answering_yes(
        env, b"Delete 2 dead letter(s) for good?", redrive_and_a_late_one
    )
    assert code == 0, out
    assert "purged 0 dead letter(s)" in out
    assert (
        "2 of the 2 asked about were no longer dead-lettered (redriven or purged meanwhile)" in out
    )
    assert [d.body for d in queue.dead_letters()] == ['{"late": 1}']


@pytest.mark.aws
def test_on_sqs_a_late_dead_letter_is_not_purged_in_place_of_one_asked_about(
    moto_server: LocalServer,
) -> None:
    """Two dead letters are read and asked about; a third arrives while the question is open;
    then another reader (a second `dlq` command, the alert rule's peek) holds one of those
    asked about while the purge runs. Purging "two" took the late one, unseen, and left one
    asked about: the purge deletes the one asked about that it finds, keeps the late one,
    says one asked about was not found and exits 1 (run it again)."""
    name, context = aws_home(moto_server, "prompt")
    asked = ['{"seen": 1}', '{"seen": 2}']
    late = '{"late": 1}'
    try:
        for body in asked:
            _dead_letter(context.queue, body)
        # The DLQ's first count is the question's read; the second, the purge's own.
        with DlqReaderProxy(moto_server, name + "-dlq", at_count=2) as proxy:
            env = {
                **os.environ,
                **aws_cli_env(name, moto_server, moto_server),
                "AWS_ENDPOINT_URL_SQS": proxy.url,
            }
            code, out = _purge_answering_yes(
                env,
                b"Delete 2 dead letter(s) for good?",
                lambda: _dead_letter(context.queue, late),
            )
            proxy.give_back()
        (held,) = proxy.taken
        left = sorted(d.body for d in context.queue.dead_letters())
    finally:
        context.close()

    assert late in left  # never deleted unseen, whichever one the other reader held
    if held["Body"] == late:  # the purge found both asked about
        assert (code, left) == (0, [late]), out
        assert "purged 2 dead letter(s)" in out
    else:
        assert code == 1, out
        assert left == sorted([held["Body"], late])
        assert "purged 1 dead letter(s)" in out
        assert "1 of the 2 dead letter(s) asked about were not returned this time" in out
        assert "run `fuelpipe dlq purge` again" in out

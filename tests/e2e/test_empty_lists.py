"""`quarantine list`, `quarantine set-aside` and `dlq list` with nothing to list say so in one
sentence (they printed an empty table titled "0 quarantined", "0 set aside", "0 dead
letters"); with --json stdout stays ``[]`` and the sentence goes to stderr, as `status --json`
on an empty store does."""

from __future__ import annotations

import json

import pytest

from .conftest import fuelpipe

LISTS = {
    "quarantine list": (
        "nothing is quarantined: no record has spent its retries and waits for a person"
    ),
    "quarantine set-aside": (
        "nothing is set aside: no value a source published is kept apart from the records"
    ),
    "dlq list": "no dead letters: no message has used up its deliveries",
}


@pytest.mark.parametrize("command", list(LISTS))
def test_a_list_with_nothing_in_it_says_so_in_one_sentence(
    command: str, empty_store: dict[str, str]
) -> None:
    table = fuelpipe(*command.split(), env=empty_store)
    assert table.stdout.splitlines() == [LISTS[command]]
    assert table.stderr == ""
    as_json = fuelpipe(*command.split(), "--json", env=empty_store)
    assert json.loads(as_json.stdout) == []
    assert as_json.stderr.splitlines() == [LISTS[command]]


@pytest.mark.parametrize("command", ["redrive", "purge"])
def test_dlq_redrive_and_purge_with_no_dead_letter_say_so(
    command: str, empty_store: dict[str, str]
) -> None:
    """`dlq redrive` with none said "moved 0 message(s) back to the queue", as if some had been
    there; it says so as `dlq purge` does."""
    done = fuelpipe("dlq", command, env=empty_store)
    assert done.stdout.splitlines() == [f"no dead letters: nothing to {command}"]
    assert done.stderr == ""

"""Notes of keys the catalog no longer has: a store's meta entries named ``<prefix><key>``
(the orchestrator's ``gap_sent#``, recheck's ``lacking#``) whose key a release dropped. No
run writes such a note again, so it would stay for good: it is deleted, as read."""

from __future__ import annotations

import logging
from collections.abc import Container, Iterable

from fuelpipe.ports.store import Store

logger = logging.getLogger(__name__)


def drop_orphan_notes(
    store: Store,
    prefix: str,
    catalog: Container[str],
    read: Iterable[tuple[str, str]] | None = None,
) -> list[str]:
    """Delete each note named ``prefix`` + a key not in ``catalog``, only while it still holds
    what was read (a conditional delete: a note another writer changed meanwhile is kept, to
    the next sweep), an empty one too (a failed send's, its text lists nothing); each logged
    with what it held, so nothing of it is lost. The keys whose notes went, in name order.

    ``read``: the notes as read already, (name, text), none read again; None: one read of
    the names (a names-only read), then one read of each note of a key not in ``catalog``.
    """
    if read is None:
        names = [n for n in store.meta_names(prefix) if n.removeprefix(prefix) not in catalog]
        read = ((n, text) for n in names if (text := store.get_meta(n)) is not None)
    gone = []
    for name, text in read:
        key = name.removeprefix(prefix)
        if key not in catalog and store.delete_meta(name, text, whole=True):
            logger.info("deleted %s, the note of a key the catalog no longer has: %r", name, text)
            gone.append(key)
    return gone

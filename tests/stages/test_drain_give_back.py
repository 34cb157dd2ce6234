"""A drain stopped mid-batch by any error gives the rest of its batch back to the queue, so the
rerun takes them at once instead of waiting out their visibility timeout (only Ctrl+C did)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.stages.conftest import START, usd_values
from tests.support.fakes import TableSource

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.failpoints import Failpoints
from fuelpipe.ports.source import FetchRequest, FetchResult
from fuelpipe.stages.cycle import drain
from fuelpipe.stages.orchestrate import orchestrate

SERIES = [DEFAULT_CATALOG[k] for k in ("CURRENCY#USD", "CURRENCY#EUR", "CURRENCY#GBP")]


class _BrokenParser(TableSource):
    """Serves the three currencies; its ``broken``-th fetch raises what no source error
    covers, as a parser bug would."""

    def __init__(self, broken: int | None) -> None:
        values = {
            (s.key, day): value + Decimal(i) for i, s in enumerate(SERIES)
            for (_k, day), value in usd_values().items()
        }  # fmt: skip
        super().__init__("bcb", values)
        self.broken = broken

    def fetch(self, request: FetchRequest) -> FetchResult:
        if len(self.calls) + 1 == self.broken:
            self.calls.append(request)
            raise ValueError("unexpected token in the payload")
        return super().fetch(request)


def test_an_error_mid_batch_gives_the_rest_of_the_batch_back(make_app) -> None:
    source = _BrokenParser(broken=2)
    app = make_app(source)
    assert orchestrate(app, series=SERIES, since=START).messages_sent == 3

    with pytest.raises(ValueError, match="unexpected token"):
        drain(app)

    # the clock has not moved: nothing waits out the visibility timeout
    back = app.queue.receive(10)
    assert len(back) == 2  # the failed message and the one after it; the first is done
    assert all(m.receive_count == 2 for m in back)
    app.queue.release([m.receipt for m in back])
    source.broken = None
    drain(app)
    assert all(app.store.query(s.key) for s in SERIES)
    assert app.queue.depth().visible == app.queue.depth().in_flight == 0


def test_an_interruption_after_a_delete_gives_the_rest_back_too(make_app) -> None:
    """Ctrl+C right after a message is deleted: the batch's later messages go back as well."""

    def interrupt(_signum: object) -> None:
        raise KeyboardInterrupt

    app = make_app(_BrokenParser(broken=None))
    app.failpoints = Failpoints("drain.after_delete:1", kill=interrupt)
    assert orchestrate(app, series=SERIES, since=START).messages_sent == 3

    with pytest.raises(KeyboardInterrupt):
        drain(app)

    assert len(app.queue.receive(10)) == 2

"""The embedded home: SQLite store and queue in one file on this machine, no account needed."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fuelpipe.domain.catalog import DEFAULT_CATALOG, Catalog
from fuelpipe.failpoints import Failpoints
from fuelpipe.homes.settings import Settings, policy_from, queue_file
from fuelpipe.homes.sources import build_sources
from fuelpipe.ports.clock import Clock
from fuelpipe.ports.queue import DeadLetter, HeldMessages, Message, Queue, QueueDepth
from fuelpipe.ports.source import Source, SourceStats
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.source_rest import OwnEnds, RestEnds, Rests, SourceRests

if TYPE_CHECKING:
    from multiprocessing.context import SpawnContext
    from multiprocessing.sharedctypes import SynchronizedArray
    from multiprocessing.synchronize import Event

    from fuelpipe.adapters.process_lock import ProcessLock
    from fuelpipe.adapters.sources._http import BreakerState
    from fuelpipe.stages.scrape import ScrapeReport


def build_context(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sources: Mapping[str, Source] | None = None,
    catalog: Catalog | None = None,
    read_only: bool = False,
    clock_meta: str | None = None,
    queue_on_demand: bool = False,
    rests: Rests | None = None,
) -> StageContext:
    """Wire the embedded home from settings; tests pass their own clock or sources.

    ``read_only``: for a command that only reads; neither the store nor the queue file is
    created or written (a queue file that is not there reads as empty).
    ``queue_on_demand``: the queue file is opened at the queue's first use, not now: a command
    that never uses the queue (`status`, `export`, `outlook show`) runs whatever state that
    file is in (a damaged one is refused by the first command that does use it).
    ``clock_meta``: a store keeping an instant under this meta entry runs on it when no
    clock and no --now is given (see :func:`fuelpipe.homes.build_home`).
    ``rests``: the sources' Retry-After kept on the context (`run`'s and `watch`'s:
    ``build_home(keeps_rests=True)``; a `run --workers` process's, shared by the run's
    processes: :class:`SharedRestEnds`); None: none kept.
    """
    from fuelpipe.adapters.clock import FixedClock, SystemClock
    from fuelpipe.adapters.sqlite_queue import SqliteQueue
    from fuelpipe.adapters.sqlite_store import SqliteStore
    from fuelpipe.homes import stored_clock

    business_clock: Clock = clock or (FixedClock(settings.now) if settings.now else SystemClock())
    # updated_at is stamped by the business clock the stages see, as in the AWS home.
    store = SqliteStore(settings.db, clock=business_clock, read_only=read_only)
    if clock_meta and clock is None and settings.now is None:
        try:
            business_clock = store.clock = stored_clock(store, clock_meta) or business_clock
        except BaseException:
            store.close()
            raise

    def open_queue() -> Queue:
        # The visibility timeout is operational time, so it always runs on the real clock.
        return SqliteQueue(
            queue_file(settings.db),
            clock=SystemClock(),
            visibility_timeout=timedelta(seconds=settings.visibility_timeout_s),
            max_receives=settings.max_receives,
            read_only=read_only,
        )

    try:
        queue = (
            QueueOnDemand(open_queue, settings.max_receives) if queue_on_demand else open_queue()
        )
    except BaseException:
        store.close()
        raise
    return StageContext(
        catalog=catalog or DEFAULT_CATALOG,
        store=store,
        queue=queue,
        sources=sources if sources is not None else build_sources(settings),
        clock=business_clock,
        policy=policy_from(settings),
        gap_audit_interval_s=settings.gap_audit_interval_s,
        store_batch=settings.store_batch,
        poll_in_flight_s=settings.visibility_timeout_s,
        revision_window_days=settings.revision_window_days,
        failpoints=Failpoints(settings.failpoints),
        rests=rests,
    )


def damaged_files(settings: Settings) -> list[tuple[Path, str]]:
    """The home's SQLite files (the store, then its queue) whose pages SQLite finds damaged,
    each with its first finding (:func:`fuelpipe.adapters.sqlite_store.damage`)."""
    from fuelpipe.adapters.sqlite_store import damage

    return [(f, finding) for f in home_files(settings) if (finding := damage(f)) is not None]


def home_files(settings: Settings) -> tuple[Path, Path]:
    """The home's SQLite files: the store, then its queue."""
    return settings.db, queue_file(settings.db)


class QueueOnDemand(Queue):
    """A queue opened (by ``open_queue``) at its first use, then used as it is; closing one
    never used opens nothing."""

    def __init__(self, open_queue: Callable[[], Queue], max_receives: int) -> None:
        self.max_receives = max_receives
        self._open = open_queue
        self._queue: Queue | None = None
        self._lock = threading.Lock()

    def _opened(self) -> Queue:
        with self._lock:
            if self._queue is None:
                self._queue = self._open()
            return self._queue

    def send(self, bodies: Sequence[str]) -> int:
        return self._opened().send(bodies)

    def receive(self, max_messages: int = 10, *, wait_s: float = 0) -> list[Message]:
        return self._opened().receive(max_messages, wait_s=wait_s)

    def delete(self, receipts: Sequence[str]) -> None:
        self._opened().delete(receipts)

    def release(self, receipts: Sequence[str]) -> None:
        self._opened().release(receipts)

    def defer(self, receipts: Sequence[str], delay: timedelta) -> None:
        self._opened().defer(receipts, delay)

    def dead_letter(self, message: Message, reason: str) -> None:
        self._opened().dead_letter(message, reason)

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        return self._opened().dead_letters(limit)

    def dead_letter_count(self) -> int:
        return self._opened().dead_letter_count()

    def redrive(self) -> int:
        return self._opened().redrive()

    def depth(self) -> QueueDepth:
        return self._opened().depth()

    def held(self) -> HeldMessages:
        return self._opened().held()

    def purge_dead_letters(self, *, ids: Collection[str] | None = None) -> int:
        return self._opened().purge_dead_letters(ids=ids)

    def close(self) -> None:
        """Close the queue, if it was opened."""
        with self._lock:
            queue, self._queue = self._queue, None
        closer = getattr(queue, "close", None)
        if callable(closer):
            closer()


def watch_lock(
    settings: Settings, clock: Clock | None = None, command: str = "fuelpipe watch"
) -> ProcessLock:
    """The lock one `fuelpipe watch` (or `fuelpipe demo --live`, which watches too) holds on
    the store while it runs: ``<stem>-watch.lock`` beside the file the path leads to (through
    a symlink too), so a second watch on the same store is refused, naming the first (its
    ``command``, pid, since when: ``clock``, the wall clock unless given). Other commands do
    not take it. The kernel releases it when the watch ends, however it ends (kill -9 too)."""
    from fuelpipe.adapters.clock import SystemClock
    from fuelpipe.adapters.process_lock import ProcessLock

    db = settings.db.resolve()
    return ProcessLock(db.with_name(db.stem + "-watch.lock"), clock or SystemClock(), command)


class SharedRestEnds(RestEnds):
    """The sources' rest ends (stages/source_rest.py) shared by a `run --workers`'s processes:
    one double per source (:data:`~fuelpipe.homes.sources.SOURCE_NAMES`) in shared memory,
    0 for none, so a Retry-After one process hears rests the source for all of them, as a
    one-process run rests it: none sends it another request until the rest ends. The ends are
    ``time.monotonic`` seconds, which every process on the machine reads alike (Linux's
    CLOCK_MONOTONIC, and the other systems' monotonic clocks, count from one system-wide
    origin). Made before the processes start and handed to each as it starts (``spawn``); a
    source of another name is kept in this process alone."""

    def __init__(self, spawn: SpawnContext) -> None:
        from fuelpipe.homes.sources import SOURCE_NAMES

        self._names = SOURCE_NAMES
        self._shared: SynchronizedArray[float] = spawn.Array("d", len(SOURCE_NAMES))
        self._own = OwnEnds()

    def extend(self, source: str, until: float) -> None:
        if source not in self._names:
            self._own.extend(source, until)
            return
        i = self._names.index(source)
        with self._shared.get_lock():  # read and write as one: a later end stands
            self._shared[i] = max(until, self._shared[i])

    def ends(self) -> dict[str, float]:
        with self._shared.get_lock():
            shared = self._shared[:]
        kept = {name: end for name, end in zip(self._names, shared, strict=True) if end > 0}
        return {**self._own.ends(), **kept}


class SharedBreakers:
    """The sources' circuit breakers' state (adapters/sources/_http.py ``Breaker``) shared by
    a `run --workers`'s processes, one per source (:data:`~fuelpipe.homes.sources.SOURCE_NAMES`)
    in shared memory: the requests in a row that could not connect, in any of them, open the
    breaker for all, as in one process, so an unreachable source costs the run one process's
    threshold of requests (plus those already under way elsewhere when it opened), and the
    half-open request is one for the run. Its times are ``time.monotonic`` seconds, one
    clock for the machine's processes (:class:`SharedRestEnds`). Made before the processes
    start and handed to each as it starts (``spawn``)."""

    WORDS_BYTES = 240
    """Room for the words of the last request that could not connect (UTF-8, cut to fit)."""
    FIELDS = 3
    """Numbers per source: requests in a row, open until (-1: closed), waits (0 or 1)."""

    def __init__(self, spawn: SpawnContext) -> None:
        from fuelpipe.homes.sources import SOURCE_NAMES

        self.names = SOURCE_NAMES
        self.numbers: SynchronizedArray[float] = spawn.Array("d", self.FIELDS * len(self.names))
        self.numbers[1 :: self.FIELDS] = [-1.0] * len(self.names)
        self.words = spawn.Array("c", self.WORDS_BYTES * len(self.names), lock=False)
        """The words, under ``numbers``' lock."""

    def states(self) -> dict[str, BreakerState]:
        """Each source's state, by name, for its breaker to keep."""
        return {name: _SharedBreakerState(self, i) for i, name in enumerate(self.names)}


class _SharedBreakerState:
    """One source's breaker state (a ``BreakerState``) in :class:`SharedBreakers`."""

    def __init__(self, shared: SharedBreakers, index: int) -> None:
        self._numbers, self._words = shared.numbers, shared.words
        self._at = shared.FIELDS * index
        size = shared.WORDS_BYTES
        self._text = slice(size * index, size * (index + 1))

    def held(self) -> AbstractContextManager[object]:
        return self._numbers.get_lock()  # reentrant: a read inside a held step holds it again

    @property
    def in_a_row(self) -> int:
        return int(self._numbers[self._at])

    @in_a_row.setter
    def in_a_row(self, value: int) -> None:
        self._numbers[self._at] = value

    @property
    def open_until(self) -> float | None:
        until = self._numbers[self._at + 1]
        return None if until < 0 else until

    @open_until.setter
    def open_until(self, value: float | None) -> None:
        self._numbers[self._at + 1] = -1.0 if value is None else value

    @property
    def waits(self) -> bool:
        return bool(self._numbers[self._at + 2])

    @waits.setter
    def waits(self, value: bool) -> None:
        self._numbers[self._at + 2] = float(value)

    @property
    def words(self) -> str:
        with self.held():
            kept = bytes(self._words[self._text])
        return kept.rstrip(b"\0").decode(errors="ignore")

    @words.setter
    def words(self, value: str) -> None:
        size = self._text.stop - self._text.start
        with self.held():
            self._words[self._text] = value.encode()[:size].ljust(size, b"\0")


class ProcessHelpers:
    """``count`` scraper processes beside this one while a cycle drains the queue.

    Each starts fresh (spawn: no connection or HTTP client is inherited) and builds its own
    store, queue and sources from the same settings, as Lambda runs scrapers side by side in
    the AWS home. The SQLite queue hands each message to one of them (visibility timeout) and
    the store takes their writes one transaction at a time (WAL and a busy timeout). Parsing
    is the backfill's cost (bench/NOTES.md), so the processes use the machine's other cores;
    with a slow network they also wait on their requests together. Their source counts (for
    the run's summary) and peak memory are kept. ``stop`` interrupts them as Ctrl+C does (a
    SIGTERM or SIGINT sent to them directly does the same), so each gives back what it holds.
    A helper whose parent dies (kill -9, the OOM killer) does the same and exits
    (:class:`_ParentWatch`), so none outlives the run. The sources' rests are the run's, one
    for all its processes: ``rests``, which the run's own process keeps too (its context's),
    and every helper started, in every drain of the run.
    """

    def __init__(
        self,
        settings: Settings,
        count: int,
        clock: Clock | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        import multiprocessing
        import time

        from fuelpipe.adapters.clock import FixedClock

        if count < 1:
            raise ValueError(f"helpers: count must be at least 1, got {count}")
        # A fixed business clock (--now, a demo store's clock) is the helpers' clock too.
        if isinstance(clock, FixedClock) and settings.now is None:
            settings = settings.model_copy(update={"now": clock.now()})
        self.settings = settings
        self.count = count
        self.stats: dict[str, SourceStats] = {}
        """Their requests per source, summed over every drain they helped with."""
        self.peaks_kib: list[int] = []
        """Each helper process's peak resident memory (KiB), in the order they finished."""
        self._spawn = multiprocessing.get_context("spawn")
        self._ends = SharedRestEnds(self._spawn)
        self.rests = SourceRests(monotonic=monotonic or time.monotonic, ends=self._ends)
        """The run's rests, shared with every helper: a Retry-After any process heard, the
        run's own too once its context keeps these. ``monotonic`` (this process's view of
        them) reads the machine's monotonic clock; a test gives one set later."""
        self.breakers = SharedBreakers(self._spawn)
        """The run's breakers' state, shared with every helper's sources, and the run's own
        once :meth:`share_breakers` gave it to them."""
        self._pool: ProcessPoolExecutor | None = None
        self._running: list[Future[_HelperResult]] = []
        self._stop: Event | None = None

    def start(self) -> None:
        """Start the helper processes; each drains until no message is left to take."""
        spawn = self._spawn
        self._stop = spawn.Event()
        self._pool = ProcessPoolExecutor(
            self.count,
            mp_context=spawn,
            initializer=_helper_init,
            initargs=(self._stop, self._ends, self.breakers),
        )
        self._running = [self._pool.submit(_help_drain, self.settings) for _ in range(self.count)]

    def share_breakers(self, sources: Mapping[str, Source]) -> None:
        """The run's own ``sources`` (the HTTP ones) keep the helpers' breakers' state: a
        source that could not be reached in one process is not asked by the others, one
        half-open request for all."""
        from fuelpipe.adapters.sources._http import HttpSource

        states = self.breakers.states()
        for name, source in sources.items():
            if isinstance(source, HttpSource) and name in states:
                source.share_breaker(states[name])

    def stop(self) -> None:
        """Interrupt the helpers and wait for them: each gives back the messages it holds
        (those it finished are stored and deleted). What they did is not counted: the run log
        of the interrupted drain holds this process's counts alone."""
        if self._stop is not None:
            self._stop.set()
        try:
            for future in self._running:
                future.exception()  # waits; a helper's failure does not matter now
        finally:
            if self._pool is not None:
                self._pool.shutdown()
            self._pool, self._running = None, []

    def finish(self) -> ScrapeReport:
        """Wait for the helpers; what they stored. Raises the first helper's error, if any,
        once all are done (its message was given back at once, or dead-lettered with the error
        on its last delivery: ``stages.cycle.work_queue``)."""
        from fuelpipe.stages.scrape import ScrapeReport

        report = ScrapeReport()
        failed: BaseException | None = None
        try:
            for future in self._running:
                try:
                    counts, stats, peak = future.result()
                except Exception as exc:  # re-raised below, once the others are done
                    failed = failed or exc
                    continue
                report.add(ScrapeReport(**counts))
                for name, st in stats.items():
                    self.stats[name] = merge_stats(self.stats.get(name), st)
                self.peaks_kib.append(peak)
        finally:
            if self._pool is not None:
                self._pool.shutdown()
            self._pool, self._running = None, []
        if failed is not None:
            raise RuntimeError(f"a scraper process failed: {failed}") from failed
        return report


_HelperResult = tuple[dict[str, int], dict[str, SourceStats], int]


_STOPPING: list[Event | threading.Event] = []
"""In a helper process: the pool's stop event (set by ``ProcessHelpers.stop``) and its
parent's end (:class:`_ParentWatch`); a drain does not begin once one is set."""

_RUN_RESTS: list[RestEnds] = []
"""In a helper process: the run's rest ends, shared with its other processes."""

_RUN_BREAKERS: list[SharedBreakers] = []
"""In a helper process: the run's breakers' state, shared with its other processes."""

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


_DRAINING = threading.Lock()
"""In a helper process: held while :func:`_help_drain` runs (its parent's death waits for it)."""


def _helper_init(stop: Event, rests: RestEnds, breakers: SharedBreakers | None = None) -> None:
    """In a new helper process: SIGINT and SIGTERM are ignored outside its work (the pool's
    own loop would die of them with a traceback); a thread turns ``stop`` into a SIGINT, and
    another the parent's death into a SIGINT then an exit (:class:`_ParentWatch`); ``rests``
    are the run's (:class:`SharedRestEnds`), kept for its drains, and so are ``breakers``
    (:class:`SharedBreakers`)."""
    import multiprocessing
    import os

    _STOPPING.append(stop)
    _RUN_RESTS.append(rests)
    if breakers is not None:
        _RUN_BREAKERS.append(breakers)
    for signum in _SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    main = threading.main_thread().ident
    assert main is not None

    def interrupt() -> None:
        signal.pthread_kill(main, signal.SIGINT)  # wakes a blocked read, as Ctrl+C does

    def interrupt_when_stopped() -> None:
        stop.wait()
        interrupt()

    threading.Thread(target=interrupt_when_stopped, daemon=True).start()
    parent = multiprocessing.parent_process()
    if parent is not None:  # always, in a process the pool started
        watch = _ParentWatch(parent.join, interrupt, os._exit, _DRAINING)
        _STOPPING.append(watch.gone)
        threading.Thread(target=watch.run, daemon=True).start()


class _ParentWatch:
    """In a helper process: once its parent is gone (killed with kill -9 or by the OOM killer:
    nothing stops the helpers then, and the pool's task pipe, which every helper holds open,
    never ends), the helper gives back what it holds and exits rather than live on.

    ``run`` waits for the parent's end (``wait_parent``: the pipe from the parent that
    multiprocessing gives each spawned process ends when the parent does, at once, on any
    system), sets ``gone`` (a drain not begun yet sees it and takes nothing), ``interrupt``s
    the drain (it gives back its message, as on ``stop``), waits for it to end (``draining``)
    and ``exit``s: the helper's main thread is blocked on the pool's task pipe for good."""

    def __init__(
        self,
        wait_parent: Callable[[], object],
        interrupt: Callable[[], None],
        exit: Callable[[int], object],
        draining: threading.Lock,
    ) -> None:
        self.gone = threading.Event()
        self._wait_parent = wait_parent
        self._interrupt = interrupt
        self._exit = exit
        self._draining = draining

    def run(self) -> None:
        self._wait_parent()
        self.gone.set()  # before the interrupt: a drain beginning after it sees this instead
        self._interrupt()
        with self._draining:
            self._exit(0)


@contextmanager
def _interruptible() -> Iterator[bool]:
    """While inside, the first SIGINT or SIGTERM raises KeyboardInterrupt (then both are
    ignored, so a second one cannot cut short the giving back); yields whether the helpers
    were stopped before it began."""

    def interrupt(_signum: int, _frame: object) -> None:
        for signum in _SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        raise KeyboardInterrupt

    for signum in _SIGNALS:
        signal.signal(signum, interrupt)
    try:
        yield any(stop.is_set() for stop in _STOPPING)  # checked once the handler is in
    finally:
        for signum in _SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def _help_drain(settings: Settings) -> _HelperResult:
    """In a helper process: take messages until none is left to take (those in flight are the
    other processes') or it is stopped; its counts, source stats and peak memory. The run's
    rests are its own: it asks no resting source, and a Retry-After it hears rests the source
    for the run's every process; so are its sources' breakers (:class:`SharedBreakers`)."""
    import time

    from fuelpipe.stages.cycle import Owe, work_queue
    from fuelpipe.stages.scrape import ScrapeReport

    report, stats = ScrapeReport(), dict[str, SourceStats]()
    try:
        with _DRAINING, _interruptible() as stopped:
            if stopped:
                return report.as_dict(), stats, peak_kib()
            # the run's (none: a drain its pool did not start keeps its own)
            run_rests = _RUN_RESTS[-1] if _RUN_RESTS else None
            rests = SourceRests(monotonic=time.monotonic, ends=run_rests)
            breakers = _RUN_BREAKERS[-1].states() if _RUN_BREAKERS else None
            sources = build_sources(settings, breakers=breakers)
            app = build_context(settings, rests=rests, sources=sources)
            try:
                # its own debt entry before each delete of a change, as the main process's
                # drain; that drain's version, written once every helper finished, pays it
                owe = Owe(app, False)
                report = work_queue(app, batch_size=1, wait_in_flight=False, owe=owe)
                stats = {n: st for n, s in app.sources.items() if (st := s.stats()) is not None}
            finally:
                app.close()
    except KeyboardInterrupt:  # work_queue gave back what it held
        pass
    return report.as_dict(), stats, peak_kib()


def merge_stats(ours: SourceStats | None, theirs: SourceStats) -> SourceStats:
    """Two processes' counts for one source; the words are ours if we had them."""
    return theirs if ours is None else theirs.plus(ours)


def peak_kib() -> int:
    """This process's own peak resident memory: VmHWM, the high-water mark of its address
    space (Linux; getrusage's ru_maxrss elsewhere, which on Linux carries a forking parent's
    peak across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

"""The one retry schedule of the AWS adapters' partial batch failures (stamina, jittered).

Not boto3's ``Table.batch_writer``: it puts a call's UnprocessedItems into its next batch at
once, with no wait, and flushes until none is left, with no bound on the calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import stamina


def batch_attempts(
    on: type[Exception] | Callable[[Exception], bool], attempts: int, base_s: float, cap_s: float
) -> Iterator[stamina.Attempt]:
    """stamina attempts: exponential from ``base_s`` to ``cap_s``, plus up to ``base_s`` jitter, so
    writers throttled together do not retry together."""
    return iter(
        stamina.retry_context(
            on=on,
            attempts=attempts,
            timeout=None,
            wait_initial=base_s,
            wait_max=cap_s,
            wait_jitter=base_s,
        )
    )

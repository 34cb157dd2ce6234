"""Resolvers to inject into the HTTP clients (``resolve=``): one that hangs until released."""

from __future__ import annotations

import threading


class HangingResolver:
    """A resolver that answers 127.0.0.1 only once released (or, as a safety, after 30 s,
    noting that it gave up waiting): a DNS server that does not answer."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.gave_up = False
        self.release = threading.Event()

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        self.gave_up = not self.release.wait(30)
        return ["127.0.0.1"]

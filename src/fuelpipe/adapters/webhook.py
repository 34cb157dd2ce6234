"""The webhook alert sink: each alert POSTed as JSON over httpx."""

from __future__ import annotations

import httpx
import stamina

from fuelpipe.domain.alerts import Alert
from fuelpipe.ports.alerts import AlertSink


class WebhookSink(AlertSink):
    """POSTs each alert as JSON; bounded retries on transport errors and 5xx."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        client: httpx.Client | None = None,
        attempts: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        self.url = url
        self._client = client or httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0))
        self._attempts = attempts
        self._backoff_s = backoff_s

    def send(self, alert: Alert) -> None:
        for attempt in stamina.retry_context(
            on=(httpx.TransportError, httpx.HTTPStatusError),
            attempts=self._attempts,
            timeout=None,
            wait_initial=self._backoff_s,
            wait_jitter=self._backoff_s,
        ):
            with attempt:
                response = self._client.post(self.url, json=alert.as_dict())
                response.raise_for_status()

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

"""Another reader of a dead-letter queue, for tests that run the CLI in its own process.

:class:`DlqReaderProxy` is an HTTP server on 127.0.0.1 that forwards every SQS request to the
local SQS server unchanged. The Nth time the DLQ is counted (GetQueueAttributes on it), once
the server has answered and before the answer goes back, it receives ``take`` of the DLQ's
messages with its own client on the real server and holds them: the count includes them, and
the command's receives cannot get them, as when another reader holds them or a short poll sampled the wrong SQS servers. Point
``AWS_ENDPOINT_URL_SQS`` at :attr:`url`.
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from devtools.aws.servers import LocalServer

HOP_BY_HOP = {"host", "connection", "content-length", "transfer-encoding", "keep-alive"}


class DlqReaderProxy:
    """Forwards to ``server``; takes ``take`` messages of the DLQ ``dlq_name`` (hidden for
    ``hold_s``) right after its ``at_count``-th count, before the answer goes back (``take=0``:
    none). With ``sends_before_refusal``, SendMessageBatch calls to any other queue after that
    many are answered with AccessDenied and never reach the server (a send failing part-way
    through a redrive)."""

    def __init__(
        self,
        server: LocalServer,
        dlq_name: str,
        *,
        take: int = 1,
        at_count: int = 1,
        hold_s: int = 120,
        sends_before_refusal: int | None = None,
    ) -> None:
        self._target = urlsplit(server.url)
        self._sqs = server.client("sqs")
        self._dlq_name = dlq_name
        self._take = take
        self._at_count = at_count
        self._hold_s = hold_s
        self._counts = 0
        self._sends_left = sends_before_refusal
        self._lock = threading.Lock()
        self.taken: list[dict[str, Any]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> DlqReaderProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def give_back(self) -> None:
        """Make the messages taken visible in the DLQ again."""
        dlq_url = self._sqs.get_queue_url(QueueName=self._dlq_name)["QueueUrl"]
        for m in self.taken:
            self._sqs.change_message_visibility(
                QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )

    def _refuse(self, target: str, body: bytes) -> bool:
        """Whether to refuse this call: a SendMessageBatch to a queue other than the DLQ once
        ``sends_before_refusal`` have gone through."""
        if self._sends_left is None or not target.endswith(".SendMessageBatch"):
            return False
        if json.loads(body or b"{}").get("QueueUrl", "").endswith("/" + self._dlq_name):
            return False
        with self._lock:
            self._sends_left -= 1
            return self._sends_left < 0

    def _after_count(self, target: str, body: bytes) -> None:
        if not target.endswith(".GetQueueAttributes"):
            return
        queue_url = json.loads(body or b"{}").get("QueueUrl", "")
        if not queue_url.endswith("/" + self._dlq_name):
            return
        with self._lock:
            self._counts += 1
            if self._counts != self._at_count:
                return
            dlq_url = self._sqs.get_queue_url(QueueName=self._dlq_name)["QueueUrl"]
            while len(self.taken) < self._take:
                got = self._sqs.receive_message(
                    QueueUrl=dlq_url,
                    MaxNumberOfMessages=self._take - len(self.taken),
                    VisibilityTimeout=self._hold_s,
                ).get("Messages", [])
                if not got:
                    raise RuntimeError("the DLQ had fewer messages than the test takes")
                self.taken += got

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads the command's own output

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if proxy._refuse(self.headers.get("X-Amz-Target", ""), body):
                    refusal = json.dumps(
                        {
                            "__type": "com.amazon.coral.service#AccessDeniedException",
                            "message": "not authorized to perform sqs:SendMessage",
                        }
                    ).encode()
                    self.send_response(400)
                    self.send_header("Content-Type", "application/x-amz-json-1.0")
                    self.send_header("Content-Length", str(len(refusal)))
                    self.end_headers()
                    self.wfile.write(refusal)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection(
                    proxy._target.hostname or "127.0.0.1", proxy._target.port, timeout=60
                )
                try:
                    upstream.request("POST", self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                proxy._after_count(self.headers.get("X-Amz-Target", ""), body)
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Forward

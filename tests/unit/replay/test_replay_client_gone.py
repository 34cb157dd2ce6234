"""A client that goes away mid-request (a `fuelpipe run` killed -9 while the replay read its
request) is no server error: the replay prints no traceback for it."""

from __future__ import annotations

import pytest

from fuelpipe.replay.server import _Handler, _HTTPServer


@pytest.fixture
def httpd():
    server = _HTTPServer(("127.0.0.1", 0), _Handler)
    yield server
    server.server_close()


@pytest.mark.parametrize("gone", [ConnectionResetError, BrokenPipeError, ConnectionAbortedError])
def test_a_client_gone_mid_request_prints_nothing(httpd, capsys, gone):
    try:
        raise gone(104, "Connection reset by peer")  # what rfile.readline raised in the soak
    except gone:
        httpd.handle_error(None, ("127.0.0.1", 57832))
    assert capsys.readouterr().err == ""


def test_any_other_error_of_a_request_still_prints_its_traceback(httpd, capsys):
    try:
        raise ValueError("a bug in a route")
    except ValueError:
        httpd.handle_error(None, ("127.0.0.1", 57832))
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: a bug in a route" in err

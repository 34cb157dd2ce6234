"""Bad input that used to slip past the checks `test_bad_input.py` sweeps: a listen address
left blank (served on every interface), a setting refused without its value (a stray space,
a wrong case, a typo the user cannot see in the message), and a receive limit the AWS home's
queue cannot take. Each is refused in one `error:` line that names the value, exit 2.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.conftest import EMPTY_RUN, fuelpipe
from tests.lake.conftest import BOM, real_lines
from typer.testing import CliRunner

from fuelpipe.cli.main import cli


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _free_port() -> int:
    """A port nothing listens on now (the dashboard takes no --port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("command", ["dashboard", "replay"])
@pytest.mark.parametrize("host", ["", "  "])
def test_a_blank_host_is_refused_not_served_on_every_interface(
    command: str, host: str, empty_store: dict[str, str]
) -> None:
    """Bound as given, "" is every interface (INADDR_ANY): a blank --host (an unset shell
    variable) put the dashboard, meant for this machine, on the network (and the server ran
    on, so this subprocess would time out)."""
    port = str(_free_port())
    done = fuelpipe(
        command, "--host", host, "--port", port, env=empty_store, check=False, timeout=60
    )
    assert done.returncode == 2, done.stdout + done.stderr
    errors = _errors(done.stderr)
    assert len(errors) == 1 and errors[0].startswith("error: --host is blank"), done.stderr
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("command", ["dashboard", "replay"])
def test_a_host_with_stray_spaces_is_the_address_inside(
    command: str, busy_port: int, empty_store: dict[str, str]
) -> None:
    """' 127.0.0.1' is 127.0.0.1 (as a series key's stray spaces are dropped): the port in
    use is what is wrong, not a name lookup of a string whose spaces the message hid."""
    done = fuelpipe(
        command, "--host", " 127.0.0.1 ", "--port", str(busy_port), env=empty_store, check=False
    )
    assert done.returncode == 2, done.stdout + done.stderr
    errors = _errors(done.stderr)
    assert errors == [f"error: cannot listen on 127.0.0.1:{busy_port}: Address already in use"], (
        done.stderr
    )


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("FUELPIPE_MAX_RETRIES", "-1", "FUELPIPE_MAX_RETRIES='-1': "),
        ("FUELPIPE_BACKEND", " embedded", "FUELPIPE_BACKEND=' embedded': "),
        ("FUELPIPE_BACKEND", "AWS", "FUELPIPE_BACKEND='AWS': "),
        ("FUELPIPE_HTTP_TIMEOUT_S", "nan", "FUELPIPE_HTTP_TIMEOUT_S='nan': "),
        # the source the bad window is for, not only the variable
        (
            "FUELPIPE_REVISION_WINDOW_DAYS",
            '{"anp": 0}',
            "FUELPIPE_REVISION_WINDOW_DAYS='{\"anp\": 0}': anp: ",
        ),
        # a bare number (as `revise --help` named it) was "Input should be a valid dictionary"
        (
            "FUELPIPE_REVISION_WINDOW_DAYS",
            "10",
            "FUELPIPE_REVISION_WINDOW_DAYS='10': days by source as a JSON object, e.g. "
            "'{\"anp\": 84}' (sources anp, bcb, fred, yahoo), not 10",
        ),
        # pydantic's "Value error, " prefix says nothing to the user
        ("FUELPIPE_REVISE_AT", "25:00", "FUELPIPE_REVISE_AT='25:00': '25:00' is not a São Paulo"),
    ],
)
def test_a_bad_setting_is_named_with_its_value(
    variable: str, value: str, said: str, tmp_path: Path
) -> None:
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite"), variable: value}
    done = CliRunner().invoke(cli, ["status"], env=env)
    assert done.exit_code == 2, done.output
    errors = _errors(done.output)
    assert len(errors) == 1, done.output
    assert errors[0].startswith("error: invalid configuration: ") and said in errors[0], errors[0]


def test_a_receive_limit_sqs_cannot_take_is_refused(tmp_path: Path) -> None:
    """SQS takes a maxReceiveCount of 1 to 1000: more was accepted by the embedded home and
    failed only at `aws create-resources`, in AWS's words."""
    env = {"FUELPIPE_DB": str(tmp_path / "s.sqlite"), "FUELPIPE_MAX_RECEIVES": "1001"}
    done = CliRunner().invoke(cli, ["status"], env=env)
    assert done.exit_code == 2, done.output
    assert _errors(done.output) == [
        "error: invalid configuration: FUELPIPE_MAX_RECEIVES='1001': "
        "Input should be less than or equal to 1000"
    ], done.output


@pytest.mark.parametrize("variable", ["FUELPIPE_LAKE", "FUELPIPE_DB"])
@pytest.mark.parametrize("value", ["", " "])
def test_a_blank_store_or_lake_path_is_refused_not_the_current_folder(
    variable: str, value: str, tmp_path: Path
) -> None:
    """A blank path (`FUELPIPE_LAKE=$LAKE` with LAKE unset) was the current folder: an ingest
    wrote its lake's manifest and partitions there, and " " was a store file named " "."""
    sample = tmp_path / "glp.csv"
    sample.write_bytes(BOM + "\r\n".join(real_lines("glp", 20)).encode())
    here = tmp_path / "here"
    here.mkdir()
    env = {
        "FUELPIPE_DB": str(tmp_path / "s.sqlite"),
        "FUELPIPE_LAKE": str(tmp_path / "lake"),
        variable: value,
    }
    command = ["stations", "ingest", str(sample)] if variable == "FUELPIPE_LAKE" else EMPTY_RUN
    done = fuelpipe(*command, env=env, check=False, timeout=120, cwd=here)
    assert done.returncode == 2, done.stdout + done.stderr
    assert _errors(done.stderr) == [
        f"error: invalid configuration: {variable}={value!r}: blank: give a path, or leave "
        f"{variable} unset for the default"
        + (" data/lake" if variable == "FUELPIPE_LAKE" else " data/fuelpipe.sqlite")
    ], done.stderr
    assert list(here.iterdir()) == []


def test_blank_faults_are_refused_not_served_without_faults() -> None:
    """`--faults ""` (an unset shell variable) served the sources without a fault, as if the
    option had been left out, and the run it was meant to stress passed unstressed."""
    done = fuelpipe("replay", "--faults", "", "--port", "0", env={}, check=False, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    errors = _errors(done.stderr)
    assert len(errors) == 1 and errors[0].startswith("error: --faults is blank"), done.stderr

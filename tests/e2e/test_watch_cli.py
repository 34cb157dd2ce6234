"""`fuelpipe watch` from the command line: one tick, a heartbeat line, alerts on the console."""

from __future__ import annotations

from tests.e2e.conftest import fuelpipe

from fuelpipe.replay.server import ReplayServer


def test_watch_runs_a_tick_prints_a_heartbeat_and_exits(tmp_path) -> None:
    with ReplayServer(quiet=True) as replay:
        env = {"FUELPIPE_DB": str(tmp_path / "w.sqlite"), **replay.env()}
        out = fuelpipe(
            "--now", "2022-05-06T14:00", "watch", "--series", "CURRENCY#USD", "--ticks", "1",
            env=env, timeout=600,
        )  # fmt: skip
        status = fuelpipe("--now", "2022-05-06T14:00", "status", "--json", env=env)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("watching")
    beat = next(line for line in lines if " due: 1 series (CURRENCY#USD)" in line)
    assert beat.startswith("2022-05-06T14:00:00-03:00")
    assert "next look at" in out.stdout
    assert '"last": "2022-05-06"' in status.stdout  # Friday's close, published at 13:10
    # history before the snapshot never comes: the backfill leaves PENDING dates, not an alert
    assert "[fuelpipe FIRING] stale_source" not in out.stdout


def test_watch_refuses_the_aws_home(tmp_path) -> None:
    out = fuelpipe(
        "watch", "--ticks", "1",
        env={"FUELPIPE_BACKEND": "aws", "FUELPIPE_DB": str(tmp_path / "x.sqlite")}, check=False,
    )  # fmt: skip
    assert out.returncode == 2
    assert "watch runs the embedded home" in out.stderr


def _tick_at_15h(tmp_path, intraday_flag: str) -> str:
    """One tick of `watch --series CURRENCY#USD` on Friday 15:00 against the replay: stdout."""
    with ReplayServer(quiet=True) as replay:
        env = {"FUELPIPE_DB": str(tmp_path / "w.sqlite"), **replay.env()}
        out = fuelpipe(
            "--now", "2022-05-06T15:00", "watch", "--series", "CURRENCY#USD", "--ticks", "1",
            intraday_flag, env=env, timeout=600,
        )  # fmt: skip
    return out.stdout


def test_watch_with_intraday_counts_its_points_on_the_tick_line(tmp_path) -> None:
    stdout = _tick_at_15h(tmp_path, "--intraday")
    beat = next(line for line in stdout.splitlines() if " due: 1 series" in line)
    assert "; intraday: " in beat and " point(s) for 1 series" in beat
    assert beat.index("intraday:") < beat.index("next look at")
    assert beat.endswith("next look at 2022-05-09T13:10:00-03:00")  # not wrapped at 80 columns


def test_watch_without_intraday_says_nothing_of_it(tmp_path) -> None:
    assert "intraday" not in _tick_at_15h(tmp_path, "--no-intraday")

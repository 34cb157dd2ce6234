"""The AWS home's clients take the region from AWS_REGION when botocore finds none: botocore
reads AWS_DEFAULT_REGION and the config file only, and `fuelpipe aws create-resources` said
"set AWS_REGION" while refusing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuelpipe.homes.aws import make_client
from fuelpipe.homes.settings import Settings


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    return monkeypatch


def test_aws_region_alone_names_the_region(no_region: pytest.MonkeyPatch) -> None:
    no_region.setenv("AWS_REGION", "sa-east-1")
    assert make_client("sqs", Settings()).meta.region_name == "sa-east-1"


def test_aws_default_region_wins_over_aws_region(no_region: pytest.MonkeyPatch) -> None:
    no_region.setenv("AWS_REGION", "sa-east-1")
    no_region.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert make_client("dynamodb", Settings()).meta.region_name == "us-east-1"


def test_no_region_at_all_is_botocores_error(no_region: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import NoRegionError

    with pytest.raises(NoRegionError):
        make_client("sqs", Settings())


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_region_is_no_region(no_region: pytest.MonkeyPatch, blank: str) -> None:
    """`export AWS_DEFAULT_REGION=` made botocore's endpoint https://dynamodb..amazonaws.com
    ("Invalid endpoint"): a blank region is none, so AWS_REGION, else NoRegionError, whose
    message the CLI completes with what to set."""
    from botocore.exceptions import NoRegionError

    no_region.setenv("AWS_DEFAULT_REGION", blank)
    with pytest.raises(NoRegionError):
        make_client("dynamodb", Settings())
    no_region.setenv("AWS_REGION", blank)
    with pytest.raises(NoRegionError):
        make_client("dynamodb", Settings())
    no_region.setenv("AWS_REGION", "sa-east-1")
    assert make_client("dynamodb", Settings()).meta.region_name == "sa-east-1"


def test_the_deploy_scripts_clients_take_aws_region_too(no_region: pytest.MonkeyPatch) -> None:
    """The deploy workflow sets AWS_REGION (configure-aws-credentials and its env), which
    botocore alone would not read."""
    from scripts.deploy import _client

    no_region.setenv("AWS_REGION", "sa-east-1")
    assert _client("ssm", None).meta.region_name == "sa-east-1"
    no_region.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert _client("lambda", "http://localhost:1").meta.region_name == "us-east-1"


def test_the_region_is_read_in_one_place() -> None:
    """make_client and the deploy script share fuelpipe.aws_region; neither reads AWS_REGION."""
    root = Path(__file__).resolve().parents[2]
    for path in ("src/fuelpipe/homes/aws.py", "scripts/deploy.py"):
        text = (root / path).read_text(encoding="utf-8")
        assert "session_region(session)" in text, path
        assert '"AWS_REGION"' not in text, path

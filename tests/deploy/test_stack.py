"""The deployed template points each function's CodeUri at its reproducible zip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fuelpipe.deploy.stack import StackTemplateError, point_code_at_zips

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = """\
Resources:
  ScraperFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: scraper
      CodeUri: ../lambdas/scraper/  # the folder, as sam local uses it
  RecheckFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: "../lambdas/retry_recheck"
  Elsewhere:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://bucket/key.zip
"""


def test_folder_code_uris_point_at_the_zips(tmp_path: Path) -> None:
    for name in ("scraper", "retry_recheck"):
        (tmp_path / f"{name}.zip").write_bytes(b"PK")

    out = yaml.safe_load(point_code_at_zips(TEMPLATE, tmp_path))

    props = {k: v["Properties"]["CodeUri"] for k, v in out["Resources"].items()}
    assert props == {
        "ScraperFunction": str(tmp_path.resolve() / "scraper.zip"),
        "RecheckFunction": str(tmp_path.resolve() / "retry_recheck.zip"),
        "Elsewhere": "s3://bucket/key.zip",
    }


def test_a_missing_zip_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "scraper.zip").write_bytes(b"PK")

    with pytest.raises(StackTemplateError, match="retry_recheck"):
        point_code_at_zips(TEMPLATE, tmp_path)


def test_every_function_of_the_real_template_gets_its_zip(tmp_path: Path) -> None:
    text = (REPO_ROOT / "infra" / "template.yaml").read_text()
    for folder in (REPO_ROOT / "lambdas").iterdir():
        (tmp_path / f"{folder.name}.zip").write_bytes(b"PK")

    out = point_code_at_zips(text, tmp_path)

    code_uris = [line.split(":", 1)[1].strip() for line in out.splitlines() if "CodeUri:" in line]
    assert code_uris
    assert all(uri.endswith(".zip") and uri.startswith(str(tmp_path)) for uri in code_uris)

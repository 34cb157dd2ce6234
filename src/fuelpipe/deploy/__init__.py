"""Deploy: which Lambdas a commit range touches, reproducible zips, and code updates."""

from fuelpipe.deploy.apply import DeployError, LambdaClient, apply_plan, update_function
from fuelpipe.deploy.package import BuiltPackage, build_all, build_function_zip, code_sha256
from fuelpipe.deploy.plan import (
    DeployPlan,
    PlanError,
    changed_paths,
    discover_functions,
    make_plan,
    plan_from_paths,
)
from fuelpipe.deploy.stack import point_code_at_zips
from fuelpipe.deploy.state import parameter_name, read_deployed_commit, record_deployed_commit
from fuelpipe.deploy.target import LambdaTarget, PackagingError, read_target, requirements_for

__all__ = [
    "BuiltPackage",
    "DeployError",
    "DeployPlan",
    "LambdaClient",
    "LambdaTarget",
    "PackagingError",
    "PlanError",
    "apply_plan",
    "build_all",
    "build_function_zip",
    "changed_paths",
    "code_sha256",
    "discover_functions",
    "make_plan",
    "parameter_name",
    "plan_from_paths",
    "point_code_at_zips",
    "read_deployed_commit",
    "read_target",
    "record_deployed_commit",
    "requirements_for",
    "update_function",
]

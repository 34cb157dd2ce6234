"""infra/bootstrap.yaml: who may assume the deploy role, and what the role may do."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

BOOTSTRAP = Path(__file__).resolve().parents[2] / "infra" / "bootstrap.yaml"
ACCOUNT, REGION = "123456789012", "sa-east-1"
OWNER, REPOSITORY = "acme-data", "fuelpipe"
AUD = "token.actions.githubusercontent.com:aud"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/fuelpipe-permissions-boundary"
SUB = "token.actions.githubusercontent.com:sub"
FUNCTION_ARN = re.compile(
    rf"^arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
    r"(fuelpipe-\*|data_clustering|scraper|retry_recheck|dashboard_api|outlook|intraday)$"
)


NO_VALUE = object()
"""What ``!Ref AWS::NoValue`` resolves to: the property it sets is left out."""


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation's short tags (!Sub, !Ref, ...) as long forms."""


def _intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


class Rendered:
    """The template with parameters and intrinsic functions resolved for one deployment."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str]) -> None:
        self.template = template
        defaults = {k: v.get("Default", "") for k, v in template["Parameters"].items()}
        self.values = {
            **defaults,
            **parameters,
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
        }
        self.conditions = {
            "CreateOidcProvider": self.values["ExistingOidcProviderArn"] == "",
        }

    def resource(self, logical_id: str) -> dict[str, Any]:
        return self.resolve(self.template["Resources"][logical_id]["Properties"])

    def _physical(self, logical_id: str) -> str:
        resource = self.template["Resources"][logical_id]
        props = resource["Properties"]
        if resource["Type"] == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/{self.resolve(props['RoleName'])}"
        if resource["Type"] == "AWS::S3::Bucket":
            return str(self.resolve(props["BucketName"]))
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            return f"arn:aws:iam::{ACCOUNT}:policy/{self.resolve(props['ManagedPolicyName'])}"
        if resource["Type"] == "AWS::IAM::OIDCProvider":
            return f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
        raise AssertionError(f"no physical id rule for {logical_id}")

    def _attribute(self, logical_id: str, attribute: str) -> str:
        assert attribute == "Arn", attribute
        physical = self._physical(logical_id)
        return physical if physical.startswith("arn:") else f"arn:aws:s3:::{physical}"

    def _sub(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if "." in name:
                return self._attribute(*name.split(".", 1))
            if name in self.values:
                return str(self.values[name])
            return self._physical(name)

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        return str(self.values[name]) if name in self.values else self._physical(name)

    def _if(self, args: list[Any]) -> Any:
        condition, yes, no = args
        return self.resolve(yes if self.conditions[condition] else no)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(n) for n in node]
        if not isinstance(node, dict):
            return node
        intrinsics = {
            "Ref": self._ref,
            "Fn::Sub": self._sub,
            "Fn::GetAtt": lambda args: self._attribute(*args),
            "Fn::If": self._if,
        }
        if len(node) == 1 and next(iter(node)) in intrinsics:
            [(name, args)] = node.items()
            return intrinsics[name](args)
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(BOOTSTRAP.read_text(), Loader=CfnLoader)


def render(template: dict[str, Any], environment: str = "production", **more: str) -> Rendered:
    return Rendered(
        template,
        {"GitHubOwner": OWNER, "GitHubRepository": REPOSITORY, "Environment": environment, **more},
    )


def trust_statement(rendered: Rendered) -> dict[str, Any]:
    [statement] = rendered.resource("DeployRole")["AssumeRolePolicyDocument"]["Statement"]
    return statement


def may_assume(statement: dict[str, Any], claims: dict[str, str]) -> bool:
    """IAM's evaluation of StringEquals / StringLike on the token's claims."""
    for operator, conditions in statement["Condition"].items():
        for key, expected in conditions.items():
            allowed = expected if isinstance(expected, list) else [expected]
            actual = claims.get(key, "")
            if operator == "StringEquals" and actual not in allowed:
                return False
            if operator == "StringLike" and not any(
                fnmatch.fnmatchcase(actual, p) for p in allowed
            ):
                return False
            if operator not in {"StringEquals", "StringLike"}:
                return False
    return True


def test_the_template_declares_the_github_oidc_provider(template) -> None:
    provider = render(template).resource("GitHubOidcProvider")

    assert provider["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["ClientIdList"] == ["sts.amazonaws.com"]


def test_the_role_trusts_web_identities_from_that_provider_only(template) -> None:
    statement = trust_statement(render(template))

    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    }


def test_the_audience_must_be_sts(template) -> None:
    statement = trust_statement(render(template))

    assert statement["Condition"]["StringEquals"][AUD] == "sts.amazonaws.com"


def test_the_subject_names_this_repository_with_no_wildcard_owner_or_repository(template) -> None:
    raw = template["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]
    [statement] = raw["Statement"]
    subjects = [
        value
        for operator in ("StringEquals", "StringLike")
        for key, value in statement["Condition"].get(operator, {}).items()
        if key == SUB
    ]

    assert subjects
    for subject in subjects:
        for text in subject if isinstance(subject, list) else [subject]:
            pattern = text["Fn::Sub"]
            assert pattern.startswith("repo:${GitHubOwner}/${GitHubRepository}:")
            scope = pattern.removeprefix("repo:${GitHubOwner}/${GitHubRepository}:")
            assert re.fullmatch(r"ref:refs/heads/main|environment:(\$\{Environment\}|\w+)", scope)
            assert "*" not in pattern


@pytest.mark.parametrize("parameter", ["GitHubOwner", "GitHubRepository"])
def test_owner_and_repository_parameters_refuse_wildcards(template, parameter) -> None:
    pattern = template["Parameters"][parameter]["AllowedPattern"]

    assert re.fullmatch(pattern, "fuelpipe")
    for bad in ("*", "acme*", "ac?me", "acme/fuelpipe", ""):
        assert not re.fullmatch(pattern, bad), bad


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_only_this_repositorys_job_in_the_named_environment_may_assume(
    template, environment
) -> None:
    statement = trust_statement(render(template, environment))
    other = "staging" if environment == "production" else "production"
    good = {AUD: "sts.amazonaws.com", SUB: f"repo:{OWNER}/{REPOSITORY}:environment:{environment}"}

    assert may_assume(statement, good)
    for sub in refused_subjects(environment, other):
        assert not may_assume(statement, {**good, SUB: sub}), sub
    assert not may_assume(statement, {**good, AUD: "https://example.invalid"})


def refused_subjects(environment: str, other: str) -> list[str]:
    """Token subjects a role that trusts this repository's GitHub environment ``environment``
    must refuse: the ``other`` environment, a branch, a pull request, another repository."""
    return [
        f"repo:{OWNER}/{REPOSITORY}:environment:{other}",
        f"repo:{OWNER}/{REPOSITORY}:ref:refs/heads/feature",
        f"repo:{OWNER}/{REPOSITORY}:pull_request",
        f"repo:{OWNER}/other-repo:environment:{environment}",
        f"repo:evil-{OWNER}/{REPOSITORY}:environment:{environment}",
        f"repo:{OWNER}/{REPOSITORY}-fork:environment:{environment}",
    ]


def policy_statements(rendered: Rendered, role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in rendered.resource(role)["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_deploy_role_may_update_only_our_functions(template) -> None:
    statements = policy_statements(render(template), "DeployRole")
    lambda_statements = [
        s for s in statements if any(a.startswith("lambda:") for a in as_list(s["Action"]))
    ]

    assert lambda_statements
    updates = [s for s in lambda_statements if "lambda:UpdateFunctionCode" in as_list(s["Action"])]
    assert len(updates) == 1  # on the functions themselves, not their versions or aliases
    assert all(FUNCTION_ARN.match(arn) for arn in as_list(updates[0]["Resource"]))
    for statement in lambda_statements:  # the release (publish, ping, alias): also qualified
        for arn in as_list(statement["Resource"]):
            assert FUNCTION_ARN.match(arn.removesuffix(":*")), arn


def deploy_resources(template: dict[str, Any], action: str) -> set[str]:
    """Every resource the deploy role may apply ``action`` to."""
    return {
        arn
        for s in policy_statements(render(template), "DeployRole")
        if action in as_list(s["Action"])
        for arn in as_list(s["Resource"])
    }


def test_the_deploy_role_may_update_every_function_the_repository_has(template) -> None:
    """A new lambdas/<name>/ folder deploys to the function <name>: the role must reach it."""
    from fuelpipe.deploy.plan import discover_functions

    arns = deploy_resources(template, "lambda:UpdateFunctionCode")
    for function in discover_functions(BOOTSTRAP.parents[1]):
        assert f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}" in arns, function


def test_the_deploy_role_never_allows_everything(template) -> None:
    for statement in policy_statements(render(template), "DeployRole"):
        assert statement["Effect"] == "Allow"
        assert "*" not in as_list(statement["Resource"])
        assert not [a for a in as_list(statement["Action"]) if a.endswith(":*") or a == "*"]


def test_the_deploy_role_deploys_only_this_stack(template) -> None:
    stack_arns = deploy_resources(template, "cloudformation:ExecuteChangeSet")
    assert stack_arns == {f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/fuelpipe/*"}


def test_the_deploy_role_passes_only_its_own_cloudformation_role(template) -> None:
    rendered = render(template)
    passes = [
        s
        for s in policy_statements(rendered, "DeployRole")
        if "iam:PassRole" in as_list(s["Action"])
    ]

    assert len(passes) == 1
    [statement] = passes
    own = f"arn:aws:iam::{ACCOUNT}:role/fuelpipe-cloudformation-production"
    assert as_list(statement["Resource"]) == [own]
    assert statement["Condition"]["StringEquals"]["iam:PassedToService"] == (
        "cloudformation.amazonaws.com"
    )


def test_the_cloudformation_role_passes_only_the_stacks_roles(template) -> None:
    passes = [
        s
        for s in cloudformation_role_statements(template)
        if "iam:PassRole" in as_list(s.get("Action", []))
    ]

    assert passes
    for statement in passes:
        assert as_list(statement["Resource"]) == [f"arn:aws:iam::{ACCOUNT}:role/fuelpipe-*"]
        assert "iam:PassedToService" in statement["Condition"]["StringEquals"]


def test_the_cloudformation_role_attaches_only_the_stacks_policies_to_the_stacks_roles(
    template,
) -> None:
    # infra/template.yaml gives dashboard_api's role the lake query policy (ManagedPolicyArns):
    # CloudFormation attaches it, and may attach nothing else to anything else.
    app = yaml.load(BOOTSTRAP.with_name("template.yaml").read_text(), Loader=CfnLoader)
    attached = [
        arn
        for resource in app["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role"
        for arn in resource["Properties"].get("ManagedPolicyArns", [])
    ]
    assert attached == [{"Ref": "StationLakeQueryPolicy"}]
    assert app["Resources"]["StationLakeQueryPolicy"]["Type"] == "AWS::IAM::ManagedPolicy"
    attaches = [
        s
        for s in cloudformation_role_statements(template)
        if "iam:AttachRolePolicy" in as_list(s.get("Action", []))
    ]
    assert len(attaches) == 1
    (statement,) = attaches
    assert as_list(statement["Action"]) == ["iam:AttachRolePolicy"]
    assert as_list(statement["Resource"]) == [f"arn:aws:iam::{ACCOUNT}:role/fuelpipe-*"]
    assert statement["Condition"] == {
        "ArnLike": {"iam:PolicyARN": f"arn:aws:iam::{ACCOUNT}:policy/fuelpipe-*"},
        "StringEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN},
    }


def test_the_artifact_bucket_never_expires_the_code_the_stack_points_at(template) -> None:
    """`aws cloudformation package` uploads a zip once per content: the one the stack points at
    may be months old and is what a failed update rolls back to. Only replaced versions go."""
    bucket = render(template).resource("ArtifactBucket")
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert rules
    for rule in rules:
        assert not {"ExpirationInDays", "ExpirationDate"} & set(rule), rule
    assert any("NoncurrentVersionExpiration" in rule for rule in rules)


EVENT_INVOKE_CONFIG_ACTIONS = {
    "lambda:PutFunctionEventInvokeConfig",
    "lambda:GetFunctionEventInvokeConfig",
    "lambda:UpdateFunctionEventInvokeConfig",
    "lambda:DeleteFunctionEventInvokeConfig",
}


def cloudformation_role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The CloudFormation role's inline statements and those of the managed policies the
    bootstrap template attaches to it."""
    rendered = render(template)
    attached = [
        statement
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        and {"Ref": "CloudFormationExecutionRole"} in resource["Properties"].get("Roles", [])
        for statement in rendered.resource(name)["PolicyDocument"]["Statement"]
    ]
    return [*policy_statements(rendered, "CloudFormationExecutionRole"), *attached]


def test_the_cloudformation_role_sets_the_async_config_of_the_scheduled_functions_only(
    template,
) -> None:
    """infra/template.yaml gives each scheduled function an AWS::Lambda::EventInvokeConfig
    (on its live alias): without these actions the deploy fails with
    AccessDenied. They reach those functions (and their qualified ARNs), nothing else."""
    app = yaml.load(BOOTSTRAP.with_name("template.yaml").read_text(), Loader=CfnLoader)
    configured = {  # on each scheduled function's live alias (its FunctionName, Qualifier live)
        app["Resources"][resource["Properties"]["FunctionName"]["Ref"]]["Properties"][
            "FunctionName"
        ]
        for resource in app["Resources"].values()
        if resource["Type"] == "AWS::Lambda::EventInvokeConfig"
    }
    assert configured == {"data_clustering", "retry_recheck", "outlook", "intraday"}
    granted: dict[str, set[str]] = {}
    for statement in cloudformation_role_statements(template):
        for action in EVENT_INVOKE_CONFIG_ACTIONS & set(as_list(statement.get("Action", []))):
            assert statement["Effect"] == "Allow" and "Condition" not in statement
            granted.setdefault(action, set()).update(as_list(statement["Resource"]))
    prefix = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
    expected = {f"{prefix}{name}{tail}" for name in configured for tail in ("", ":*")}
    assert granted == dict.fromkeys(EVENT_INVOKE_CONFIG_ACTIONS, expected)


# --- the app stack's roles: bounded by the bootstrap's permissions boundary ---------------------

ROLE_WRITES = {
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:PutRolePermissionsBoundary",
}
KEY_READS = {
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
}
STACK_TAG = "fuelpipe:stack"


def app_template() -> dict[str, Any]:
    return yaml.load(BOOTSTRAP.with_name("template.yaml").read_text(), Loader=CfnLoader)


def boundary_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    policy = render(template).resource("StackRolesPermissionsBoundary")
    return list(policy["PolicyDocument"]["Statement"])


def test_the_cloudformation_role_writes_a_role_only_with_the_stacks_boundary_on_it(
    template,
) -> None:
    """Without the condition a template could give a stack role Action "*" and a Lambda to use
    it: account admin for whoever can run the deploy job."""
    granted: set[str] = set()
    for statement in cloudformation_role_statements(template):
        if statement["Effect"] != "Allow":
            continue
        actions = set(as_list(statement["Action"]))
        assert not [a for a in actions if a.startswith("iam:") and "*" in a], statement
        writes = actions & ROLE_WRITES
        if writes:
            granted |= writes
            assert statement["Condition"]["StringEquals"]["iam:PermissionsBoundary"] == (
                BOUNDARY_ARN
            ), statement
    assert granted == ROLE_WRITES


def test_the_boundary_is_neither_removed_nor_rewritten(template) -> None:
    denies = [s for s in cloudformation_role_statements(template) if s["Effect"] == "Deny"]
    denied: dict[str, set[str]] = {}
    for statement in denies:
        assert "Condition" not in statement or statement["Action"] == "kms:UntagResource"
        for action in as_list(statement["Action"]):
            denied.setdefault(action, set()).update(as_list(statement["Resource"]))
    assert f"arn:aws:iam::{ACCOUNT}:role/*" in denied["iam:DeleteRolePermissionsBoundary"]
    for action in (
        "iam:CreatePolicyVersion",
        "iam:DeletePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicy",
    ):
        assert BOUNDARY_ARN in denied[action], action
    # The bootstrap's own roles match role/fuelpipe-* with the default stack name; the
    # stations role holds no policy of the app stack, so nothing of it is left to detach.
    for role in (
        "fuelpipe-github-deploy-production",
        "fuelpipe-cloudformation-production",
        "fuelpipe-github-stations-production",
    ):
        assert f"arn:aws:iam::{ACCOUNT}:role/{role}" in denied["iam:*"], role


def test_the_boundary_allows_no_wildcard_action_and_nothing_of_iam(template) -> None:
    statements = boundary_statements(template)
    assert len(statements) >= 5
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, action
            assert action.split(":")[0] not in {"iam", "sts", "organizations"}, action
        assert "*" not in as_list(statement["Resource"])


def test_every_app_role_carries_the_boundary_the_bootstrap_creates(template) -> None:
    assert render(template).resource("StackRolesPermissionsBoundary")["ManagedPolicyName"] == (
        "fuelpipe-permissions-boundary"
    )
    app = app_template()
    roles = {n: r for n, r in app["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert len(roles) >= 7
    for name, role in roles.items():
        boundary = role["Properties"]["PermissionsBoundary"]
        assert AppRendered(app).resolve(boundary) == BOUNDARY_ARN, name


class AppRendered:
    """infra/template.yaml deployed as the stack `fuelpipe`, with names in the form
    CloudFormation generates (<stack>-<LogicalId>-<suffix>) where the template sets none."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self.values = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::StackName": "fuelpipe",
        }

    def _name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        kind = resource["Type"]
        fixed = {
            "AWS::Serverless::Function": props.get("FunctionName"),
            "AWS::Logs::LogGroup": props.get("LogGroupName"),
            "AWS::Athena::WorkGroup": props.get("Name"),
            "AWS::Glue::Database": props.get("DatabaseInput", {}).get("Name"),
        }.get(kind)
        if fixed:
            return str(fixed)
        generated = f"fuelpipe-{logical_id}-1A2B3C4D5E6F"
        return generated.lower() if kind == "AWS::S3::Bucket" else generated

    def _ref(self, name: str) -> str:
        if name in self.values:
            return self.values[name]
        kind = self.resources[name]["Type"]
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{self._name(name)}"
        if kind == "AWS::IAM::ManagedPolicy":
            return f"arn:aws:iam::{ACCOUNT}:policy/{self._name(name)}"
        if kind == "AWS::Lambda::Alias":  # its Ref is the alias's ARN
            props = self.resources[name]["Properties"]
            function = self._name(props["FunctionName"]["Ref"])
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:{props['Name']}"
        return self._name(name)

    def _arn(self, logical_id: str, attribute: str) -> str:
        assert attribute == "Arn", attribute
        name, kind = self._name(logical_id), self.resources[logical_id]["Type"]
        arns = {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d-0000-4000-8000-1a2b3c",
            "AWS::Serverless::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        }
        return arns[kind]

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(n) for n in node]
        if not isinstance(node, dict):
            return node
        if list(node) == ["Ref"]:
            return self._ref(node["Ref"])
        if list(node) == ["Fn::GetAtt"]:
            return self._arn(*node["Fn::GetAtt"])
        if list(node) == ["Fn::Sub"]:
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: self._arn(*m.group(1).split(".")) if "." in m.group(1)
                else self._ref(m.group(1)),
                node["Fn::Sub"],
            )  # fmt: skip
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


def app_role_grants() -> list[tuple[str, str, str]]:
    """(role, action, resource) for every Allow of every app role, inline or attached."""
    app = app_template()
    rendered = AppRendered(app)
    grants = []
    for name, role in app["Resources"].items():
        if role["Type"] != "AWS::IAM::Role":
            continue
        props = role["Properties"]
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        for arn in props.get("ManagedPolicyArns", []):
            documents.append(app["Resources"][arn["Ref"]]["Properties"]["PolicyDocument"])
        for document in documents:
            for statement in rendered.resolve(document)["Statement"]:
                assert statement["Effect"] == "Allow"
                for action in as_list(statement["Action"]):
                    for resource in as_list(statement["Resource"]):
                        grants.append((name, action, resource))
    return grants


def test_the_boundary_allows_everything_the_app_roles_are_granted(template) -> None:
    """A call the roles' own policies allow but the boundary does not fails at run time."""
    bounds = boundary_statements(template)
    grants = app_role_grants()
    assert len(grants) > 40
    for role, action, resource in grants:
        assert any(
            action in as_list(s["Action"])
            and any(fnmatch.fnmatchcase(resource, p) for p in as_list(s["Resource"]))
            for s in bounds
        ), (role, action, resource)


def test_the_alert_topic_key_is_tagged_with_the_stack_the_boundary_names(template) -> None:
    app = app_template()
    [key] = [r for r in app["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    tags = {t["Key"]: AppRendered(app).resolve(t["Value"]) for t in key["Properties"]["Tags"]}
    assert tags[STACK_TAG] == "fuelpipe"
    [kms] = [s for s in boundary_statements(template) if "kms:Decrypt" in as_list(s["Action"])]
    assert kms["Condition"] == {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": "fuelpipe"}}


def test_the_cloudformation_role_changes_only_keys_tagged_with_the_stack(template) -> None:
    granted: set[str] = set()
    for statement in cloudformation_role_statements(template):
        actions = {a for a in as_list(statement.get("Action", [])) if a.startswith("kms:")}
        if statement["Effect"] != "Allow" or not actions - KEY_READS:
            continue
        granted |= actions
        condition = statement["Condition"]["StringEquals"]
        if "kms:CreateKey" in actions:
            assert actions == {"kms:CreateKey", "kms:TagResource"}
            assert condition == {f"aws:RequestTag/{STACK_TAG}": "fuelpipe"}
        else:
            assert condition == {f"aws:ResourceTag/{STACK_TAG}": "fuelpipe"}
            assert statement["Resource"] != "*"
    assert {"kms:CreateKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"} <= granted
    [keep] = [
        s
        for s in cloudformation_role_statements(template)
        if s["Effect"] == "Deny" and "kms:UntagResource" in as_list(s.get("Action", []))
    ]
    assert keep["Condition"] == {"ForAnyValue:StringEquals": {"aws:TagKeys": [STACK_TAG]}}


# --- the stations role: the station lake's weekly ingest (.github/workflows/stations.yml) -------


def stations_trust(rendered: Rendered) -> dict[str, Any]:
    [statement] = rendered.resource("StationsRole")["AssumeRolePolicyDocument"]["Statement"]
    return statement


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_only_this_repositorys_job_in_the_stations_environment_may_assume_the_stations_role(
    template, environment
) -> None:
    """Its own GitHub environment, stations-<environment> (no required reviewers: a weekly
    run waits for nobody): neither the deploy environment's jobs may assume it, nor its jobs
    the deploy role."""
    rendered = render(template, environment)
    statement = stations_trust(rendered)
    other = "staging" if environment == "production" else "production"
    good = {
        AUD: "sts.amazonaws.com",
        SUB: f"repo:{OWNER}/{REPOSITORY}:environment:stations-{environment}",
    }

    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == trust_statement(rendered)["Principal"]
    assert may_assume(statement, good)
    refused = [
        f"repo:{OWNER}/{REPOSITORY}:environment:{environment}",  # the deploy job's
        f"repo:{OWNER}/{REPOSITORY}:ref:refs/heads/main",
        *refused_subjects(f"stations-{environment}", f"stations-{other}"),
    ]
    for sub in refused:
        assert not may_assume(statement, {**good, SUB: sub}), sub
    assert not may_assume(statement, {**good, AUD: "https://example.invalid"})
    assert not may_assume(trust_statement(rendered), good)  # the deploy role refuses its jobs


def stations_statements(template: dict[str, Any], stack: str = "fuelpipe") -> list[Any]:
    [policy] = render(template, StackName=stack).resource("StationsRole")["Policies"]
    return list(policy["PolicyDocument"]["Statement"])


def test_the_stations_role_may_do_what_the_stacks_lake_write_policy_grants_from_the_start(
    template,
) -> None:
    """One step: its inline policy is the app stack's StationLakeWritePolicy statement for
    statement (actions, prefixes, the lock), the bucket named by the stack's name as
    CloudFormation names it and held to this account, so nothing is passed to the bootstrap
    once the app stack exists. No managed policy, no boundary, and no parameter left that
    could attach one."""
    role = render(template).resource("StationsRole")
    written = app_template()["Resources"]["StationLakeWritePolicy"]["Properties"]
    bucket_arn = "arn:aws:s3:::fuelpipe-stationlakebucket-*"

    def by_name(value: Any) -> Any:
        if value == {"Fn::GetAtt": ["StationLakeBucket", "Arn"]}:
            return bucket_arn
        return value["Fn::Sub"].replace("${StationLakeBucket.Arn}", bucket_arn)

    this_account = {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}
    expected = [
        {
            **statement,
            "Resource": by_name(statement["Resource"]),
            "Condition": {**statement.get("Condition", {}), **this_account},
        }
        for statement in written["PolicyDocument"]["Statement"]
    ]
    allows = [s for s in stations_statements(template) if s["Effect"] == "Allow"]
    [deny] = [s for s in stations_statements(template) if s["Effect"] == "Deny"]
    assert allows == expected
    assert set(deny["Action"]) == {a for s in allows for a in as_list(s["Action"])} - {
        "s3:ListBucket"
    }
    assert deny["Resource"] == f"{bucket_arn}/*/stations/*"
    assert not {"ManagedPolicyArns", "PermissionsBoundary"} & set(role)
    assert not [p for p in template["Parameters"] if "Policy" in p]
    assert role["RoleName"] == "fuelpipe-github-stations-production"


def s3_allowed(statements: list[Any], action: str, arn: str) -> bool:
    """IAM's verdict on an S3 call in this account by resource alone (a Deny wins; IAM's * and
    fnmatch's both match a slash)."""
    matching = [
        s
        for s in statements
        if action in as_list(s["Action"])
        and any(fnmatch.fnmatchcase(arn, r) for r in as_list(s["Resource"]))
    ]
    return any(s["Effect"] == "Allow" for s in matching) and not any(
        s["Effect"] == "Deny" for s in matching
    )


@pytest.mark.parametrize("stack", ["fuelpipe", "fp-staging"])
def test_the_stations_role_reaches_only_its_own_stacks_lake_under_stations(template, stack) -> None:
    """The bucket CloudFormation generates for the stack's StationLakeBucket
    (<stack>-stationlakebucket-<suffix>, lowercase), keys under stations/ only; not another
    stack's lake, not the artifact bucket, not the lake's athena-results/ (even a key there
    with a stations/ folder, which the wildcard alone would match)."""
    statements = stations_statements(template, stack)
    own = f"arn:aws:s3:::{stack}-stationlakebucket-1x2y3z4w5v6u"
    key = "stations/product=GASOLINE/month=2025-03/part-0.parquet"

    assert s3_allowed(statements, "s3:ListBucket", own)
    for action in ("s3:GetObject", "s3:PutObject"):
        assert s3_allowed(statements, action, f"{own}/{key}")
        assert s3_allowed(statements, action, f"{own}/stations/_manifest.json")
        for elsewhere in (
            f"{own}/athena-results/q.csv",
            f"{own}/athena-results/stations/q.csv",
            f"{own}/_manifest.json",
            f"arn:aws:s3:::{stack}x-stationlakebucket-1x2y3z4w5v6u/{key}",
            f"arn:aws:s3:::other-stationlakebucket-1x2y3z4w5v6u/{key}",
            f"arn:aws:s3:::fuelpipe-artifacts-{ACCOUNT}-{REGION}-production/{key}",
        ):
            assert not s3_allowed(statements, action, elsewhere), (action, elsewhere)
    assert s3_allowed(statements, "s3:DeleteObject", f"{own}/stations/_ingest.lock")
    assert not s3_allowed(statements, "s3:DeleteObject", f"{own}/{key}")
    assert not s3_allowed(statements, "s3:DeleteObject", f"{own}/x/stations/_ingest.lock")
    assert not s3_allowed(statements, "s3:ListBucket", "arn:aws:s3:::other-stationlakebucket-1")


def test_the_stations_roles_arn_is_an_output_for_the_workflows_variable(template) -> None:
    output = template["Outputs"]["StationsRoleArn"]

    assert output["Value"] == {"Fn::GetAtt": ["StationsRole", "Arn"]}
    assert "AWS_STATIONS_ROLE_ARN" in output["Description"]


# --- IAM's size limits ------------------------------------------------------------------------

INLINE_LIMIT = 10_240
"""Characters of inline policy a role may hold, all its inline policies together (IAM quotas;
white space is not counted)."""
MANAGED_LIMIT = 6_144
"""Characters of one managed policy (white space not counted)."""
TRUST_LIMIT = 2_048
"""Characters of a role's trust policy, IAM's default quota."""
LONGEST_REGION = "ap-southeast-5"
"""A region name of the greatest length (14; ap-northeast-3 and ap-southeast-7 too): every ARN in
the policies spells the bootstrap stack's region."""
DEPLOY_MD = BOOTSTRAP.parents[1] / "docs" / "DEPLOY.md"


def policy_chars(document: Any) -> int:
    """A policy document's size as IAM counts it against its quotas: no white space."""
    return len(re.sub(r"\s", "", json.dumps(document)))


def longest(template: dict[str, Any]) -> Rendered:
    """The bootstrap as it renders longest: a 20-character StackName (its AllowedPattern's
    most), production, the longest region name, the longest owner and repository names."""
    rendered = render(template, StackName="s" * 20, GitHubOwner="o" * 39,
                      GitHubRepository="r" * 100)  # fmt: skip
    rendered.values["AWS::Region"] = LONGEST_REGION
    return rendered


def inline_chars(rendered: Rendered, role: str) -> int:
    """All of ``role``'s inline policies together, as IAM counts them."""
    policies = rendered.resource(role).get("Policies", [])
    return sum(policy_chars(policy["PolicyDocument"]) for policy in policies)


def test_every_bootstrap_policy_fits_iams_size_limits(template) -> None:
    """A policy past IAM's quota fails the bootstrap stack's create or update (LimitExceeded):
    each role's inline policies, each managed policy and each trust policy, rendered at their
    longest, fit."""
    rendered = longest(template)
    sizes = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            props = rendered.resource(logical_id)
            sizes[logical_id] = (inline_chars(rendered, logical_id), INLINE_LIMIT)
            trust = policy_chars(props["AssumeRolePolicyDocument"])
            sizes[f"{logical_id} trust"] = (trust, TRUST_LIMIT)
        elif resource["Type"] == "AWS::IAM::ManagedPolicy":
            document = rendered.resource(logical_id)["PolicyDocument"]
            sizes[logical_id] = (policy_chars(document), MANAGED_LIMIT)

    assert "CloudFormationExecutionRole" in sizes and "StackRolesPermissionsBoundary" in sizes
    assert {k: v for k, v in sizes.items() if v[0] > v[1]} == {}


def test_deploy_md_gives_the_cloudformation_roles_inline_size_at_its_longest(template) -> None:
    """DEPLOY.md tells whoever adds a statement how much of the 10,240 characters is left."""
    said = re.search(
        r"today's takes about ([\d,]+) at most", " ".join(DEPLOY_MD.read_text().split())
    )
    assert said, "DEPLOY.md no longer gives the CloudFormation role's inline policy size"
    size = inline_chars(longest(template), "CloudFormationExecutionRole")

    assert int(said.group(1).replace(",", "")) == round(size, -2), size

"""The generated `.gitlab-ci.yml` and `infra/iam/`: valid for GitLab, right jobs per branch, really run.

Cheapest first:

1. Schema: the file, and its expanded form (hidden `.deploy` and `extends` resolved by
   `gitlab-ci-local --preview`), validate against GitLab's CI schema bundled with check-jsonschema.
2. Selection: gitlab-ci-local lists the jobs of a push to develop, main and a feature branch and of
   a merge request, for both `production_deploy` answers; the workflow rules decide which events
   get a pipeline at all.
3. IAM: the trust policies admit only their project and branch; the deploy policies are scoped.
4. Real run: in a copy of a generated project, gitlab-ci-local runs the test job (the project's
   whole test suite: the template's one full-suite run for the default answers) and the develop
   deploy job against a local moto server, which assumes the deploy role from a web-identity
   token. Afterwards the develop pipeline exists in moto, and every AWS call the deploy made is
   allowed by `infra/iam/develop-deploy-policy.json`.

Tools: gitlab-ci-local 4.73.0 and rsync (`make tools`); check-jsonschema, moto (`make venv`).
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.session
import pytest
import requests
import yaml
from cookiecutter.main import cookiecutter
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.server import ThreadedMotoServer
from moto.sts.models import sts_backends
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
GITLAB_CI_LOCAL_VERSION = "4.73.0"
GITLAB_CI_LOCAL_IN_BUILD = TEMPLATE_DIR / "build" / "node" / "node_modules" / ".bin" / "gitlab-ci-local"
LIST_HEADER = "name;stage;when;allowFailure;environment;needs"
FEATURE_BRANCH = "feature/longer-trips"
# What GitLab sets in a merge request pipeline (it sets no CI_COMMIT_BRANCH there).
MERGE_REQUEST = {
    "CI_PIPELINE_SOURCE": "merge_request_event",
    "CI_MERGE_REQUEST_IID": "12",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "develop",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
}
# Answers that differ from every default: other host, nested group, other partition and accounts.
CUSTOM_ANSWERS = {
    "project_name": "Bag Forecast",
    "aws_region": "cn-north-1",
    "develop_role_arn": "arn:aws-cn:iam::111122223333:role/service-role/bag-forecast-sm-dev",
    "production_role_arn": "arn:aws-cn:iam::444455556666:role/bag-forecast-sm-prod",
    "pipeline_name": "Bag-Forecast",
    "gitlab_url": "https://git.example.org",
    "gitlab_project_path": "ml/forecasting/bag-forecast",
    "production_deploy": "automatic",
}


# ---------------------------------------------------------------- generated projects and tools


@pytest.fixture(scope="module")
def generate(tmp_path_factory: pytest.TempPathFactory):
    """Render the template once per set of answers; returns the generated project directory."""
    projects: dict[str, Path] = {}

    def render(**answers: str) -> Path:
        key = json.dumps(answers, sort_keys=True)
        if key not in projects:
            output_dir = tmp_path_factory.mktemp("generated")
            project = cookiecutter(
                str(TEMPLATE_DIR), no_input=True, extra_context=answers, output_dir=str(output_dir), default_config=True
            )
            projects[key] = Path(project)
        return projects[key]

    return render


def answers_of(project: Path) -> dict[str, str]:
    return json.loads((project / ".cookiecutter.json").read_text())["cookiecutter"]


def ci_config(project: Path) -> dict:
    return yaml.safe_load((project / ".gitlab-ci.yml").read_text())


def policy(project: Path, name: str) -> dict:
    return json.loads((project / "infra" / "iam" / name).read_text())


@pytest.fixture(scope="session")
def gitlab_ci_local() -> str:
    """Path of gitlab-ci-local 4.73.0; fails (never skips) with the way to install it."""
    how = "run `make tools` in the template repository (npm install into build/node; needs rsync)"
    found = shutil.which("gitlab-ci-local")
    if found is None and GITLAB_CI_LOCAL_IN_BUILD.exists():
        found = str(GITLAB_CI_LOCAL_IN_BUILD)
    if found is None:
        pytest.fail(f"gitlab-ci-local {GITLAB_CI_LOCAL_VERSION} is not installed: {how}")
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if version != GITLAB_CI_LOCAL_VERSION:
        pytest.fail(f"{found} is gitlab-ci-local {version!r}, the tests need {GITLAB_CI_LOCAL_VERSION}: {how}")
    if shutil.which("rsync") is None:
        pytest.fail("rsync is missing and gitlab-ci-local needs it: apt-get install rsync")
    return found


# A fixed identity, no signing and no hooks: commits in test copies must not depend on this machine's git setup.
GIT_SETTINGS = ("-c", "user.name=CI test", "-c", "user.email=ci@example.com", "-c", "commit.gpgsign=false")
GIT_SETTINGS += ("-c", "core.hooksPath=/dev/null")


def git(repository: Path, *arguments: str) -> None:
    subprocess.run(["git", *GIT_SETTINGS, *arguments], cwd=repository, check=True, capture_output=True)


def git_copy(project: Path, destination: Path, branch: str) -> Path:
    """A committed copy of a generated project on `branch`, with a GitLab remote, as after a push."""
    shutil.copytree(project, destination)
    answers = answers_of(project)
    git(destination, "init", "-q", "-b", branch)
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "Generated by cookiecutter")
    git(destination, "remote", "add", "origin", f"{answers['gitlab_url']}/{answers['gitlab_project_path']}.git")
    # gitlab-ci-local reads the default branch from origin/HEAD.
    git(destination, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(destination, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    return destination


def run_gitlab_ci_local(
    tool: str,
    project: Path,
    *arguments: str,
    variables: dict[str, str] | None = None,
    environment: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    variables = {"CI_PROJECT_DIR": str(project), **(variables or {})}
    command = [tool, "--home", str(project.parent / "gitlab-ci-local-home"), "--no-color"]
    command += ["--ignore-predefined-vars", ",".join(variables)]
    for name, value in variables.items():
        command += ["--variable", f"{name}={value}"]
    return subprocess.run(
        [*command, *arguments],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


def listed_jobs(tool: str, project: Path, *arguments: str, variables: dict[str, str] | None = None) -> dict[str, str]:
    """`{job: when}` of the jobs gitlab-ci-local selects (when:never left out)."""
    result = run_gitlab_ci_local(
        tool, project, "--list-csv", "--json-schema-validation=false", *arguments, variables=variables
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert LIST_HEADER in lines, result.stdout
    rows = lines[lines.index(LIST_HEADER) + 1 :]
    return {row.split(";")[0]: row.split(";")[2] for row in rows if row.strip()}


# ---------------------------------------------------------------- 1. schema


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if "No module named check_jsonschema" in result.stderr:
        pytest.fail(f"check-jsonschema is missing from {sys.prefix}: run `make venv`")
    return result


def expanded(tool: str, project: Path) -> Path:
    """The CI file with hidden jobs, `extends` and defaults resolved, as GitLab would see the jobs."""
    # check-jsonschema is the judge: gitlab-ci-local's own schema check is turned off here.
    result = run_gitlab_ci_local(tool, project, "--preview", "--json-schema-validation=false")
    assert result.returncode == 0, result.stdout + result.stderr
    path = project.parent / f"{project.name}-expanded-gitlab-ci.yml"
    path.write_text(result.stdout)
    return path


@pytest.mark.parametrize("production_deploy", ["manual", "automatic"])
def test_ci_file_and_its_expanded_form_follow_gitlab_schema(generate, gitlab_ci_local, tmp_path, production_deploy):
    project = git_copy(generate(production_deploy=production_deploy), tmp_path / "project", "develop")

    raw = check_jsonschema(project / ".gitlab-ci.yml")
    assert raw.returncode == 0, raw.stdout + raw.stderr
    expanded_file = expanded(gitlab_ci_local, project)
    jobs = yaml.safe_load(expanded_file.read_text())
    assert {"test", "deploy-develop", "deploy-production"} <= set(jobs)
    assert not any(name.startswith(".") for name in jobs), "hidden jobs must be resolved in the expanded form"
    checked = check_jsonschema(expanded_file)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_only_the_expanded_form_catches_a_mistake_in_a_hidden_job(generate, gitlab_ci_local, tmp_path):
    project = git_copy(generate(), tmp_path / "project", "develop")
    config_file = project / ".gitlab-ci.yml"
    config = config_file.read_text()
    assert "  interruptible: false\n" in config
    config_file.write_text(config.replace("  interruptible: false\n", "  interruptible: sometimes\n"))

    assert check_jsonschema(config_file).returncode == 0, "the schema does not look inside hidden jobs"
    result = check_jsonschema(expanded(gitlab_ci_local, project))
    assert result.returncode != 0
    assert "interruptible" in result.stdout + result.stderr


# ---------------------------------------------------------------- 2. job selection


@pytest.fixture(scope="module")
def branch_copies(generate, tmp_path_factory) -> dict[str, Path]:
    """One git copy per production_deploy answer; tests check out the branch they need."""
    root = tmp_path_factory.mktemp("selection")
    return {
        answer: git_copy(generate(production_deploy=answer), root / answer, "develop")
        for answer in ("manual", "automatic")
    }


def on_branch(project: Path, branch: str) -> Path:
    git(project, "checkout", "-q", "-B", branch)
    return project


@pytest.mark.parametrize("production_deploy", ["manual", "automatic"])
@pytest.mark.parametrize(
    ("event", "branch", "variables", "expected"),
    [
        ("push", "develop", {}, {"test": "on_success", "deploy-develop": "on_success"}),
        ("push", "main", {}, {"test": "on_success", "deploy-production": "<production>"}),
        ("push", FEATURE_BRANCH, {}, {"test": "on_success"}),
        ("merge request develop -> main", "develop", MERGE_REQUEST, {"test": "on_success"}),
    ],
)
def test_jobs_selected_per_branch(
    gitlab_ci_local, branch_copies, production_deploy, event, branch, variables, expected
):
    project = on_branch(branch_copies[production_deploy], branch)
    production_when = "manual" if production_deploy == "manual" else "on_success"
    expected = {job: production_when if when == "<production>" else when for job, when in expected.items()}
    unset = ["--unset-variable", "CI_COMMIT_BRANCH"] if variables else []

    assert listed_jobs(gitlab_ci_local, project, *unset, variables=variables) == expected, event


@pytest.mark.parametrize(
    ("event", "branch", "variables", "unset", "created"),
    [
        ("push to develop", "develop", {}, [], True),
        ("push to develop with an open merge request", "develop", {"CI_OPEN_MERGE_REQUESTS": "g/p!12"}, [], True),
        ("push to main", "main", {}, [], True),
        ("push to a feature branch", FEATURE_BRANCH, {}, [], True),
        (
            "push to a feature branch with an open merge request",
            FEATURE_BRANCH,
            {"CI_OPEN_MERGE_REQUESTS": "g/p!12"},
            [],
            False,
        ),
        ("merge request event", "develop", MERGE_REQUEST, ["CI_COMMIT_BRANCH"], True),
        ("tag push", "develop", {"CI_COMMIT_TAG": "v1.0.0"}, ["CI_COMMIT_BRANCH"], False),
    ],
)
def test_workflow_rules_create_one_pipeline_per_event(
    gitlab_ci_local, branch_copies, event, branch, variables, unset, created
):
    """gitlab-ci-local evaluates workflow:rules only for variables, so a probe job carries them as its rules."""
    project = on_branch(branch_copies["manual"], branch)
    probe = {
        "stages": ["test"],
        "pipeline-created": {"stage": "test", "script": [":"], "rules": ci_config(project)["workflow"]["rules"]},
    }
    (project / "workflow-probe.yml").write_text(yaml.safe_dump(probe))
    unset_arguments = [argument for name in unset for argument in ("--unset-variable", name)]

    jobs = listed_jobs(gitlab_ci_local, project, "--file", "workflow-probe.yml", *unset_arguments, variables=variables)

    assert ("pipeline-created" in jobs) is created, event


@pytest.mark.parametrize("production_deploy", ["manual", "automatic"])
def test_deploy_jobs_are_keyless_serial_and_never_interrupted(generate, production_deploy):
    project = generate(production_deploy=production_deploy)
    config = ci_config(project)
    answers = answers_of(project)

    assert config["stages"] == ["test", "deploy"]
    for job, environment in (("deploy-develop", "develop"), ("deploy-production", "production")):
        jobs = {**config[".deploy"], **config[job]}
        assert "only" not in jobs
        assert jobs["rules"]
        assert jobs["interruptible"] is False
        assert jobs["resource_group"] == environment
        assert jobs["environment"]["name"] == environment
        assert jobs["id_tokens"]["GITLAB_OIDC_TOKEN"]["aud"] == answers["gitlab_url"]
        assert config[job]["variables"]["ENVIRONMENT"] == environment
        assert config[job]["variables"]["AWS_ROLE_ARN"] == f"${environment.upper()}_DEPLOY_ROLE_ARN"
    assert config["deploy-production"]["environment"]["deployment_tier"] == "production"
    assert ("manual_confirmation" in config["deploy-production"]) is (production_deploy == "manual")
    # Only the pipeline extra: no Spark, no test tools in the deploy job.
    assert 'python -m pip install --quiet -c constraints.txt -e ".[pipeline]"' in config[".deploy"]["before_script"]


def test_every_install_applies_the_constraints_and_its_cache_follows_them(generate):
    config = ci_config(generate())

    for job in ("test", ".deploy"):
        installs = [line for line in config[job]["before_script"] if "pip install" in line]
        assert installs, job
        assert all("-c constraints.txt" in line for line in installs), job
        # The pip cache is renewed when the versions it holds change.
        assert "constraints.txt" in config[job]["cache"]["key"]["files"], job
        # GitLab takes at most two files in cache:key:files (the schema allows more).
        assert len(config[job]["cache"]["key"]["files"]) <= 2, job


def test_role_arns_and_audience_follow_the_answers(generate):
    project = generate(**CUSTOM_ANSWERS)
    variables = ci_config(project)["variables"]

    assert variables["AWS_DEFAULT_REGION"] == "cn-north-1"
    assert variables["DEVELOP_DEPLOY_ROLE_ARN"] == "arn:aws-cn:iam::111122223333:role/bag-forecast-ci-deploy-develop"
    assert (
        variables["PRODUCTION_DEPLOY_ROLE_ARN"] == "arn:aws-cn:iam::444455556666:role/bag-forecast-ci-deploy-production"
    )
    assert ci_config(project)[".deploy"]["id_tokens"]["GITLAB_OIDC_TOKEN"]["aud"] == "https://git.example.org"
    check = check_jsonschema(project / ".gitlab-ci.yml")
    assert check.returncode == 0, check.stdout + check.stderr


# ---------------------------------------------------------------- 3. IAM policies


def web_identity_claims(project_path: str, branch: str, audience: str, issuer_host: str) -> dict[str, str]:
    return {
        f"{issuer_host}:aud": audience,
        f"{issuer_host}:sub": f"project_path:{project_path}:ref_type:branch:ref:{branch}",
    }


@pytest.mark.parametrize("answers", [{}, CUSTOM_ANSWERS], ids=["default", "custom"])
def test_trust_policies_admit_only_their_project_and_branch(generate, answers):
    project = generate(**answers)
    given = answers_of(project)
    host = given["gitlab_url"].removeprefix("https://")
    path, audience = given["gitlab_project_path"], given["gitlab_url"]

    for environment, branch in (("develop", "develop"), ("production", "main")):
        trust = policy(project, f"{environment}-trust-policy.json")
        role_arn = given[f"{environment}_role_arn"].split(":")
        (statement,) = trust["Statement"]
        assert statement["Principal"]["Federated"] == f"arn:{role_arn[1]}:iam::{role_arn[4]}:oidc-provider/{host}"

        def admits(claims: dict[str, str], trust: dict = trust) -> bool:
            verdict = IAMPolicy(json.dumps(trust)).is_action_permitted(
                "sts:AssumeRoleWithWebIdentity", incoming_condition_values=claims
            )
            return verdict == PermissionResult.PERMITTED

        assert admits(web_identity_claims(path, branch, audience, host))
        other_branch = "main" if branch == "develop" else "develop"
        assert not admits(web_identity_claims(path, other_branch, audience, host))
        assert not admits(web_identity_claims(path, FEATURE_BRANCH, audience, host))
        assert not admits(web_identity_claims("someone/else", branch, audience, host))
        assert not admits(web_identity_claims(path, branch, "https://elsewhere.example.com", host))


SAGEMAKER_OPERATIONS = set(botocore.session.get_session().get_service_model("sagemaker").operation_names)


@pytest.mark.parametrize(
    "answers", [{}, {**CUSTOM_ANSWERS, "model_registry": "no"}], ids=["default", "custom-without-registry"]
)
def test_deploy_policies_are_scoped_to_their_environment(generate, answers):
    project = generate(**answers)
    given = answers_of(project)

    for environment in ("develop", "production"):
        statements = policy(project, f"{environment}-deploy-policy.json")["Statement"]
        execution_role = given[f"{environment}_role_arn"]
        partition, account = execution_role.split(":")[1], execution_role.split(":")[4]
        name = f"{given['pipeline_name'].lower()}-{environment}"
        sagemaker_arn = f"arn:{partition}:sagemaker:{given['aws_region']}:{account}"
        own_resources = (f"{sagemaker_arn}:pipeline/{name}", f"{sagemaker_arn}:model-package-group/{name}")
        pipeline_name = f"{given['pipeline_name']}-{environment}"
        scheduler_arn = f"arn:{partition}:scheduler:{given['aws_region']}:{account}"
        own_by_service = {
            "scheduler": (f"{scheduler_arn}:schedule/{pipeline_name}/", f"{scheduler_arn}:schedule-group/"),
            "sns": (f"arn:{partition}:sns:{given['aws_region']}:{account}:{pipeline_name}-alerts",),
            "events": (f"arn:{partition}:events:{given['aws_region']}:{account}:rule/{pipeline_name}-failed",),
        }
        scheduler_role = f"arn:{partition}:iam::{account}:role/{given['project_slug']}-scheduler-{environment}"
        for statement in statements:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
            assert statement["Effect"] == "Allow"
            assert all("*" not in action for action in actions), statement["Sid"]
            # ListSchedules has no resource-level permissions in IAM: only "*" can grant it.
            if actions != ["scheduler:ListSchedules"]:
                assert "*" not in resources, statement["Sid"]
            for action in actions:
                service, operation = action.split(":")
                if service == "sagemaker":
                    assert operation in SAGEMAKER_OPERATIONS, f"{action} is not a SageMaker API action"
                    assert all(resource.startswith(own_resources) for resource in resources), statement["Sid"]
                if service == "s3":
                    bucket = given[f"{environment}_s3_bucket"]
                    assert all(resource.startswith(f"arn:{partition}:s3:::{bucket}") for resource in resources)
                if service == "scheduler" and "ScheduleGroup" in action:
                    assert resources == [f"{scheduler_arn}:schedule-group/{pipeline_name}"], statement["Sid"]
                if service in own_by_service and action != "scheduler:ListSchedules":
                    assert all(resource.startswith(own_by_service[service]) for resource in resources), statement["Sid"]
                if service == "iam":
                    assert action in ("iam:GetRole", "iam:PassRole", "iam:SimulatePrincipalPolicy")
                    assert resources in ([execution_role], [scheduler_role])
                if action == "iam:PassRole":
                    service_of_role = "sagemaker" if resources == [execution_role] else "scheduler"
                    only_to_it = {"StringEquals": {"iam:PassedToService": f"{service_of_role}.amazonaws.com"}}
                    assert statement["Condition"] == only_to_it
        registry_statements = [s for s in statements if "sagemaker:CreateModelPackageGroup" in s["Action"]]
        assert len(registry_statements) == (1 if given["model_registry"] == "yes" else 0)


def test_scheduler_roles_may_only_start_their_own_pipeline(generate):
    project = generate(**CUSTOM_ANSWERS)
    given = answers_of(project)

    for environment, other in (("develop", "production"), ("production", "develop")):
        execution_role = given[f"{environment}_role_arn"].split(":")
        partition, account = execution_role[1], execution_role[4]
        trust = policy(project, f"{environment}-scheduler-trust-policy.json")
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
        scheduler_policy = policy(project, f"{environment}-scheduler-policy.json")
        sagemaker_arn = f"arn:{partition}:sagemaker:{given['aws_region']}:{account}"
        pipelines = f"{sagemaker_arn}:pipeline/{given['pipeline_name'].lower()}"
        own, others = f"{pipelines}-{environment}", f"{pipelines}-{other}"

        assert denied_by(scheduler_policy, [("sagemaker:StartPipelineExecution", own, {})]) == []
        assert denied_by(scheduler_policy, [("sagemaker:StartPipelineExecution", others, {})])
        assert denied_by(scheduler_policy, [("sagemaker:DeletePipeline", own, {})])


# ---------------------------------------------------------------- 4. real run against moto


def dummy_id_token(answers: dict[str, str], branch: str) -> str:
    """A token shaped like GitLab's ID token (moto does not check signatures)."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {
        "iss": answers["gitlab_url"],
        "aud": answers["gitlab_url"],
        "sub": f"project_path:{answers['gitlab_project_path']}:ref_type:branch:ref:{branch}",
        "iat": int(time.time()),
        "exp": int(time.time()) + 3600,
    }
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def throwaway_virtualenv(directory: Path, site_dirs: list[str]) -> Path:
    """A venv that sees already-installed packages through a .pth file, so the jobs' `pip install`
    finds their dependencies satisfied and installs only the generated project (not 1.8 GB)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True)
    query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    found = subprocess.run([directory / "bin" / "python", "-c", query], capture_output=True, text=True, check=True)
    lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in site_dirs)
    (Path(found.stdout.strip()) / "installed-dependencies.pth").write_text(lines)
    return directory / "bin"


def every_installed_package() -> list[str]:
    """The site-packages of the interpreter running the tests (build/venv in `make test`)."""
    return sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


def only_packages_of_extra(project: Path, extra: str, directory: Path) -> list[str]:
    """A site directory holding links to exactly the distributions one extra of the project pulls in
    (plus pip), so a job that installs only that extra cannot import anything else."""
    requirements = tomllib.loads((project / "pyproject.toml").read_text())["project"]["optional-dependencies"][extra]
    directory.mkdir()
    for distribution in dependency_closure([*requirements, "pip"]):
        for top_level in {Path(file).parts[0] for file in distribution.files or ()} - {"..", "__pycache__"}:
            source, link = Path(distribution.locate_file(top_level)), directory / top_level
            if source.exists() and not link.exists():
                link.symlink_to(source)
    return [str(directory)]


def dependency_closure(requirements: list[str]) -> list[importlib.metadata.Distribution]:
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = [Requirement(requirement) for requirement in requirements]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found[name] = importlib.metadata.distribution(name)
        for dependency in map(Requirement, found[name].requires or ()):
            extras = requirement.extras or {""}
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(dependency)
    return list(found.values())


def job_environment(venv_bin: Path, home: Path) -> dict[str, str]:
    """The shell the jobs run in: the throwaway venv first on PATH, no AWS settings of this machine."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "PYTEST_", "VIRTUAL_ENV")) and name not in ("PYTHONPATH", "PYTHONHOME")
    }
    return {
        **kept,
        "PATH": os.pathsep.join([str(venv_bin), kept.get("PATH", "")]),
        # Keep boto3 away from this machine's AWS profile: the jobs must authenticate themselves.
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
    }


def job_log(result: subprocess.CompletedProcess[str], lines: int = 80) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


@pytest.fixture(scope="module")
def ci_run(generate, gitlab_ci_local, tmp_path_factory) -> dict:
    """A generated project (default answers) pushed to develop, and the shells its jobs run in: the
    test job sees every dependency, the deploy job only those of the `pipeline` extra, as in GitLab."""
    root = tmp_path_factory.mktemp("ci-run")
    project = git_copy(generate(), root / "project", "develop")
    pipeline_only = only_packages_of_extra(project, "pipeline", root / "pipeline-extra")
    return {
        "project": project,
        "answers": answers_of(project),
        "test_shell": job_environment(throwaway_virtualenv(root / "test-venv", every_installed_package()), root),
        "deploy_shell": job_environment(throwaway_virtualenv(root / "deploy-venv", pipeline_only), root),
    }


@pytest.mark.generated_suite
def test_ci_test_job_runs_lint_the_whole_suite_and_both_definitions(gitlab_ci_local, ci_run):
    project = ci_run["project"]

    result = run_gitlab_ci_local(
        gitlab_ci_local,
        project,
        "test",
        "--force-shell-executor",
        environment=ci_run["test_shell"],
        timeout=3000,
    )

    assert result.returncode == 0, job_log(result)
    assert "validate .gitlab-ci.yml" in result.stdout, "pre-commit did not run"
    assert " passed" in result.stdout, "the project's tests did not run"
    for environment in ("develop", "production"):
        definition = json.loads((project / "build" / "definitions" / f"{environment}.json").read_text())
        assert definition["Steps"], f"{environment} definition has no steps"


@pytest.fixture
def moto_endpoint(monkeypatch, tmp_path) -> Iterator[str]:
    """A moto server on 127.0.0.1 recording every request, and this test's boto3 pointed at it
    through the same web-identity flow the deploy job uses."""
    monkeypatch.chdir(tmp_path)  # moto writes its request recording into the working directory
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    token_file = tmp_path / "test-token"
    token_file.write_text(dummy_id_token({"gitlab_url": "https://gitlab.com", "gitlab_project_path": "t/t"}, "x"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/template-test-admin")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    try:
        yield endpoint
    finally:
        server.stop()


def prepare_develop_account(project: Path, answers: dict[str, str]) -> str:
    """What infra/iam/README.md and the platform team set up: bucket, execution role, deploy role."""
    region = answers["aws_region"]
    iam = boto3.client("iam", region_name=region)
    trust_sagemaker = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    execution_role = answers["develop_role_arn"].split("/")[-1]
    iam.create_role(RoleName=execution_role, AssumeRolePolicyDocument=json.dumps(trust_sagemaker))
    deploy_role_arn = ci_config(project)["variables"]["DEVELOP_DEPLOY_ROLE_ARN"]
    deploy_role = deploy_role_arn.split("/")[-1]
    # moto validates the grammar of both policy documents here.
    trust_gitlab = policy(project, "develop-trust-policy.json")
    iam.create_role(RoleName=deploy_role, AssumeRolePolicyDocument=json.dumps(trust_gitlab))
    iam.put_role_policy(
        RoleName=deploy_role,
        PolicyName="deploy-sagemaker-pipeline",
        PolicyDocument=json.dumps(policy(project, "develop-deploy-policy.json")),
    )
    boto3.client("s3", region_name=region).create_bucket(
        Bucket=answers["develop_s3_bucket"], CreateBucketConfiguration={"LocationConstraint": region}
    )
    return deploy_role_arn


def recorded_requests(endpoint: str) -> list[dict]:
    response = requests.get(f"{endpoint}/moto-api/recorder/download-recording", timeout=30)
    response.raise_for_status()
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


# What an IAM decision needs: action, resource ARN, and the condition keys AWS adds to the request.
Permission = tuple[str, str, dict[str, str]]
PASSED_TO_SAGEMAKER = {"iam:PassedToService": "sagemaker.amazonaws.com"}
# Calls the deploy makes whose AccessDenied the SDK handles, so the deploy role does without them:
# boto3's Bucket.creation_date lists every bucket; denied, the SDK lists the bucket's prefix instead.
NOT_GRANTED_ON_PURPOSE = {"s3:ListAllMyBuckets"}


def signing_service(headers: dict[str, str]) -> str:
    """The service a request was signed for: Credential=<key id>/<date>/<region>/<service>/aws4_request."""
    scope = headers.get("authorization", "").partition("Credential=")[2].partition(",")[0].split("/")
    return scope[3] if len(scope) == 5 else ""


def permissions_needed(request: dict, answers: dict[str, str]) -> list[Permission]:
    """The IAM permissions one recorded request needs (none for STS identity calls)."""
    headers = {name.lower(): value for name, value in request["headers"].items()}
    url = urlsplit(request["url"])
    body = base64.b64decode(request["body"]) if request["body_encoded"] else (request["body"] or "").encode()
    form = parse_qs(body.decode(errors="replace")) | parse_qs(url.query)
    service = signing_service(headers)
    if service in ("", "sts") and form.get("Action", [""])[0] in ("AssumeRoleWithWebIdentity", "GetCallerIdentity"):
        return []
    if service == "sagemaker":
        return sagemaker_permissions(headers["x-amz-target"].removeprefix("SageMaker."), json.loads(body), answers)
    partition = answers["develop_role_arn"].split(":")[1]
    if service == "s3":
        bucket, _, key = url.path.lstrip("/").partition("/")
        if not bucket:
            return [("s3:ListAllMyBuckets", "*", {})]
        if key:
            action = "s3:PutObject" if request["method"] == "PUT" else "s3:GetObject"
            return [(action, f"arn:{partition}:s3:::{bucket}/{key}", {})]
        action = "s3:CreateBucket" if request["method"] == "PUT" else "s3:ListBucket"
        return [(action, f"arn:{partition}:s3:::{bucket}", {})]
    execution_role = answers["develop_role_arn"]
    role_named = form.get("RoleName", form.get("PolicySourceArn", [""]))[0].rsplit("/", 1)[-1]
    if service == "iam" and role_named == execution_role.rsplit("/", 1)[-1]:
        return [(f"iam:{form['Action'][0]}", execution_role, {})]
    if service == "sns":
        return sns_permissions(form, answers)
    if service == "events":
        return events_permissions(headers["x-amz-target"].removeprefix("AWSEvents."), json.loads(body), answers)
    if service == "scheduler":
        return scheduler_permissions(request["method"], url, json.loads(body or b"{}"), answers)
    raise AssertionError(f"no IAM action known for {request['method']} {url.path} ({service}): extend this mapping")


def sagemaker_permissions(operation: str, payload: dict, answers: dict[str, str]) -> list[Permission]:
    partition, account = answers["develop_role_arn"].split(":")[1], answers["develop_role_arn"].split(":")[4]
    prefix = f"arn:{partition}:sagemaker:{answers['aws_region']}:{account}"
    if "ResourceArn" in payload:
        resource = payload["ResourceArn"]
    elif "PipelineName" in payload:
        resource = f"{prefix}:pipeline/{payload['PipelineName'].lower()}"
    elif "ModelPackageGroupName" in payload:
        resource = f"{prefix}:model-package-group/{payload['ModelPackageGroupName'].lower()}"
    else:
        raise AssertionError(f"no resource known for sagemaker:{operation}: extend this mapping")
    needed = [(f"sagemaker:{operation}", resource, {})]
    if operation.startswith("Create") and payload.get("Tags"):
        needed.append(("sagemaker:AddTags", resource, {}))  # tagging on create needs AddTags as well
    if "RoleArn" in payload:
        needed.append(("iam:PassRole", payload["RoleArn"], PASSED_TO_SAGEMAKER))
    return needed


def in_region(answers: dict[str, str], service: str) -> str:
    partition, account = answers["develop_role_arn"].split(":")[1], answers["develop_role_arn"].split(":")[4]
    return f"arn:{partition}:{service}:{answers['aws_region']}:{account}"


def sns_permissions(form: dict[str, list[str]], answers: dict[str, str]) -> list[Permission]:
    action = form["Action"][0]
    topic = form["TopicArn"][0] if "TopicArn" in form else f"{in_region(answers, 'sns')}:{form['Name'][0]}"
    needed = [(f"sns:{action}", topic, {})]
    if action == "CreateTopic" and any(key.startswith("Tags.member") for key in form):
        needed.append(("sns:TagResource", topic, {}))
    return needed


def events_permissions(operation: str, payload: dict, answers: dict[str, str]) -> list[Permission]:
    rule = f"{in_region(answers, 'events')}:rule/{payload.get('Name') or payload['Rule']}"
    needed = [(f"events:{operation}", rule, {})]
    if operation == "PutRule" and payload.get("Tags"):
        needed.append(("events:TagResource", rule, {}))
    return needed


def scheduler_permissions(method: str, url, payload: dict, answers: dict[str, str]) -> list[Permission]:
    """EventBridge Scheduler's REST paths: /schedule-groups/<name>, /schedules/<name>?groupName=..."""
    kind, _, name = url.path.strip("/").partition("/")
    verb = {"GET": "Get", "POST": "Create", "PUT": "Update", "DELETE": "Delete"}[method]
    if kind == "schedules" and not name:
        return [("scheduler:ListSchedules", "*", {})]
    if kind == "schedule-groups":
        group = f"{in_region(answers, 'scheduler')}:schedule-group/{name}"
        tagging = [("scheduler:TagResource", group, {})] if payload.get("Tags") else []
        return [(f"scheduler:{verb}ScheduleGroup", group, {}), *tagging]
    group = parse_qs(url.query).get("groupName", payload.get("GroupName", ["default"]))
    schedule = f"{in_region(answers, 'scheduler')}:schedule/{group[0] if isinstance(group, list) else group}/{name}"
    needed = [(f"scheduler:{verb}Schedule", schedule, {})]
    if "RoleArn" in payload.get("Target", {}):
        to_scheduler = {"iam:PassedToService": "scheduler.amazonaws.com"}
        needed.append(("iam:PassRole", payload["Target"]["RoleArn"], to_scheduler))
    return needed


def test_ci_develop_deploy_job_assumes_the_deploy_role_and_creates_the_pipeline(gitlab_ci_local, ci_run, moto_endpoint):
    project, answers = ci_run["project"], ci_run["answers"]
    account, partition = answers["develop_role_arn"].split(":")[4], answers["develop_role_arn"].split(":")[1]
    deploy_role_arn = prepare_develop_account(project, answers)
    requests.post(f"{moto_endpoint}/moto-api/recorder/reset-recording", timeout=30).raise_for_status()
    requests.post(f"{moto_endpoint}/moto-api/recorder/start-recording", timeout=30).raise_for_status()

    result = run_gitlab_ci_local(
        gitlab_ci_local,
        project,
        "deploy-develop",
        "--force-shell-executor",
        variables={
            # What GitLab injects from id_tokens; gitlab-ci-local takes it as a variable.
            "GITLAB_OIDC_TOKEN": dummy_id_token(answers, "develop"),
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_MAX_ATTEMPTS": "1",
            # moto lacks iam:SimulatePrincipalPolicy, which the SDK's role check calls.
            "SAGEMAKER_VALIDATE_ROLE": "false",
        },
        environment=ci_run["deploy_shell"],
        timeout=900,
    )
    requests.post(f"{moto_endpoint}/moto-api/recorder/stop-recording", timeout=30).raise_for_status()

    assert result.returncode == 0, job_log(result)
    pipeline = boto3.client("sagemaker", region_name=answers["aws_region"]).describe_pipeline(
        PipelineName=f"{answers['pipeline_name']}-develop"
    )
    assert pipeline["RoleArn"] == answers["develop_role_arn"]
    # The job's artifact holds what was deployed.
    deployed = json.loads((project / "build" / "definitions" / "deployed-develop.json").read_text())
    step_names = [step["Name"] for step in json.loads(pipeline["PipelineDefinition"])["Steps"]]
    assert "ETL" in step_names
    assert [step["Name"] for step in deployed["Steps"]] == step_names
    sessions = [role for role in sts_backends[account][partition].assumed_roles if role.role_arn == deploy_role_arn]
    assert sessions, "the deploy job did not assume the develop deploy role"
    assert all(role.session_name.startswith("gitlab-") for role in sessions)

    deploy_policy = policy(project, "develop-deploy-policy.json")
    needed = [need for request in recorded_requests(moto_endpoint) for need in permissions_needed(request, answers)]
    needed = [need for need in needed if need[0] not in NOT_GRANTED_ON_PURPOSE]
    assert ("iam:PassRole", answers["develop_role_arn"], PASSED_TO_SAGEMAKER) in needed
    # The default answers turn failed-execution alerts on: the deploy put the topic and the rule in place.
    assert {action for action, _, _ in needed} >= {"sns:CreateTopic", "events:PutRule", "events:PutTargets"}
    assert denied_by(deploy_policy, needed) == [], "infra/iam/develop-deploy-policy.json does not allow what it did"
    # The check has teeth: without its code-upload statement the policy falls short.
    statements = [statement for statement in deploy_policy["Statement"] if statement["Sid"] != "UploadStepCode"]
    assert denied_by({**deploy_policy, "Statement": statements}, needed)


def denied_by(document: dict, needed: list[Permission]) -> list[tuple[str, str]]:
    """What no statement allows. Each statement is judged alone: moto takes an Allow whose condition
    does not hold for a Deny (IAM ignores it), so two PassRole statements, one per service, would
    deny each other's role. The policies hold Allow statements only (see the scoping test)."""
    evaluators = [IAMPolicy(json.dumps({**document, "Statement": [statement]})) for statement in document["Statement"]]
    return [
        (action, resource)
        for action, resource, conditions in needed
        if not any(
            evaluator.is_action_permitted(action, resource, incoming_condition_values=conditions)
            == PermissionResult.PERMITTED
            for evaluator in evaluators
        )
    ]


def test_a_broken_line_in_the_deploy_job_fails_the_run(generate, gitlab_ci_local, tmp_path):
    project = git_copy(generate(), tmp_path / "project", "develop")
    config_file = project / ".gitlab-ci.yml"
    config = config_file.read_text()
    line = 'pip install --quiet -c constraints.txt -e ".[pipeline]"'
    assert line in config
    config_file.write_text(config.replace(line, line.replace("install", "instal")))
    git(project, "commit", "-q", "-am", "Typo in the deploy job")

    result = run_gitlab_ci_local(
        gitlab_ci_local,
        project,
        "deploy-develop",
        "--force-shell-executor",
        variables={"GITLAB_OIDC_TOKEN": "not-used"},
        environment=job_environment(throwaway_virtualenv(tmp_path / "venv", every_installed_package()), tmp_path),
    )

    assert result.returncode != 0, job_log(result)
    assert 'unknown command "instal"' in result.stdout + result.stderr, job_log(result)

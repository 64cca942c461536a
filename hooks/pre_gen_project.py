"""Validate every cookiecutter answer before a single file is written.

Each rule is one small function that returns an error line (or ``None``).
``main()`` runs them all, prints one line per bad answer and exits non-zero;
cookiecutter then removes the half-created project directory.

The module is importable as is (tests call the rules directly): the rendered
answers are only parsed inside ``main()``.
"""

from __future__ import annotations

import json
import keyword
import re
import sys

# Rendered by cookiecutter; left as Jinja text when the module is imported by tests.
RENDERED_ANSWERS = r"""{{ cookiecutter | jsonify }}"""

# Image versions the SageMaker Python SDK offers for BOTH training and inference
# (sagemaker/core/image_uri_config/sklearn.json; a template test keeps this in sync).
SAGEMAKER_SKLEARN_VERSIONS = ("0.20.0", "0.23-1", "1.0-1", "1.2-1", "1.4-2-py312", "1.9-0")
# Spark processing image versions (sagemaker/core/image_uri_config/spark.json).
SAGEMAKER_SPARK_VERSIONS = ("2.4", "3.0", "3.1", "3.2", "3.3", "3.5")

# The versions this template pins local libraries for. A joblib model only loads
# with the scikit-learn release that wrote it, so the local pin must equal the image's.
SUPPORTED_SKLEARN_VERSIONS = ("1.4-2-py312",)
SUPPORTED_SPARK_VERSIONS = ("3.5",)

# Import names of the generated project's dependencies: a package with one of
# these names would shadow the library inside every step.
DEPENDENCY_MODULES = frozenset(
    {
        "boto3",
        "botocore",
        "fastapi",
        "joblib",
        "matplotlib",
        "moto",
        "numpy",
        "pandas",
        "pyarrow",
        "pydantic",
        "pyspark",
        "pytest",
        "sagemaker",
        "scipy",
        "seaborn",
        "sklearn",
        "uvicorn",
        "yaml",
    }
)

CHOICES = {
    "production_deploy": ("manual", "automatic"),
    "model_registry": ("yes", "no"),
    "license": ("MIT", "Apache-2.0", "Proprietary"),
    "starter": ("airline-bags", "single-table"),
    "task": ("binary", "multiclass", "regression"),
}
# Starters whose example data fits only some tasks: the airline example's label is a yes/no bag.
STARTER_TASKS = {"airline-bags": ("binary",)}

# The rules call fullmatch(): with match(), "$" would also accept a trailing line break.
SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# ASCII only: a non-ASCII identifier is valid Python but breaks tools and file systems.
PACKAGE_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
# Regions of the partitions whose role ARNs this template checks (aws, aws-cn, aws-us-gov);
# the isolated partitions (us-iso-*, us-isob-*, ...) use other ARN partitions and are refused.
REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d{1,2}$")
ROLE_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>\d{12}):"
    r"role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{1,64})$",
    re.ASCII,
)
INSTANCE_TYPE_RE = re.compile(r"^ml\.[a-z][a-z0-9-]*\.[0-9]*(nano|micro|small|medium|large|xlarge|metal)$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# S3 refuses any name shaped like a dotted IPv4 address, even an impossible one (999.1.1.1).
IP_ADDRESS_SHAPE_RE = re.compile(r"^\d+(\.\d+){3}$")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
S3_PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")
PIPELINE_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
# "<pipeline_name>-production" also names the Model Package Group, which SageMaker caps at 63.
PIPELINE_NAME_MAX_LENGTH = 63 - len("-production")
EMAIL_RE = re.compile(r"^[^@\s\"\\]+@[^@\s\"\\]+\.[^@\s\"\\]+$")
GITLAB_URL_RE = re.compile(r"^https://[a-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~-]+)*$")
GITLAB_PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
# Characters that would break the TOML/YAML/Python strings these answers are written into.
UNSAFE_TEXT_RE = re.compile(r"[\"\\\n\r{}%]")


def bad(field: str, value: object, allowed: str) -> str:
    """Format the one-line error every rule returns."""
    return f"ERROR: {field}={value!r} is not valid: {allowed}"


def check_text(field: str, value: str) -> str | None:
    if not value.strip() or UNSAFE_TEXT_RE.search(value):
        return bad(field, value, 'non-empty text without quotes ("), backslashes, braces, % or line breaks')
    return None


def check_slug(value: str) -> str | None:
    if not SLUG_RE.fullmatch(value) or len(value) > 40:
        return bad(
            "project_slug",
            value,
            "lowercase letters, digits and single hyphens, starting with a letter, at most 40 characters "
            "(e.g. ancillary-propensity)",
        )
    return None


def check_package_name(value: str) -> str | None:
    allowed = (
        "a lowercase ASCII Python identifier (letters, digits, underscores; not starting with a digit) "
        "that is not a Python keyword, a standard-library module or a module the project depends on "
        "(e.g. ancillary_propensity)"
    )
    if (
        not PACKAGE_NAME_RE.fullmatch(value)
        or keyword.iskeyword(value)
        or value in sys.stdlib_module_names
        or value in DEPENDENCY_MODULES
    ):
        return bad("package_name", value, allowed)
    return None


def check_email(value: str) -> str | None:
    if not EMAIL_RE.fullmatch(value):
        return bad("author_email", value, "an e-mail address such as team@example.com")
    return None


def region_partition(region: str) -> str:
    """The AWS partition a region belongs to (ARNs must use the same one)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def check_region(value: str) -> str | None:
    if not REGION_RE.fullmatch(value):
        return bad("aws_region", value, "a region of partition aws, aws-cn or aws-us-gov, e.g. eu-west-1 or cn-north-1")
    return None


def check_bucket(field: str, value: str) -> str | None:
    allowed = (
        "an S3 bucket name: 3-63 characters, lowercase letters, digits, dots and hyphens, "
        "starting and ending with a letter or digit, no '..', '.-' or '-.', not an IP address, "
        f"not starting with {'/'.join(BUCKET_RESERVED_PREFIXES)} "
        f"nor ending with {'/'.join(BUCKET_RESERVED_SUFFIXES)}"
    )
    if (
        not BUCKET_RE.fullmatch(value)
        or ".." in value
        or ".-" in value
        or "-." in value
        or IP_ADDRESS_SHAPE_RE.fullmatch(value)
        or value.startswith(BUCKET_RESERVED_PREFIXES)
        or value.endswith(BUCKET_RESERVED_SUFFIXES)
    ):
        return bad(field, value, allowed)
    return None


def check_buckets_differ(develop: str, production: str) -> str | None:
    if develop == production:
        return bad(
            "production_s3_bucket",
            production,
            "a bucket different from develop_s3_bucket, so develop runs never overwrite production data",
        )
    return None


def check_role_arn(field: str, value: str, region: str) -> str | None:
    match = ROLE_ARN_RE.fullmatch(value)
    if not match:
        return bad(
            field,
            value,
            "an IAM role ARN such as arn:aws:iam::123456789012:role/my-sagemaker-role "
            "(partition aws, aws-cn or aws-us-gov, a 12-digit account id, a role/ path)",
        )
    expected = region_partition(region)
    if match["partition"] != expected:
        return bad(field, value, f"an ARN in partition {expected!r}, the partition of region {region!r}")
    return None


def check_s3_prefix(value: str) -> str | None:
    if not S3_PREFIX_RE.fullmatch(value) or len(value) > 200:
        return bad(
            "s3_prefix",
            value,
            "S3 key segments separated by single slashes, no leading or trailing slash, "
            "characters A-Z a-z 0-9 ! _ . * ' ( ) - (e.g. ancillary-propensity)",
        )
    return None


def check_pipeline_name(value: str) -> str | None:
    if not PIPELINE_NAME_RE.fullmatch(value) or len(value) > PIPELINE_NAME_MAX_LENGTH:
        return bad(
            "pipeline_name",
            value,
            "letters, digits and hyphens, starting and ending with a letter or digit, "
            f"at most {PIPELINE_NAME_MAX_LENGTH} characters (the environment name is appended)",
        )
    return None


def check_instance_type(field: str, value: str) -> str | None:
    if not INSTANCE_TYPE_RE.fullmatch(value):
        return bad(field, value, "a SageMaker instance type of the form ml.<family>.<size>, e.g. ml.m5.xlarge")
    return None


def check_framework_version(field: str, value: str, offered: tuple[str, ...], supported: tuple[str, ...]) -> str | None:
    if value not in offered:
        return bad(field, value, f"a version SageMaker offers: {', '.join(offered)}")
    if value not in supported:
        return bad(
            field,
            value,
            f"offered by SageMaker, but this template pins matching local libraries only for: {', '.join(supported)}",
        )
    return None


def check_choice(field: str, value: str) -> str | None:
    if value not in CHOICES[field]:
        return bad(field, value, f"one of {', '.join(CHOICES[field])}")
    return None


def check_starter_task(starter: str, task: str) -> str | None:
    # An unknown starter or task already has its own error line from check_choice.
    tasks = STARTER_TASKS.get(starter)
    if tasks is None or task not in CHOICES["task"] or task in tasks:
        return None
    fitting = [other for other in CHOICES["starter"] if task in STARTER_TASKS.get(other, CHOICES["task"])]
    return bad(
        "task",
        task,
        f"starter={starter} is {'/'.join(tasks)} only: answer task={tasks[0]}, "
        f"or starter={' or starter='.join(fitting)} for a {task} model",
    )


def check_gitlab_url(value: str) -> str | None:
    if not GITLAB_URL_RE.fullmatch(value):
        return bad("gitlab_url", value, "an https:// URL without a trailing slash, e.g. https://gitlab.com")
    return None


def check_gitlab_project_path(value: str) -> str | None:
    if not GITLAB_PATH_RE.fullmatch(value):
        return bad(
            "gitlab_project_path", value, "a GitLab path group/project (subgroups allowed), e.g. data-science/churn"
        )
    return None


def validate(answers: dict[str, str]) -> list[str]:
    """Every error line for these answers; empty when all are valid."""
    region = answers["aws_region"]
    checks = [
        check_text("project_name", answers["project_name"]),
        check_text("description", answers["description"]),
        check_text("author_name", answers["author_name"]),
        check_email(answers["author_email"]),
        check_slug(answers["project_slug"]),
        check_package_name(answers["package_name"]),
        check_region(region),
        check_bucket("develop_s3_bucket", answers["develop_s3_bucket"]),
        check_bucket("production_s3_bucket", answers["production_s3_bucket"]),
        check_buckets_differ(answers["develop_s3_bucket"], answers["production_s3_bucket"]),
        check_role_arn("develop_role_arn", answers["develop_role_arn"], region),
        check_role_arn("production_role_arn", answers["production_role_arn"], region),
        check_s3_prefix(answers["s3_prefix"]),
        check_pipeline_name(answers["pipeline_name"]),
        check_instance_type("processing_instance_type", answers["processing_instance_type"]),
        check_instance_type("training_instance_type", answers["training_instance_type"]),
        check_framework_version(
            "sklearn_framework_version",
            answers["sklearn_framework_version"],
            SAGEMAKER_SKLEARN_VERSIONS,
            SUPPORTED_SKLEARN_VERSIONS,
        ),
        check_framework_version(
            "spark_framework_version",
            answers["spark_framework_version"],
            SAGEMAKER_SPARK_VERSIONS,
            SUPPORTED_SPARK_VERSIONS,
        ),
        *(check_choice(field, answers[field]) for field in CHOICES),
        check_starter_task(answers["starter"], answers["task"]),
        check_gitlab_url(answers["gitlab_url"]),
        check_gitlab_project_path(answers["gitlab_project_path"]),
    ]
    return [error for error in checks if error]


def main() -> int:
    errors = validate(json.loads(RENDERED_ANSWERS))
    for error in errors:
        print(error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""Problems a user can fix, and how AWS errors are told to them in one line.

The command-line tools print ``<tool>: error: <message>`` and exit non-zero for these;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError
from botocore.parsers import ResponseParserError

# Every exception botocore raises for a failed request (ResponseParserError is no BotoCoreError).
AWS_ERRORS = (BotoCoreError, ClientError, ResponseParserError)

CREDENTIALS_HELP = (
    "configure credentials for this shell (an AWS profile, `aws sso login`, an instance or task role, "
    "or web identity through AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN)"
)


class PipelineError(Exception):
    """A problem the user can fix; its message is the whole explanation, on one line."""


def describe_aws_error(error: Exception) -> str:
    """One line saying what AWS (or the local AWS set-up) refused, for any botocore error."""
    if isinstance(error, NoCredentialsError):
        return f"no AWS credentials found: {CREDENTIALS_HELP}"
    if isinstance(error, NoRegionError):
        return "no AWS region: set AWS_DEFAULT_REGION or `region` in the environment's configuration"
    if isinstance(error, ClientError):
        operation = error.operation_name or "request"
        if http_status(error) >= 500:  # the body is the server's error page, not an explanation
            return f"AWS {operation} failed: the endpoint answered HTTP {http_status(error)}"
        details = error.response.get("Error", {})
        message = one_line(details.get("Message") or str(error))
        return f"AWS {operation} failed ({details.get('Code', 'error')}): {message}"
    if isinstance(error, ResponseParserError):
        return "AWS request failed: the endpoint's answer is not an AWS response (an emulator's error page?)"
    if isinstance(error, BotoCoreError):
        return f"AWS request failed: {one_line(str(error))}"
    return one_line(str(error))


def is_not_found(error: ClientError) -> bool:
    """SageMaker reports a missing resource as ResourceNotFound, or as a ValidationException saying so."""
    code = error_code(error)
    message = error.response.get("Error", {}).get("Message", "")
    return code in ("ResourceNotFound", "ResourceNotFoundException") or (
        code == "ValidationException" and ("does not exist" in message or "Could not find" in message)
    )


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def one_line(text: str) -> str:
    return " ".join(text.split())

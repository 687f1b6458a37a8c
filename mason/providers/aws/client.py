"""The EC2 API of one region: the client, the region check, tags and filters, and the one
place botocore's errors become mason's."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mason.core.errors import EnvironmentProblem, InvalidInput, ProviderError, suggest
from mason.core.validate import check_url
from mason.providers.aws.options import AwsOptions

_AUTH_CODES = {
    "AuthFailure",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "UnrecognizedClientException",
}
_QUOTA_CODES = {"InsufficientInstanceCapacity", "InsufficientAddressCapacity"}
_NO_CREDENTIALS = (
    "boto3 looks in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE "
    "and ~/.aws, SSO and instance roles; mason never stores them"
)


def tags(pairs: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def tag_map(resource: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags") or []}


def pod_filter(pod: str | None) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{"Name": "tag:mason:provider", "Values": ["aws"]}]
    if pod:
        filters.append({"Name": "tag:mason:pod", "Values": [pod]})
    else:
        filters.append({"Name": "tag-key", "Values": ["mason:pod"]})
    return filters


class Ec2:
    """A lazily made EC2 client for the configured (or the environment's) region."""

    def __init__(self, config: AwsOptions) -> None:
        self.config = config
        self._client: Any = None
        self._region: str | None = None

    @property
    def region(self) -> str:
        if self._region is None:
            import boto3

            region = (
                self.config.region
                or os.environ.get("AWS_REGION")
                or boto3.session.Session().region_name  # AWS_DEFAULT_REGION, profile
            )
            if not region:
                raise InvalidInput(
                    "aws region: none given (set --region, options.region in mason.yml, "
                    "AWS_REGION or the profile's region)"
                )
            known = sorted(_known_regions())
            if region not in known:
                hint = suggest(region, known, otherwise="e.g. eu-west-1, us-east-1")
                raise InvalidInput(f"aws region: unknown region {region!r} ({hint})")
            self._region = region
        return self._region

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            endpoint = self.config.endpoint_url
            if endpoint is None and os.environ.get("AWS_ENDPOINT_URL"):
                check_url(os.environ["AWS_ENDPOINT_URL"], "AWS_ENDPOINT_URL")
            session = boto3.session.Session(region_name=self.region)
            if session.get_credentials() is None:
                raise EnvironmentProblem("aws: no credentials found", hint=_NO_CREDENTIALS)
            try:
                self._client = session.client("ec2", endpoint_url=endpoint)
            except ValueError as exc:  # botocore: "Invalid endpoint: ..."
                raise InvalidInput(f"aws endpoint: {exc}") from None
        return self._client

    @property
    def endpoint(self) -> str:
        return str(self.client.meta.endpoint_url)

    @contextlib.contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Turn botocore's errors into one clear mason error; ``what`` was being done."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
        )

        try:
            yield
        except ClientError as exc:
            raise _client_error(exc, what) from None
        except NoCredentialsError:
            raise EnvironmentProblem("aws: no credentials found", hint=_NO_CREDENTIALS) from None
        except EndpointConnectionError as exc:
            raise EnvironmentProblem(
                f"aws: cannot reach the EC2 endpoint {exc.kwargs.get('endpoint_url', '')}",
                hint="check the network, --endpoint-url / AWS_ENDPOINT_URL and the region",
            ) from None
        except BotoCoreError as exc:
            raise ProviderError(f"aws: cannot {what}: {exc}") from None

    def find(self, call: str, key: str, pod: str, extra: list | None = None) -> list[dict]:
        """Resources of one kind (``describe_vpcs`` / ``Vpcs``) tagged for ``pod``."""
        with self.errors(f"list {key}"):
            return getattr(self.client, call)(Filters=[*pod_filter(pod), *(extra or [])])[key]

    def retry(self, what: str, call: Callable[..., Any], **kwargs: Any) -> None:
        """AWS releases network interfaces a while after instances terminate."""
        from botocore.exceptions import ClientError

        for attempt in range(30):
            try:
                call(**kwargs)
                return
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code != "DependencyViolation" or attempt == 29:
                    with self.errors(what):
                        raise
            time.sleep(min(10, 1 + attempt))


def _client_error(exc: Any, what: str) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", "")).strip().splitlines()[0:1]
    detail = f"{code}: {message[0]}" if message else code
    if code in _AUTH_CODES:
        return EnvironmentProblem(
            f"aws refused the credentials ({detail})",
            hint="check the boto3 credential chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws",
        )
    if code.endswith("LimitExceeded") or code in _QUOTA_CODES:
        return ProviderError(
            f"aws quota reached while trying to {what} ({detail})",
            hint="ask for fewer resources or raise the quota in AWS Service Quotas",
        )
    return ProviderError(f"aws refused to {what} ({detail})")


def _known_regions() -> set[str]:
    import boto3

    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return regions

"""The Wistia API token, read from Secrets Manager through Powertools Parameters (cached)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Protocol

from .errors import PermanentFailure, TransientFailure

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

# Header-safe: visible ASCII only, so a token can never smuggle whitespace into a header.
_TOKEN = re.compile(r"^[\x21-\x7e]{8,4096}$")


class TokenSource(Protocol):
    def token(self, *, refresh: bool = False) -> str:
        """The current token; refresh=True bypasses the cache (after a 401: rotation)."""
        ...


def parse_token(raw: str | bytes) -> str:
    """The secret is the bare token or JSON {"access_token": "..."}. Never echoes the value."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed("the secret is binary and not UTF-8") from None
    text = raw.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            raise _malformed("the secret looks like JSON but does not parse") from None
        value = document.get("access_token") if isinstance(document, dict) else None
        if not isinstance(value, str):
            raise _malformed('the secret JSON has no string "access_token" field')
        text = value.strip()
    if not _TOKEN.match(text):
        raise _malformed("the token is empty, too short, or contains whitespace or non-ASCII characters")
    return text


def _malformed(why: str) -> PermanentFailure:
    return PermanentFailure(
        "secret_malformed",
        f'{why}; store the bare token or {{"access_token": "..."}} in WISTIA_SECRET_ID',
    )


class SecretsManagerToken:
    """Powertools' SecretsProvider with a max age; one instance per container."""

    def __init__(
        self,
        secret_id: str,
        max_age_seconds: int,
        provider: SecretsProvider | None = None,
        session: Any = None,
    ):
        """`session`: the container's boto3 Session, shared with its other AWS clients."""
        from aws_lambda_powertools.utilities.parameters import SecretsProvider  # noqa: PLC0415

        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._provider = provider or SecretsProvider(boto3_session=session)

    def token(self, *, refresh: bool = False) -> str:
        from aws_lambda_powertools.utilities.parameters.exceptions import (  # noqa: PLC0415
            GetParameterError,
        )

        try:
            raw = self._provider.get(self._secret_id, max_age=self._max_age, force_fetch=refresh)
        except GetParameterError as error:
            # The cause's class and code say what went wrong; the secret value is never in it.
            cause = error.__cause__ or error.__context__ or error
            code = getattr(cause, "response", {}).get("Error", {}).get("Code", type(cause).__name__)
            raise TransientFailure(
                "secret_unavailable",
                f"could not read WISTIA_SECRET_ID {self._secret_id!r} from Secrets Manager ({code})",
            ) from None
        if raw is None:
            raise _malformed("the secret has no value")
        return parse_token(raw if isinstance(raw, str | bytes) else str(raw))

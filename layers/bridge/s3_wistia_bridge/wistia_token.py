"""The Wistia API token, read from Secrets Manager through Powertools Parameters (cached)."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from .errors import PermanentFailure, TransientFailure
from .reasons import FailureReason

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

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
        FailureReason.SECRET_MALFORMED,
        f'{why}; store the bare token or {{"access_token": "..."}} in WISTIA_SECRET_ID',
    )


def secret_error_code(error: GetParameterError) -> str:
    """What went wrong reading a secret: the cause's AWS error code or class, never its value."""
    cause = error.__cause__ or error.__context__ or error
    return str(getattr(cause, "response", {}).get("Error", {}).get("Code", type(cause).__name__))


class SecretsManagerToken:
    """Powertools' SecretsProvider with a max age; one instance per container."""

    def __init__(
        self,
        secret_id: str,
        max_age_seconds: int,
        provider: SecretsProvider | None = None,
        client: SecretsManagerClient | None = None,
    ):
        """`client`: the container's Secrets Manager client (default: Powertools makes one)."""
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._provider = provider or SecretsProvider(boto3_client=client)
        self._prefetch: threading.Thread | None = None

    def prefetch(self) -> None:
        """Start reading the token now, in the background: the cold start's Secrets Manager round
        trip then overlaps the rest of the start and the first event's idempotency write. A
        failure is not reported here: the first token() reads again and reports it."""
        if self._max_age > 0:  # with no cache, the first token() would read again anyway
            self._prefetch = threading.Thread(target=self._read_quietly, name="token-prefetch", daemon=True)
            self._prefetch.start()

    def _read_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self._read(refresh=False)

    def token(self, *, refresh: bool = False) -> str:
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is not None:
            prefetch.join()  # bounded by the client's own timeouts; its result is in the cache
        return self._read(refresh=refresh)

    def _read(self, *, refresh: bool) -> str:
        try:
            raw = self._provider.get(self._secret_id, max_age=self._max_age, force_fetch=refresh)
        except GetParameterError as error:
            code = secret_error_code(error)
            raise TransientFailure(
                FailureReason.SECRET_UNAVAILABLE,
                f"could not read WISTIA_SECRET_ID {self._secret_id!r} from Secrets Manager ({code})",
            ) from None
        if raw is None:
            raise _malformed("the secret has no value")
        return parse_token(raw if isinstance(raw, str | bytes) else str(raw))

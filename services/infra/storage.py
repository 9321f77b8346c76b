"""Blob storage: the :class:`BlobStore` interface, files on disk and S3-compatible storage.

``storage_backend=disk`` (the embedded default) keeps blobs as files under
``<data_dir>/blobs/``; ``storage_backend=s3`` keeps them in ``s3_bucket`` at
``s3_endpoint_url`` (MinIO, Ceph, Garage, AWS, … anything that speaks S3).

Keys are ``/``-separated segments of ASCII letters, digits, ``.``, ``_``, ``-`` and ``~``
(``umea/handbook/0192…/attachment.pdf``), no segment empty, ``.``/``..`` or starting with
a dot. Both stores apply the same rule, so a key that works on a laptop works in
production and no key can reach outside the disk store's folder. Keep a document's own
file name (``Årsrapport 2024.pdf``) in the database, not in the key.

There are no public URLs on purpose: blobs belong to municipalities, so they are served
through an app that checks the reader's grants first, never by a link that outlives it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import boto3
import botocore.exceptions
from botocore.config import Config

from services.config import ConfigurationError, Settings
from services.infra import RefusedError
from services.infra.files import write_atomically

DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_KEY_LENGTH = 1024
"""S3's limit (in bytes; keys are ASCII, so also in characters)."""

_SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")
_CONTENT_TYPES = ".content-types"
_RETRYABLE_CODES = frozenset({"SlowDown", "RequestTimeout", "RequestTimeTooSkewed",
                              "ServiceUnavailable", "InternalError"})


class InvalidBlobKeyError(ValueError):
    """A key that breaks the key rule (see the module's documentation)."""


class BlobNotFoundError(LookupError):
    """No blob is stored under the key."""


class BlobStore(Protocol):
    """Somewhere to keep bytes under a key, with their content type."""

    def put(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key`` (:class:`BlobNotFoundError` if none)."""
        ...

    def content_type(self, key: str) -> str:
        """The content type ``key`` was stored with (:class:`BlobNotFoundError` if none)."""
        ...

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Remove the blob under ``key``; removing a missing one is not an error."""
        ...


def blob_store_for(settings: Settings) -> BlobStore:
    """The store ``settings.storage_backend`` names (``disk`` or ``s3``)."""
    if settings.storage_backend == "disk":
        return DiskBlobStore(settings.data_dir / "blobs")
    if settings.storage_backend == "s3":
        return S3BlobStore(settings.s3_endpoint_url, settings.s3_bucket,
                           settings.s3_access_key, settings.s3_secret_key)
    raise ConfigurationError(
        f"SAMVERKAN_STORAGE_BACKEND must be disk or s3, got {settings.storage_backend!r}"
    )


def check_key(key: str) -> str:
    """``key`` if it follows the key rule, else :class:`InvalidBlobKeyError`."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidBlobKeyError(f"a blob key must be 1 to {MAX_KEY_LENGTH} characters")
    for segment in key.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise InvalidBlobKeyError(
                f"blob key {key!r}: segment {segment!r} must be letters, digits, . _ - ~ "
                "and not start with a dot"
            )
    return key


class DiskBlobStore:
    """Blobs as files under one folder, each written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        path = self._path(key)
        try:
            # The content type first: a reader who sees the new bytes sees their type.
            write_atomically(self._content_type_path(key), content_type.encode("utf-8"))
            write_atomically(path, data)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as error:
            raise InvalidBlobKeyError(
                f"blob key {key!r} clashes with a stored key: on disk a key cannot be both "
                "a blob and the folder of other blobs"
            ) from error

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
            raise BlobNotFoundError(f"no blob under {key!r}") from error

    def content_type(self, key: str) -> str:
        """The content type ``key`` was stored with."""
        if not self.exists(key):
            raise BlobNotFoundError(f"no blob under {key!r}")
        try:
            return self._content_type_path(key).read_text(encoding="utf-8")
        except FileNotFoundError:
            return DEFAULT_CONTENT_TYPE

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the blob under ``key``, if any."""
        for path in (self._path(key), self._content_type_path(key)):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
                path.unlink()

    def _path(self, key: str) -> Path:
        path = self.root / check_key(key)
        # The key rule already keeps keys inside; this also stops a symlink planted in
        # the folder from leading a key elsewhere.
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise InvalidBlobKeyError(f"blob key {key!r} leads outside the store")
        return path

    def _content_type_path(self, key: str) -> Path:
        # Keys never start with a dot, so this folder cannot clash with a key.
        return self.root / _CONTENT_TYPES / check_key(key)


class S3BlobStore:
    """Blobs as objects in a bucket of any S3-compatible store."""

    def __init__(
        self, endpoint_url: str, bucket: str, access_key: str = "", secret_key: str = "",
        *, max_attempts: int = 3,
    ) -> None:
        if not bucket:
            raise ConfigurationError("SAMVERKAN_S3_BUCKET must name a bucket")
        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            # Empty keys leave boto3 to its usual chain (environment, instance role).
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name="us-east-1",
            config=_client_config(max_attempts),
        )

    def put(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        with self._translated_errors(key):
            self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data,
                                   ContentType=content_type)

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``."""
        with self._translated_errors(key):
            response = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
            return response["Body"].read()

    def content_type(self, key: str) -> str:
        """The content type ``key`` was stored with."""
        with self._translated_errors(key):
            response = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        return response.get("ContentType") or DEFAULT_CONTENT_TYPE

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""
        try:
            self.content_type(key)
        except BlobNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        """Remove the blob under ``key``, if any."""
        with self._translated_errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    @contextlib.contextmanager
    def _translated_errors(self, key: str) -> Iterator[None]:
        # botocore's connection errors are not OSErrors: translate them, so that an io
        # task retries when the store is down and fails at once when it says no.
        try:
            yield
        except botocore.exceptions.ClientError as error:
            raise _from_client_error(error.response, key, self.bucket) from error
        except (botocore.exceptions.ConnectionError,
                botocore.exceptions.HTTPClientError) as error:
            raise ConnectionError(f"the object store cannot be reached: {error}") from error


def _client_config(max_attempts: int) -> Config:
    return Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"mode": "standard", "max_attempts": max_attempts},
        # Path-style addressing and checksums only where required: what S3-compatible
        # stores other than AWS (MinIO, Ceph, Garage, older releases) all understand.
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def _from_client_error(response: dict[str, Any], key: str, bucket: str) -> Exception:
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    code = response.get("Error", {}).get("Code", "")
    message = response.get("Error", {}).get("Message", "") or code
    if code == "NoSuchBucket":
        return RefusedError(f"the object store has no bucket {bucket!r}")
    if status == 404 or code in ("NoSuchKey", "404", "NotFound"):
        return BlobNotFoundError(f"no blob under {key!r}")
    if status >= 500 or status == 429 or code in _RETRYABLE_CODES:
        return ConnectionError(f"the object store is unavailable ({status} {code}): {message}")
    return RefusedError(f"the object store refused ({status} {code}): {message}")

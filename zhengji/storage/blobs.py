"""The content-addressed blob store for raw mail and attachments, behind one interface with two backends.

Every blob is named by its SHA-256, and ``put`` returns only once the bytes are durable, so that a ``messages``
row may refer to them and an SMTP ``250`` may be answered: after a power cut or a crash the bytes are there or
the sender was never told they were. Processing never deletes a blob.

* :class:`LocalBlobStore` (the default, ``DATA_DIR/blobs``): a file written to a temporary name, fsynced, renamed
  into place and its directory fsynced.
* :class:`S3BlobStore` (``ZHENGJI_BLOB_URL=s3://BUCKET/PREFIX``): one object a blob, durable once ``PutObject``
  returned, shared by every ``zhengji serve`` that points at the same bucket.

Both keep the same layout (``ab/cd/abcd…``), so that a local store can be copied into a bucket as it is
(``aws s3 sync DATA_DIR/blobs s3://BUCKET/PREFIX``). Callers get their store from :func:`blob_store` and see
the same errors whichever backend it is: :class:`BlobNotFound` for a digest never stored, :class:`OSError` for
a store that cannot be reached or bytes that no longer match their name.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from zhengji.settings import Settings

# The AWS variables that decide which S3 store a client talks to, as boto3 reads them; a store is cached per
# value of these, so that a changed endpoint or key is never served by a client made for the old one.
S3_ENVIRONMENT = (
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
)


class BlobNotFound(KeyError):
    """No blob is stored under that digest."""


class BlobStoreUnavailable(OSError):
    """The store could not be reached or refused the request; trying again later may succeed.

    An ``OSError``, as a failing local disk raises, so that every caller that already copes with a disk fault
    (the SMTP server's ``451``, the staff pages' "cannot be read") copes with an S3 outage the same way.
    """


def check_digest(digest: str) -> str:
    """``digest`` when it is a lower-case SHA-256 hex digest; anything else could name a path outside the store."""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a sha256 hex digest: {digest!r}")
    return digest


def relative_name(digest: str) -> str:
    """``ab/cd/abcd…``: the blob's name under the store's root, the same for both backends."""
    check_digest(digest)
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


def _verified(digest: str, data: bytes, where: str) -> bytes:
    """The bytes, checked against their name, so that a damaged disk or object is noticed, not served."""
    if hashlib.sha256(data).hexdigest() != digest:
        raise OSError(f"blob {digest} is damaged {where}")
    return data


class BlobStore(ABC):
    """What every caller needs of a blob store; get one from :func:`blob_store`."""

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its SHA-256; storing the same bytes twice is a no-op."""

    @abstractmethod
    def get(self, digest: str) -> bytes:
        """The stored bytes; :class:`BlobNotFound` when never stored, ``OSError`` when damaged or unreachable."""

    @abstractmethod
    def exists(self, digest: str) -> bool:
        """Whether a blob is stored under ``digest``."""

    def prepare(self) -> None:
        """Ready the store for a stream of ``put`` calls (a receiver calls it once before it listens); an S3 store
        needs nothing."""
        return None


class LocalBlobStore(BlobStore):
    """Files named by their SHA-256, fanned out as ``ab/cd/abcd…`` to keep directories small."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        # Fan-out directories (``ab``, and ``abcd`` for ``ab/cd``) whose own entries are known to be on disk: they
        # are fsynced into their parents once per store (or all at once by ``prepare``), not once per blob.
        self._durable_dirs: set[str] = set()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def path(self, digest: str) -> Path:
        return self.root / relative_name(digest)

    def put(self, data: bytes) -> str:
        """Write to a temporary name, fsync, rename into place and fsync its directory; paths as strings, not
        :class:`Path` objects, which cost the SMTP server more than the system calls on every mail."""
        digest = hashlib.sha256(data).hexdigest()
        directory = f"{self._root}/{digest[:2]}/{digest[2:4]}"
        target = f"{directory}/{digest}"
        if os.path.exists(target):
            return digest
        self._make_directory(digest[:4], directory)
        # Named by the digest and the writing thread, not by mkstemp's random names: no two writers share a name,
        # and the SMTP server saves the name generator's cost on every mail.
        temporary = f"{directory}/.incoming-{digest[:16]}-{os.getpid()}-{threading.get_ident()}"
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(handle, view) :]
                os.fsync(handle)
            finally:
                os.close(handle)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _fsync_directory(directory)
        return digest

    def prepare(self) -> None:
        """Create the 256 first-level directories and make durable every directory already there.

        A fresh store would otherwise create ``ab`` and ``ab/cd`` for nearly every one of its first thousands of
        mails, each with two directory fsyncs on the SMTP server's path to ``250``; a restarted one would fsync
        again the parents of every directory it meets for the first time since it started. Here one fsync a
        first-level directory (and one of the root) makes the entries in them durable, whoever created them and
        whenever: a mail then costs a directory fsync only when it is the first in its ``ab/cd``. The 65,536
        second-level directories are not made ahead: each takes a 4 KB block, 256 MB for an empty store.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        found: set[str] = set()
        for first in range(256):
            top = self.root / f"{first:02x}"
            top.mkdir(exist_ok=True)
            with os.scandir(top) as entries:
                found.update(top.name + entry.name for entry in entries if entry.is_dir(follow_symlinks=False))
            _fsync_directory(top)
            found.add(top.name)
        _fsync_directory(self.root)
        self._durable_dirs.update(found)

    def _make_directory(self, key: str, name: str) -> None:
        """Create ``ab/cd`` and make its entry and its parent's durable, before a blob in it is relied on."""
        if key in self._durable_dirs:
            return
        directory = Path(name)
        directory.mkdir(parents=True, exist_ok=True)
        _fsync_directory(directory.parent)
        if key[:2] not in self._durable_dirs:
            _fsync_directory(directory.parent.parent)
            self._durable_dirs.add(key[:2])
        self._durable_dirs.add(key)

    def get(self, digest: str) -> bytes:
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(digest) from None
        return _verified(digest, data, "on disk")

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()


@dataclass(frozen=True)
class S3Location:
    """Where blobs live in S3: a bucket, and a key prefix (empty, or ending in ``/``)."""

    bucket: str
    prefix: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


# S3's rules for a bucket created today (3 to 63 characters; lower-case letters, digits, dots and hyphens; a letter
# or digit at each end); a name that breaks them is a typo, and the service would refuse it on the first mail.
_BUCKET = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


def parse_s3_url(text: str) -> S3Location:
    """``s3://BUCKET/PREFIX`` as the setting gives it; the message says in Chinese what a right value looks like."""
    example = "例如 s3://zhengji-blobs/mail"
    parts = urlsplit(text.strip())
    if parts.scheme != "s3":  # only the scheme is echoed: the rest may hold a key
        shown = f"“{parts.scheme}://”" if parts.scheme else "路径"
        raise ValueError(f"应以 s3:// 开头（格式：s3://存储桶/前缀，{example}），而不是{shown}")
    if "@" in parts.netloc:
        raise ValueError("地址中不能写密钥：请用 AWS_ACCESS_KEY_ID 和 AWS_SECRET_ACCESS_KEY 设置")
    bucket = parts.netloc
    if not bucket:
        raise ValueError(f"缺少存储桶名称（格式：s3://存储桶/前缀，{example}）")
    if (
        not 3 <= len(bucket) <= 63
        or not set(bucket) <= _BUCKET
        or not (bucket[0].isalnum() and bucket[-1].isalnum())
        or ".." in bucket
    ):
        raise ValueError(
            f"存储桶名称“{bucket}”无效：应为 3 至 63 位小写字母、数字、点或连字符，且以字母或数字开头和结尾"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"不能含“?”或“#”（格式：s3://存储桶/前缀，{example}）")
    segments = [segment for segment in parts.path.split("/") if segment]
    if any(segment in {".", ".."} for segment in segments):
        raise ValueError("前缀中不能含“.”或“..”路径段")
    return S3Location(bucket, "".join(f"{segment}/" for segment in segments))


class S3BlobStore(BlobStore):
    """One object a blob under ``s3://BUCKET/PREFIX``, through boto3 with the standard AWS variables.

    ``put`` sends the blob's SHA-256 as the object's checksum, so that the store itself refuses bytes damaged on
    the way, and ``If-None-Match: *``, so that a blob already there is left as it is (content addressing) in one
    round trip. A store that ignores that header writes the same bytes again, which changes nothing either.
    The client is made on first use and shared by the threads that use the store (boto3 clients are thread-safe).
    """

    def __init__(self, location: S3Location, client: Any = None) -> None:
        self.location = location
        self._client = client
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3BlobStore({str(self.location)!r})"

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_s3_client()
        return self._client

    def key(self, digest: str) -> str:
        return self.location.prefix + relative_name(digest)

    def put(self, data: bytes) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        digest = hashlib.sha256(data).hexdigest()
        try:
            self.client.put_object(
                Bucket=self.location.bucket,
                Key=self.key(digest),
                Body=data,
                ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode("ascii"),
                IfNoneMatch="*",
            )
        except ClientError as error:
            if _status(error) == 412:  # the key exists: the same bytes are already stored
                return digest
            raise self._unavailable("put", digest, error) from error
        except BotoCoreError as error:
            raise self._unavailable("put", digest, error) from error
        return digest

    def get(self, digest: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.location.bucket, Key=self.key(digest))
            data = answer["Body"].read()
        except ClientError as error:
            if _status(error) == 404 and _code(error) != "NoSuchBucket":
                raise BlobNotFound(digest) from None
            raise self._unavailable("get", digest, error) from error
        except BotoCoreError as error:
            raise self._unavailable("get", digest, error) from error
        return _verified(digest, data, f"in {self.location}")

    def exists(self, digest: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.location.bucket, Key=self.key(digest))
        except ClientError as error:
            if _status(error) == 404:  # HEAD has no body, so a missing bucket cannot be told from a missing key
                return False
            raise self._unavailable("look up", digest, error) from error
        except BotoCoreError as error:
            raise self._unavailable("look up", digest, error) from error
        return True

    def _unavailable(self, what: str, digest: str, error: Exception) -> BlobStoreUnavailable:
        return BlobStoreUnavailable(f"could not {what} blob {digest} in {self.location}: {error}")


def _status(error: Any) -> int | None:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def make_s3_client() -> Any:
    """A boto3 S3 client configured by the standard AWS variables, with limits fit for answering SMTP.

    boto3's defaults wait up to a minute to connect and try five times; a sender's server waits for our ``250``
    meanwhile, so a store that is down must be noticed within seconds and answered with ``451``. A store of
    one's own (an endpoint variable set: SeaweedFS, MinIO, Ceph) is addressed by path, as they seldom have the
    wildcard DNS that virtual-host addressing needs.
    """
    import boto3
    from botocore.config import Config

    own_endpoint = bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
    config = Config(
        connect_timeout=5,
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=32,  # the SMTP server's writing threads and the pipeline's workers at once
        s3={"addressing_style": "path"} if own_endpoint else None,
    )
    return boto3.session.Session().client("s3", config=config)


@functools.lru_cache(maxsize=16)
def _s3_store(url: str, environment: tuple[str | None, ...]) -> S3BlobStore:
    # ``environment`` is only part of the cache key (see S3_ENVIRONMENT); the client reads the variables itself.
    return S3BlobStore(parse_s3_url(url))


def blob_store(settings: Settings) -> BlobStore:
    """The store the settings name: ``ZHENGJI_BLOB_URL`` when set, else ``DATA_DIR/blobs``.

    Every caller gets its store here, never by constructing a backend, so that all of zhengji (SMTP, IMAP, the
    pipeline, the staff pages, the command line) reads and writes the same place. An S3 store is made once per
    URL and AWS environment and shared, as a boto3 client costs tens of milliseconds to make.
    """
    if settings.blob_url:
        return _s3_store(settings.blob_url, tuple(os.environ.get(name) for name in S3_ENVIRONMENT))
    return LocalBlobStore(settings.blob_dir)


def _fsync_directory(directory: Path | str) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

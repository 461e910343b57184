"""Operator settings, read from ``ZHENGJI_*`` variables and ``.env`` (see ``.env.example``).

Every setting is validated at start-up, so that a typo stops the service with one line naming the variable,
instead of surfacing hours later as a mail that was never answered.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from zhengji.clock import as_aware

ENV_PREFIX = "ZHENGJI_"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# An IMAP keyword is an atom (RFC 3501 9): printable ASCII without atom-specials. "}" is legal there but is
# refused too, as some servers trip over it.
_IMAP_KEYWORD = re.compile(r"[!#$&'+,\-./0-9:;<=>?@A-Z\[^_`a-z|~]+")
# System flags a client may set (RFC 3501 2.3.2). \Deleted is left out: zhengji never marks mail for deletion
# of its own accord, and a client's next EXPUNGE would remove the mail.
_SYSTEM_FLAGS = {flag.lower(): flag for flag in ("\\Seen", "\\Answered", "\\Flagged", "\\Draft")}
DEFAULT_IMAP_DONE_FLAG = "$Zhengji"
LOOPBACK_PROXIES = ("127.0.0.1", "::1")
# A Host header's name as Starlette's TrustedHostMiddleware compares it: a DNS name or IPv4 address, "*." and a
# domain for its subdomains, or "*" for any.
_TRUSTED_HOST = re.compile(r"\*|(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")


@dataclass(frozen=True)
class HostPort:
    """A ``host:port`` listen address."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ServerURL:
    """An IMAP or SMTP account given as a URL, with the secret kept out of ``repr``."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: SecretStr | None
    path: str
    starttls: bool

    @property
    def uses_tls(self) -> bool:
        return self.scheme.endswith("s")


def parse_host_port(text: str) -> HostPort:
    """Parse ``host:port`` (``[::1]:25`` for IPv6); the message says what a right value looks like."""
    match = re.fullmatch(r"\[(?P<h6>[0-9A-Fa-f:.]+)\]:(?P<p6>\d+)|(?P<h>[^:\s]+):(?P<p>\d+)", text.strip())
    if not match:
        raise ValueError(f"应为“主机:端口”，例如 127.0.0.1:2525，而不是 {text!r}")
    host = match.group("h6") or match.group("h")
    port = int(match.group("p6") or match.group("p"))
    if not 0 < port < 65536:
        raise ValueError(f"端口应在 1 至 65535 之间，而不是 {port}")
    return HostPort(host, port)


def parse_server_url(text: str, schemes: dict[str, int], need_login: bool) -> ServerURL:
    """Parse an account URL such as ``imaps://user:code@imap.126.com:993/INBOX``."""
    parts = urlsplit(text.strip())
    if parts.scheme not in schemes:
        allowed = "、".join(f"{s}://" for s in schemes)
        raise ValueError(f"应以 {allowed} 开头，而不是 {text.split(':', 1)[0]!r}")
    if not parts.hostname:
        raise ValueError("缺少服务器地址")
    try:
        port = parts.port or schemes[parts.scheme]
    except ValueError as exc:
        raise ValueError("端口不是有效数字") from exc
    if need_login and not (parts.username and parts.password):
        raise ValueError("缺少用户名或授权码（格式：scheme://用户名:授权码@主机:端口/文件夹）")
    query = dict(item.split("=", 1) for item in parts.query.split("&") if "=" in item)
    return ServerURL(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=SecretStr(unquote(parts.password)) if parts.password else None,
        path=unquote(parts.path.lstrip("/")),
        starttls=query.get("starttls", "").lower() in {"1", "true", "yes"},
    )


def parse_imap_flag(text: str) -> str:
    """The flag that marks a processed mail: a keyword such as ``$Zhengji`` or a system flag such as ``\\Seen``.

    Checked here because a server answers a bad flag with ``BAD`` only when the first mail is done, which would
    stop the watcher from settling any mail at all.
    """
    flag = text.strip()
    if not flag:
        return DEFAULT_IMAP_DONE_FLAG
    if flag.startswith("\\"):
        if flag.lower() == "\\deleted":
            raise ValueError("不能使用 \\Deleted：zhengji 从不删除邮件")
        if flag.lower() not in _SYSTEM_FLAGS:
            raise ValueError(f"“{flag}”不是 IMAP 系统标记（可用 \\Seen、\\Answered、\\Flagged、\\Draft）")
        return _SYSTEM_FLAGS[flag.lower()]
    if not _IMAP_KEYWORD.fullmatch(flag):
        raise ValueError(
            f"“{flag}”不是有效的 IMAP 标记（只能由英文字母、数字和 $ _ - . 等符号组成，"
            "不能含空格、括号、引号、% * ]），例如 $Zhengji"
        )
    return flag


def parse_imap_folder(text: str, watched: str | None = None) -> str | None:
    """The folder processed mail is moved to; empty means that mail stays where it is (only flagged)."""
    folder = text.strip()
    if not folder:
        return None
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in folder) or "*" in folder or "%" in folder:
        raise ValueError(f"“{folder}”不是有效的文件夹名称（不能含控制字符或 * %）")
    if watched is not None and (folder == watched or folder.upper() == watched.upper() == "INBOX"):
        raise ValueError(f"不能与所监视的文件夹“{watched}”相同")
    return folder


def parse_trusted_host(text: str) -> str:
    """A host name the web server answers to: ``zhengji.example.gov.cn``, ``*.example.gov.cn`` or ``*`` (any)."""
    host = text.strip().lower()
    if not _TRUSTED_HOST.fullmatch(host):
        raise ValueError(
            f"“{text}”不是有效的主机名（不含协议、端口和路径，例如 zhengji.example.gov.cn 或 *.example.gov.cn）"
        )
    return host


def _default_mailboxes() -> list[str]:
    # The notices name the mailboxes; reading them from the registry keeps a new notice a data change.
    from zhengji.notices.registry import load_registry

    return load_registry().mailboxes()


class Settings(BaseSettings):
    """What an operator may set; names and defaults are fixed by the contract."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(default=Path("./var"), description="数据目录：数据库文件、原始邮件存储与本地发件箱")
    database_url: str | None = Field(default=None, description="SQLAlchemy 数据库地址")
    # Where raw mails and attachments are kept: s3://BUCKET/PREFIX (an S3 store every instance shares, reached with
    # the standard AWS variables); unset: the directory DATA_DIR/blobs (see zhengji.storage.blobs.blob_store).
    blob_url: str | None = None
    mailboxes: Annotated[list[str], NoDecode] = Field(default_factory=_default_mailboxes)
    # NoDecode: these are given as plain text (host:port, URLs), not JSON, whatever their Python type.
    smtp_listen: Annotated[HostPort | None, NoDecode] = HostPort("127.0.0.1", 2525)
    # RCPT commands one SMTP transaction may give before "452 4.5.3 Too many recipients" (Postfix: 1000).
    smtp_max_recipients: int = 100
    imap_url: Annotated[ServerURL | None, NoDecode] = None
    imap_done_flag: str = DEFAULT_IMAP_DONE_FLAG
    imap_done_folder: str | None = None
    # Seconds between an instance's tries to become the watcher of the IMAP folder when another instance watches
    # it, and between the watcher's checks that it still holds that lock (so also how soon a survivor takes over).
    imap_lock_retry_seconds: float = 5.0
    outbound_smtp_url: Annotated[ServerURL | None, NoDecode] = None
    web_listen: Annotated[HostPort, NoDecode] = HostPort("127.0.0.1", 8000)
    # Host names the web server answers to; empty: the listen host, localhost and 127.0.0.1 (see trusted_hosts).
    web_trusted_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The address the public reaches the site at (https://zhengji.example.gov.cn when a TLS proxy fronts it):
    # https:// marks the staff cookies Secure and sends Strict-Transport-Security. Unset: neither (plain HTTP).
    web_public_url: str | None = None
    # Addresses (or networks) of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: the
    # client's address (sign-in lockout) and whether it came over HTTPS (Secure cookies). Empty: loopback only.
    web_trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(LOOPBACK_PROXIES))
    telegram_token: SecretStr | None = None
    # Where the Telegram Bot API is: requests go to {URL}/bot{TOKEN}/{method} (a local Bot API server or a relay).
    telegram_api_url: str = "https://api.telegram.org"
    # The WeChat Official Account's callback (/channels/wechat): its Token, AppID and EncodingAESKey (safe mode).
    wechat_token: SecretStr | None = None
    wechat_appid: str | None = None
    wechat_aes_key: SecretStr | None = None
    # Plain mode signs only the URL, never the message body, so a body naming another applicant's openid cannot
    # be told from a real one: binding and status on WeChat need safe mode (an AES key) unless this is set.
    wechat_plain_status: bool = False
    # How far (seconds) a WeChat callback's timestamp may be from the real clock; a signed URL older than this is
    # refused, and within it each nonce is accepted for one message only.
    wechat_timestamp_seconds: int = 300
    # Request bodies the web server reads at most (bytes), checked before anything is parsed: the chat, the WeChat
    # callback and every public route; the staff pages (forms of the review queue, bulk actions).
    web_max_body_bytes: int = 16 * 1024
    staff_max_body_bytes: int = 1024 * 1024
    # Code mails of the chat bot an hour: per client (a web chat's address, a WeChat openid, a Telegram chat), and
    # in all (each is a mail from the office's own account, whose sending quota the replies to applicants need).
    chat_code_mails_per_client_hour: int = 10
    chat_code_mails_per_hour: int = 200
    now: datetime | None = None
    # What parsing one mail may spend: seconds in all, and documents (archive members count one by one); the
    # files left when it is spent are reported to the sender as not read (see zhengji.parsers.document).
    parse_budget_seconds: float = 180.0
    parse_max_documents: int = 100
    # How much lower than intake the parser processes run (their nice value, 0 to 19; LibreOffice inherits it), so
    # that a burst of parsing never slows the SMTP server down: the kernel gives intake the cores first.
    parse_nice: int = 10
    # How long a worker's claim on a mail holds without renewal; the working worker renews it every third of it.
    lease_seconds: float = 120.0
    log_level: str = "INFO"
    log_format: str = "text"
    # The staff web queue: a session ends after this many idle minutes, and at the latest after this many hours.
    staff_session_idle_minutes: int = 30
    staff_session_hours: int = 12
    # Sign-in lockout: this many failures within the minutes below lock the account (or, with the larger number,
    # the address they came from) for those minutes.
    staff_lockout_failures: int = 5
    staff_lockout_address_failures: int = 20
    staff_lockout_minutes: int = 15
    # The Chromium the browser tests drive (Debian's package); never downloaded by zhengji or its tests.
    chromium_path: Path = Path("/usr/bin/chromium")

    @field_validator("mailboxes", mode="before")
    @classmethod
    def _split_mailboxes(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return _default_mailboxes()  # empty means "the notices' addresses", as .env.example says
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            if not value:
                raise ValueError("至少应有一个收件地址")
            for address in value:
                if not _EMAIL.match(address):
                    raise ValueError(f"{address!r} 不是有效的邮箱地址")
            return [address.lower() for address in value]
        return value

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, value: Any) -> Any:
        return Path("./var") if isinstance(value, str) and not value.strip() else value

    @field_validator("smtp_listen", mode="before")
    @classmethod
    def _smtp_listen(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_host_port(value) if value.strip() else None
        return value

    @field_validator("web_listen", mode="before")
    @classmethod
    def _web_listen(cls, value: Any) -> Any:
        return parse_host_port(value) if isinstance(value, str) else value

    @field_validator("web_trusted_hosts", mode="before")
    @classmethod
    def _web_trusted_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [parse_trusted_host(str(host)) for host in value]
        return value

    @field_validator("web_public_url", mode="before")
    @classmethod
    def _web_public_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().rstrip("/")
            if not value:
                return None
            parts = urlsplit(value)
            if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
                raise ValueError(f"应为 http(s):// 开头的网址，例如 https://zhengji.example.gov.cn，而不是 {value!r}")
        return value

    @field_validator("web_trusted_proxies", mode="before")
    @classmethod
    def _web_trusted_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()] or list(LOOPBACK_PROXIES)
        if isinstance(value, list):
            for proxy in value:
                try:
                    ipaddress.ip_network(str(proxy), strict=False)
                except ValueError:
                    raise ValueError(f"“{proxy}”不是 IP 地址或网段（例如 10.0.0.5 或 10.0.0.0/24）") from None
        return value

    @field_validator("smtp_max_recipients")
    @classmethod
    def _smtp_max_recipients(cls, value: int) -> int:
        if not 1 <= value <= 10000:
            raise ValueError("应为 1 至 10000 之间的整数，例如 100")
        return value

    @field_validator("imap_url", mode="before")
    @classmethod
    def _imap_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_server_url(value, {"imap": 143, "imaps": 993}, need_login=True) if value else None
        return value

    @field_validator("imap_done_flag", mode="before")
    @classmethod
    def _imap_done_flag(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_imap_flag(value)
        return value

    @field_validator("imap_done_folder", mode="before")
    @classmethod
    def _imap_done_folder(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            url = info.data.get("imap_url")
            return parse_imap_folder(value, watched=(url.path or "INBOX") if isinstance(url, ServerURL) else None)
        return value

    @field_validator("outbound_smtp_url", mode="before")
    @classmethod
    def _outbound(cls, value: Any) -> Any:
        if isinstance(value, str):
            schemes = {"smtp": 25, "smtps": 465}
            return parse_server_url(value, schemes, need_login=False) if value else None
        return value

    @field_validator("telegram_token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", value):
                raise ValueError("不像 Telegram 机器人令牌（应为“数字:字母数字串”，由 @BotFather 发放）")
        return value

    @field_validator("telegram_api_url", mode="before")
    @classmethod
    def _telegram_api_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().rstrip("/") or "https://api.telegram.org"
            parts = urlsplit(value)
            if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
                raise ValueError(f"应为 http(s):// 开头的地址，例如 https://api.telegram.org，而不是 {value!r}")
        return value

    @field_validator("wechat_token", mode="before")
    @classmethod
    def _wechat_token(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not re.fullmatch(r"[A-Za-z0-9]{3,32}", value):
                raise ValueError("应为 3 至 32 位英文字母或数字（与公众号后台“服务器配置”中的 Token 一致）")
        return value

    @field_validator("wechat_appid", mode="before")
    @classmethod
    def _wechat_appid(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not re.fullmatch(r"[A-Za-z0-9_-]{4,64}", value):
                raise ValueError("应为公众号的 AppID（开发者ID），如 wx0123456789abcdef")
        return value

    @field_validator("wechat_aes_key", mode="before")
    @classmethod
    def _wechat_aes_key(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not re.fullmatch(r"[A-Za-z0-9+/]{43}", value):
                raise ValueError("应为 43 位 EncodingAESKey（公众号后台“服务器配置”中的消息加解密密钥）")
            if not info.data.get("wechat_appid"):
                raise ValueError("安全模式还需设置 ZHENGJI_WECHAT_APPID")
        return value

    @field_validator("now", mode="before")
    @classmethod
    def _now(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return as_aware(datetime.fromisoformat(value.strip()))
            except ValueError as exc:
                raise ValueError(f"应为 ISO-8601 时间，例如 2025-06-21T10:00:00+08:00，而不是 {value!r}") from exc
        return value

    @field_validator("lease_seconds")
    @classmethod
    def _lease_seconds(cls, value: float) -> float:
        if not 0 < value <= 86400:
            raise ValueError("应为大于 0、不超过 86400 的秒数，例如 120")
        return value

    @field_validator("imap_lock_retry_seconds")
    @classmethod
    def _imap_lock_retry_seconds(cls, value: float) -> float:
        if not 0 < value <= 300:
            raise ValueError("应为大于 0、不超过 300 的秒数，例如 5")
        return value

    @field_validator("parse_nice")
    @classmethod
    def _parse_nice(cls, value: int) -> int:
        if not 0 <= value <= 19:
            raise ValueError("应为 0 至 19 之间的整数（数值越大，解析进程的优先级越低），例如 10")
        return value

    @field_validator("parse_budget_seconds")
    @classmethod
    def _parse_budget_seconds(cls, value: float) -> float:
        if not 0 < value <= 3600:
            raise ValueError("应为大于 0、不超过 3600 的秒数，例如 180")
        return value

    @field_validator("parse_max_documents")
    @classmethod
    def _parse_max_documents(cls, value: int) -> int:
        if not 1 <= value <= 10000:
            raise ValueError("应为 1 至 10000 之间的整数，例如 100")
        return value

    @field_validator(
        "staff_session_idle_minutes",
        "staff_session_hours",
        "staff_lockout_failures",
        "staff_lockout_address_failures",
        "staff_lockout_minutes",
    )
    @classmethod
    def _staff_numbers(cls, value: int) -> int:
        if not 1 <= value <= 100000:
            raise ValueError("应为 1 至 100000 之间的整数")
        return value

    @field_validator("wechat_timestamp_seconds")
    @classmethod
    def _wechat_timestamp_seconds(cls, value: int) -> int:
        if not 30 <= value <= 3600:
            raise ValueError("应为 30 至 3600 之间的秒数，例如 300")
        return value

    @field_validator("web_max_body_bytes", "staff_max_body_bytes")
    @classmethod
    def _max_body_bytes(cls, value: int) -> int:
        if not 1024 <= value <= 100 * 1024 * 1024:
            raise ValueError("应为 1024 至 104857600 之间的字节数，例如 16384")
        return value

    @field_validator("chat_code_mails_per_client_hour", "chat_code_mails_per_hour")
    @classmethod
    def _code_mail_caps(cls, value: int) -> int:
        if not 1 <= value <= 100000:
            raise ValueError("应为 1 至 100000 之间的整数")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("只支持 sqlite:/// 或 postgresql+psycopg:// 地址")
        return value

    @field_validator("blob_url", mode="before")
    @classmethod
    def _blob_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return None
            from zhengji.storage.blobs import parse_s3_url

            return str(parse_s3_url(value))  # checked here, so that a typo stops start-up, not the first mail
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        fmt = value.strip().lower() or "text"
        if fmt not in {"text", "json"}:
            raise ValueError("应为 text 或 json")
        return fmt

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("应为 DEBUG、INFO、WARNING 或 ERROR")
        return level

    @cached_property
    def resolved_database_url(self) -> str:
        """The database to use: the configured URL, or ``zhengji.db`` in the data directory."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'zhengji.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        """The local blob store's directory; used only when ``ZHENGJI_BLOB_URL`` is unset."""
        return self.data_dir / "blobs"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def behind_https(self) -> bool:
        """Whether the public reaches the site over HTTPS (``ZHENGJI_WEB_PUBLIC_URL`` starts with https://)."""
        return bool(self.web_public_url and self.web_public_url.lower().startswith("https://"))

    @property
    def trusted_hosts(self) -> list[str]:
        """The Host names the web server answers to: the configured ones, else its listen host and loopback.

        A request for any other name is refused (400), so that the pages cannot be served under a name an
        attacker points at this server (DNS rebinding) or poisoned with a forged Host in a link.
        """
        if self.web_trusted_hosts:
            return list(self.web_trusted_hosts)
        return list(dict.fromkeys([self.web_listen.host.lower(), "localhost", "127.0.0.1"]))


class SettingsError(Exception):
    """A setting is wrong; ``str()`` is the one line an operator reads."""


def describe_error(error: ValidationError) -> str:
    """Turn pydantic's report into one line that names the variable and says what is wrong."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] in {"datetime_from_date_parsing", "datetime_parsing"}:
        message = "应为 ISO-8601 时间，例如 2025-06-21T10:00:00+08:00"
    more = f"（另有 {len(error.errors()) - 1} 处错误）" if len(error.errors()) > 1 else ""
    return f"设置 {ENV_PREFIX}{field.upper()} 有误：{message}{more}"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, raising :class:`SettingsError` with a one-line reason."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_error(error)) from None

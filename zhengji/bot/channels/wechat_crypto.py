"""The WeChat Official Account callback crypto: signatures and the safe mode's message encryption.

- **Signature**: SHA1 of the sorted strings token, timestamp, nonce (and, in safe mode, the ciphertext),
  joined, in hex; compared in constant time.
- **Safe mode** (安全模式): the EncodingAESKey is 43 base64 characters, a 32-byte AES-256 key; the IV is its first
  16 bytes. A message is 16 random bytes, the 4-byte big-endian length of the XML, the XML, then the AppID;
  padded PKCS#7 to a multiple of 32 bytes (WeChat's block, not AES's 16); AES-256-CBC; base64.

The tests check every step against ``wechatpy``, an independent implementation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
"""WeChat pads to 32 bytes (PKCS#7 with k = 32), although AES's block is 16."""


class CryptoError(ValueError):
    """A message that is not what WeChat would send: bad base64, padding, length or AppID."""


def signature(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, *extra])).encode("utf-8")).hexdigest()


def signature_valid(given: str, token: str, timestamp: str, nonce: str, *extra: str) -> bool:
    """Constant-time comparison, so that a forger learns nothing from how long a refusal takes."""
    expected = signature(token, timestamp, nonce, *extra)
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("ascii", "replace"))


def _pad(data: bytes) -> bytes:
    amount = BLOCK - len(data) % BLOCK
    return data + bytes([amount]) * amount


def _unpad(data: bytes) -> bytes:
    if not data:
        raise CryptoError("empty message")
    amount = data[-1]
    if not 1 <= amount <= BLOCK or data[-amount:] != bytes([amount]) * amount:
        raise CryptoError("bad padding")
    return data[:-amount]


class MessageCipher:
    """Encrypts and decrypts the safe mode's messages for one account (EncodingAESKey and AppID)."""

    def __init__(self, encoding_aes_key: str, app_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as error:
            raise ValueError("EncodingAESKey is not base64") from error
        if len(key) != 32:
            raise ValueError("EncodingAESKey must be 43 characters (32 bytes)")
        self._key = key
        self._iv = key[:16]
        self._app_id = app_id.encode("utf-8")

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._iv))

    def encrypt(self, xml: str, random: bytes | None = None) -> str:
        body = xml.encode("utf-8")
        plain = (random or os.urandom(16)) + struct.pack(">I", len(body)) + body + self._app_id
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(_pad(plain)) + encryptor.finalize()).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            raw = base64.b64decode(ciphertext, validate=True)
        except binascii.Error as error:
            raise CryptoError("ciphertext is not base64") from error
        if not raw or len(raw) % 16:
            raise CryptoError("ciphertext is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = _unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < 20:
            raise CryptoError("message too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("length beyond the message")
        body, app_id = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(app_id, self._app_id):
            raise CryptoError("message for another AppID")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CryptoError("message is not UTF-8") from error

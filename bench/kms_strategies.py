"""KMS encryption strategies behind one interface, and botocore-hook call counting.

Every strategy has ``encrypt(plaintext, ctx) -> (message, cache_hit)`` and
``decrypt(message, ctx) -> plaintext``. The encrypt side and the decrypt side use separate KMS
clients (producer and consumer), each with its own ``CallCounter`` hooked on botocore's
``before-call.kms`` event, so every KMS API call is counted where it is made, never estimated.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import boto3
import botocore.session
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .dek_cache import CachePolicy, DataKeyCache, UnwrappedKeyCache

STRATEGIES = ("direct", "envelope", "dek-cache", "esdk-cache", "esdk-cache-signing", "local-only")
DIRECT_MAX_BYTES = 4096
NONCE = 12


@dataclass(frozen=True)
class Context:
    """An encryption context with its cache key and the AAD bytes bound to each message."""

    mapping: dict[str, str]
    key: tuple[tuple[str, str], ...]
    aad: bytes

    @classmethod
    def of(cls, mapping: dict[str, str]) -> Context:
        key = tuple(sorted(mapping.items()))
        return cls(dict(mapping), key, json.dumps(key, separators=(",", ":")).encode())


def contexts(n: int) -> list[Context]:
    """``n`` distinct encryption contexts (tenant-0 ... tenant-n-1)."""
    return [Context.of({"tenant": f"tenant-{i}", "purpose": "bench"}) for i in range(n)]


@dataclass
class CallCounter:
    """KMS API calls by operation, from botocore's before-call event (one per call, retries aside)."""

    calls: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, event_name: str = "", **_: Any) -> None:
        op = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self.calls[op] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


@dataclass(frozen=True)
class KmsBackend:
    """Where KMS is: an endpoint (moto behind the proxy) or None for real AWS, a region and credentials."""

    region: str
    endpoint_url: str | None = None
    credentials: tuple[str, str] | None = None  # only for the emulated backend; real runs use the chain

    def botocore_session(self, counter: CallCounter | None = None) -> botocore.session.Session:
        """A botocore session whose KMS clients go to this backend and report calls to ``counter``."""
        session = _EndpointSession(self.endpoint_url)
        if self.credentials is not None:
            session.set_credentials(*self.credentials)
        session.set_config_variable("region", self.region)
        if counter is not None:
            session.register("before-call.kms", counter)
        return session

    def client(self, counter: CallCounter | None = None) -> Any:
        """A boto3 KMS client on this backend, counted by ``counter``."""
        return boto3.session.Session(botocore_session=self.botocore_session(counter)).client(
            "kms", region_name=self.region)


class _EndpointSession(botocore.session.Session):  # type: ignore[misc]
    """A botocore session that points every client it creates at one endpoint (for the ESDK)."""

    def __init__(self, endpoint_url: str | None) -> None:
        super().__init__()
        self._bench_endpoint = endpoint_url

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        if self._bench_endpoint and not kwargs.get("endpoint_url"):
            kwargs["endpoint_url"] = self._bench_endpoint
        return super().create_client(*args, **kwargs)


class Strategy(Protocol):
    name: str

    def encrypt(self, plaintext: bytes, ctx: Context) -> tuple[bytes, bool]: ...

    def decrypt(self, message: bytes, ctx: Context) -> bytes: ...


def _pack(edk: bytes, nonce: bytes, ct: bytes) -> bytes:
    return struct.pack(">H", len(edk)) + edk + nonce + ct


def _unpack(message: bytes) -> tuple[bytes, bytes, bytes]:
    (n,) = struct.unpack_from(">H", message)
    edk = message[2:2 + n]
    return edk, message[2 + n:2 + n + NONCE], message[2 + n + NONCE:]


class DirectStrategy:
    """KMS Encrypt/Decrypt per message (plaintext up to 4 KiB)."""

    name = "direct"

    def __init__(self, enc_client: Any, dec_client: Any, key_id: str) -> None:
        self.enc, self.dec, self.key_id = enc_client, dec_client, key_id

    def encrypt(self, plaintext: bytes, ctx: Context) -> tuple[bytes, bool]:
        if len(plaintext) > DIRECT_MAX_BYTES:
            raise ValueError("KMS Encrypt takes at most 4096 bytes")
        resp = self.enc.encrypt(KeyId=self.key_id, Plaintext=plaintext, EncryptionContext=ctx.mapping)
        return bytes(resp["CiphertextBlob"]), False

    def decrypt(self, message: bytes, ctx: Context) -> bytes:
        resp = self.dec.decrypt(CiphertextBlob=message, EncryptionContext=ctx.mapping, KeyId=self.key_id)
        return bytes(resp["Plaintext"])


class EnvelopeStrategy:
    """GenerateDataKey per message; AES-256-GCM locally; the encrypted data key travels with the message."""

    name = "envelope"

    def __init__(self, enc_client: Any, dec_client: Any, key_id: str) -> None:
        self.enc, self.dec, self.key_id = enc_client, dec_client, key_id

    def _new_key(self, ctx: Context) -> tuple[AESGCM, bytes]:
        resp = self.enc.generate_data_key(KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=ctx.mapping)
        return AESGCM(resp["Plaintext"]), bytes(resp["CiphertextBlob"])

    def _unwrap(self, edk: bytes, ctx: Context) -> AESGCM:
        resp = self.dec.decrypt(CiphertextBlob=edk, EncryptionContext=ctx.mapping, KeyId=self.key_id)
        return AESGCM(resp["Plaintext"])

    def encrypt(self, plaintext: bytes, ctx: Context) -> tuple[bytes, bool]:
        aead, edk = self._new_key(ctx)
        nonce = os.urandom(NONCE)
        return _pack(edk, nonce, aead.encrypt(nonce, plaintext, ctx.aad)), False

    def decrypt(self, message: bytes, ctx: Context) -> bytes:
        edk, nonce, ct = _unpack(message)
        return self._unwrap(edk, ctx).decrypt(nonce, ct, ctx.aad)


class DekCacheStrategy(EnvelopeStrategy):
    """Envelope encryption with our DataKeyCache (encrypt side) and UnwrappedKeyCache (decrypt side)."""

    name = "dek-cache"

    def __init__(self, enc_client: Any, dec_client: Any, key_id: str, policy: CachePolicy) -> None:
        super().__init__(enc_client, dec_client, key_id)
        self.cache: DataKeyCache[tuple[AESGCM, bytes]] = DataKeyCache(policy)
        self.unwrapped: UnwrappedKeyCache[AESGCM] = UnwrappedKeyCache(policy.max_age_s, policy.capacity)

    def encrypt(self, plaintext: bytes, ctx: Context) -> tuple[bytes, bool]:
        (aead, header), hit = self.cache.get(ctx.key, len(plaintext), partial(self._fetch, ctx))
        nonce = os.urandom(NONCE)
        return b"".join((header, nonce, aead.encrypt(nonce, plaintext, ctx.aad))), hit

    def _fetch(self, ctx: Context) -> tuple[AESGCM, bytes]:
        aead, edk = self._new_key(ctx)
        return aead, struct.pack(">H", len(edk)) + edk

    def decrypt(self, message: bytes, ctx: Context) -> bytes:
        edk, nonce, ct = _unpack(message)
        aead, _ = self.unwrapped.get((edk, ctx.key), lambda: self._unwrap(edk, ctx))
        return aead.decrypt(nonce, ct, ctx.aad)


class LocalOnlyStrategy:
    """AES-256-GCM with one fixed key: no KMS at all (the floor)."""

    name = "local-only"

    def __init__(self) -> None:
        self.aead = AESGCM(AESGCM.generate_key(bit_length=256))

    def encrypt(self, plaintext: bytes, ctx: Context) -> tuple[bytes, bool]:
        nonce = os.urandom(NONCE)
        return nonce + self.aead.encrypt(nonce, plaintext, ctx.aad), True

    def decrypt(self, message: bytes, ctx: Context) -> bytes:
        return self.aead.decrypt(message[:NONCE], message[NONCE:], ctx.aad)


class EsdkCacheStrategy:
    """AWS Encryption SDK: CachingCryptoMaterialsManager + LocalCryptoMaterialsCache on a strict KMS provider.

    ``signing=False`` uses AES_256_GCM_HKDF_SHA512_COMMIT_KEY (no per-message signature);
    ``signing=True`` the SDK's default suite (..._COMMIT_KEY_ECDSA_P384), labelled esdk-cache-signing.
    """

    def __init__(self, backend: KmsBackend, enc_counter: CallCounter, dec_counter: CallCounter, key_arn: str,
                 policy: CachePolicy, signing: bool = False) -> None:
        import aws_encryption_sdk
        from aws_encryption_sdk.caches.local import LocalCryptoMaterialsCache
        from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy
        from aws_encryption_sdk.key_providers.kms import StrictAwsKmsMasterKeyProvider
        from aws_encryption_sdk.materials_managers.caching import CachingCryptoMaterialsManager

        self.name = "esdk-cache-signing" if signing else "esdk-cache"
        self.algorithm = (Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 if signing
                          else Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY)
        self.client = aws_encryption_sdk.EncryptionSDKClient(
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
        self.enc_counter = enc_counter

        def cmm(counter: CallCounter) -> Any:
            provider = StrictAwsKmsMasterKeyProvider(key_ids=[key_arn],
                                                     botocore_session=backend.botocore_session(counter))
            return CachingCryptoMaterialsManager(
                master_key_provider=provider, cache=LocalCryptoMaterialsCache(policy.capacity),
                max_age=float(policy.max_age_s), max_messages_encrypted=policy.max_messages,
                max_bytes_encrypted=min(policy.max_bytes, 2**63 - 1))

        self.enc_cmm = cmm(enc_counter)
        self.dec_cmm = cmm(dec_counter)

    def encrypt(self, plaintext: bytes, ctx: Context) -> tuple[bytes, bool]:
        before = self.enc_counter.total
        ct, _ = self.client.encrypt(source=plaintext, materials_manager=self.enc_cmm,
                                    encryption_context=ctx.mapping, algorithm=self.algorithm)
        return bytes(ct), self.enc_counter.total == before

    def decrypt(self, message: bytes, ctx: Context) -> bytes:
        pt, header = self.client.decrypt(source=message, materials_manager=self.dec_cmm)
        for k, v in ctx.mapping.items():
            if header.encryption_context.get(k) != v:
                raise ValueError("encryption context of the message does not match")
        return bytes(pt)

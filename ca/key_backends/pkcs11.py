"""CA keys in a PKCS#11 token (an HSM; SoftHSM2 in the tests), through python-pkcs11.

Configured like the other backends, by alias in ``CERTPORTAL_KEY_BACKENDS``::

    "pkcs11": {"BACKEND": "ca.key_backends.pkcs11.Pkcs11KeyBackend",
               "OPTIONS": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token": "certportal"}}

The user PIN is ``CERTPORTAL_PKCS11_PIN``, which only the CA worker's environment has (as the other
backends' ``CERTPORTAL_CA_KEY_PASSPHRASE``). ``create_key`` generates the key pair in the token (RSA, or EC
P-256/P-384) with CKA_SENSITIVE and CKA_PRIVATE true and CKA_EXTRACTABLE false, under a label (the CA's
slug unless one is given) and a random CKA_ID; the CA row stores only ``{"token", "label", "id",
"key_type"}``. Signing happens in the token: cryptography's builders are given a private-key object of this
module whose ``sign`` asks the token (RSA PKCS#1 v1.5 with the token hashing, ECDSA over a digest computed
here), and which has no key material: ``private_bytes`` and ``private_numbers`` raise KeyNotExportable.

One logged-in read-write session per token and process, used under a lock (a PKCS#11 session serves one
thread at a time). A process forked after the library was initialised (Celery's prefork pool) initialises
it again before its first use, as PKCS#11 requires. A PIN the token refused is not tried again by the same
backend: a real HSM locks the user PIN after a few wrong ones, and the CA worker checks its keys every few
seconds while they fail.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.types import SignMixin
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo, Prehashed, encode_dss_signature
from cryptography.utils import Buffer

from ca.conf import ca_settings
from ca.crypto.keys import KeySpec
from ca.key_backends.base import KeyBackend, KeyBackendError, KeyBackendUnavailable, KeyReference

__all__ = ["KeyNotExportable", "Pkcs11KeyBackend"]

T = TypeVar("T")

#: What every CA key is generated with: usable for signing only, never readable or wrappable.
PRIVATE_KEY_TEMPLATE: dict[Attribute, Any] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
_PUBLIC_KEY_TEMPLATE: dict[Attribute, Any] = {Attribute.TOKEN: True, Attribute.PRIVATE: False}
_RSA_MECHANISMS = {
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}
#: Errors after which the session is opened again once (a token restarted, a session closed under us).
_SESSION_LOST = (
    p11.SessionClosed,
    p11.SessionHandleInvalid,
    p11.DeviceRemoved,
    p11.TokenNotPresent,
    p11.UserNotLoggedIn,
)


class KeyNotExportable(KeyBackendError):
    """The key is in the token and cannot leave it; nothing in certportal asks for it."""

    code = "key_not_exportable"


@dataclass(frozen=True)
class _KeyRef:
    token: str
    label: str
    key_id: bytes
    key_type: str

    @classmethod
    def parse(cls, reference: KeyReference) -> _KeyRef:
        try:
            return cls(
                token=str(reference["token"]),
                label=str(reference["label"]),
                key_id=bytes.fromhex(str(reference["id"])),
                key_type=str(reference["key_type"]),
            )
        except (KeyError, ValueError) as exc:
            raise KeyBackendUnavailable("this CA's key is not a key of the PKCS#11 backend") from exc

    def reference(self) -> KeyReference:
        return {"token": self.token, "label": self.label, "id": self.key_id.hex(), "key_type": self.key_type}


class Pkcs11KeyBackend(KeyBackend):
    def __init__(self, alias: str, **options: Any) -> None:
        super().__init__(alias, **options)
        self.module = str(options.get("module", ""))
        self.default_token = str(options.get("token", ""))
        self._lock = threading.RLock()
        self._lib: Any = None
        self._pid = 0
        self._sessions: dict[str, pkcs11.Session] = {}
        self._public_keys: dict[_KeyRef, CertificateIssuerPublicKeyTypes] = {}
        self._refused_pins: set[str] = set()

    # --- the interface -----------------------------------------------------------------------------------

    def is_usable(self) -> bool:
        return bool(ca_settings().PKCS11_PIN.get_secret_value())

    def create_key(
        self, *, spec: KeySpec, name: str, token: str = "", label: str = ""
    ) -> tuple[CertificateIssuerPublicKeyTypes, KeyReference]:
        token_label = token or self.default_token
        if not token_label:
            raise KeyBackendError(f"key backend {self.alias!r}: no token label (OPTIONS['token'] or --token)")
        ref = _KeyRef(token=token_label, label=label or name, key_id=os.urandom(16), key_type=spec.key_type)

        def generate(session: pkcs11.Session) -> None:
            if next(iter(session.get_objects({Attribute.LABEL: ref.label})), None) is not None:
                raise KeyBackendError(f"token {ref.token!r} already has a key labelled {ref.label!r}")
            common: dict[str, Any] = {
                "id": ref.key_id,
                "label": ref.label,
                "store": True,
                "capabilities": MechanismFlag.SIGN | MechanismFlag.VERIFY,
                "private_template": PRIVATE_KEY_TEMPLATE,
                "public_template": _PUBLIC_KEY_TEMPLATE,
            }
            if spec.key_type == "RSA":
                session.generate_keypair(KeyType.RSA, spec.size, **common)
            else:
                curve = {Attribute.EC_PARAMS: encode_named_curve_parameters(spec.curve_name)}
                session.create_domain_parameters(KeyType.EC, curve, local=True).generate_keypair(**common)

        self._run(ref.token, generate)
        return self.public_key(ref.reference()), ref.reference()

    def public_key(self, reference: KeyReference) -> CertificateIssuerPublicKeyTypes:
        ref = _KeyRef.parse(reference)
        with self._lock:
            cached = self._public_keys.get(ref)
        if cached is not None:
            self._run(ref.token, lambda session: None)  # usable here: the PIN, the token
            return cached
        public = self._run(ref.token, lambda session: _read_public_key(session, ref))
        with self._lock:
            self._public_keys[ref] = public
        return public

    def _signing_key(self, reference: KeyReference) -> _TokenRsaKey | _TokenEcKey:
        ref = _KeyRef.parse(reference)
        public = self.public_key(reference)
        if isinstance(public, rsa.RSAPublicKey):
            return _TokenRsaKey(self, ref, public)
        if isinstance(public, ec.EllipticCurvePublicKey):
            return _TokenEcKey(self, ref, public)
        raise KeyBackendUnavailable(f"token key {ref.label!r} is of an unsupported type")  # pragma: no cover

    def discard_key(self, reference: KeyReference) -> None:
        ref = _KeyRef.parse(reference)

        def destroy(session: pkcs11.Session) -> None:
            for obj in list(session.get_objects({Attribute.ID: ref.key_id, Attribute.LABEL: ref.label})):
                obj.destroy()

        self._run(ref.token, destroy)
        with self._lock:
            self._public_keys.pop(ref, None)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
            if self._pid != os.getpid():
                return  # a parent's sessions: not ours to close
            for session in sessions:
                with suppress(p11.PKCS11Error):  # already gone with the token
                    session.close()

    # --- the token -----------------------------------------------------------------------------------------

    def token_sign(self, reference: KeyReference, data: bytes, mechanism: Mechanism) -> bytes:
        """The token's signature over ``data`` with ``mechanism``: for this module's key objects."""
        ref = _KeyRef.parse(reference)

        def sign(session: pkcs11.Session) -> bytes:
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=ref.key_id, label=ref.label)
            assert isinstance(key, SignMixin)  # noqa: S101 - a private key of ours (CKA_SIGN)
            return bytes(key.sign(data, mechanism=mechanism))

        return self._run(ref.token, sign)

    def _run(self, token_label: str, operation: Callable[[pkcs11.Session], T]) -> T:
        """``operation`` in this process's session with the token, under the lock; once more with a new
        session if the first was lost. PKCS#11 errors become KeyBackendUnavailable.
        """
        with self._lock:
            for attempt in (1, 2):
                try:
                    with self._session(token_label) as session:
                        return operation(session)
                except _SESSION_LOST as exc:
                    self._sessions.pop(token_label, None)
                    if attempt == 2:
                        raise KeyBackendUnavailable(
                            f"PKCS#11 token {token_label!r} is gone: {exc!r}"
                        ) from exc
                except p11.NoSuchKey as exc:
                    raise KeyBackendUnavailable(f"no such key in PKCS#11 token {token_label!r}") from exc
                except p11.PKCS11Error as exc:
                    raise KeyBackendUnavailable(
                        f"PKCS#11 token {token_label!r}: {type(exc).__name__} {exc}"
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def _session(self, token_label: str) -> Iterator[pkcs11.Session]:
        lib = self._library()
        session = self._sessions.get(token_label)
        if session is None:
            session = self._open(lib, token_label)
            self._sessions[token_label] = session
        yield session

    def _library(self) -> Any:
        if self._lib is not None and self._pid == os.getpid():
            return self._lib
        if not self.module:
            raise KeyBackendUnavailable(
                f"key backend {self.alias!r} has no OPTIONS['module'] (the PKCS#11 library)"
            )
        self._lib, self._pid, self._sessions = _library(self.module), os.getpid(), {}
        return self._lib

    def _open(self, lib: Any, token_label: str) -> pkcs11.Session:
        pin = ca_settings().PKCS11_PIN.get_secret_value()
        if not pin:
            raise KeyBackendUnavailable(
                "this process has no PKCS#11 PIN (CERTPORTAL_PKCS11_PIN); operations with a CA key run on "
                "the CA worker"
            )
        pin_digest = hashlib.sha256(pin.encode("utf-8")).hexdigest()
        if pin_digest in self._refused_pins:
            raise KeyBackendUnavailable(
                f"PKCS#11 token {token_label!r} refused this PIN before; not tried again "
                "(the token would lock)"
            )
        try:
            token = lib.get_token(token_label=token_label)
        except (p11.NoSuchToken, p11.MultipleTokensReturned) as exc:
            raise KeyBackendUnavailable(f"no single PKCS#11 token labelled {token_label!r}") from exc
        try:
            session: pkcs11.Session = token.open(rw=True, user_pin=pin)
        except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange) as exc:
            self._refused_pins.add(pin_digest)
            raise KeyBackendUnavailable(
                f"PKCS#11 token {token_label!r} refused the PIN (CERTPORTAL_PKCS11_PIN)"
            ) from exc
        except p11.PinLocked as exc:
            raise KeyBackendUnavailable(f"the user PIN of PKCS#11 token {token_label!r} is locked") from exc
        except p11.UserAlreadyLoggedIn:
            # Login is per process and token: another session of this process logged in already.
            session = token.open(rw=True)
        return session


_libraries: dict[str, int] = {}  # module path -> the process that initialised it
_libraries_lock = threading.Lock()


def _library(module: str) -> Any:
    """The loaded PKCS#11 library, initialised in this process (again after a fork)."""
    with _libraries_lock:
        try:
            lib = pkcs11.lib(module)
            if _libraries.setdefault(module, os.getpid()) != os.getpid():
                lib.reinitialize()  # forked: PKCS#11 wants C_Initialize in the child
                _libraries[module] = os.getpid()
        except (p11.PKCS11Error, OSError, RuntimeError) as exc:
            raise KeyBackendUnavailable(f"the PKCS#11 library {module} cannot be loaded: {exc}") from exc
    return lib


def _read_public_key(session: pkcs11.Session, ref: _KeyRef) -> CertificateIssuerPublicKeyTypes:
    public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, id=ref.key_id, label=ref.label)
    assert isinstance(public, pkcs11.PublicKey)  # noqa: S101 - asked for by its object class
    if ref.key_type == "RSA":
        numbers = rsa.RSAPublicNumbers(
            e=int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
            n=int.from_bytes(public[Attribute.MODULUS], "big"),
        )
        return numbers.public_key()
    key = serialization.load_der_public_key(encode_ec_public_key(public))
    if not isinstance(key, ec.EllipticCurvePublicKey):  # pragma: no cover - the token said EC
        raise KeyBackendUnavailable(f"token key {ref.label!r} is not an EC key")
    return key


# --- private-key objects for cryptography's builders: they sign in the token and hold no key material -------


class _TokenKey:
    def __init__(self, backend: Pkcs11KeyBackend, ref: _KeyRef) -> None:
        self._backend = backend
        self._reference = ref.reference()

    def private_bytes(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise KeyNotExportable("the CA key is in the PKCS#11 token and cannot be exported")

    def private_numbers(self) -> NoReturn:
        raise KeyNotExportable("the CA key is in the PKCS#11 token and cannot be exported")

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self

    def _sign(self, data: bytes, mechanism: Mechanism) -> bytes:
        return self._backend.token_sign(self._reference, data, mechanism)


class _TokenRsaKey(_TokenKey, rsa.RSAPrivateKey):
    def __init__(self, backend: Pkcs11KeyBackend, ref: _KeyRef, public: rsa.RSAPublicKey) -> None:
        super().__init__(backend, ref)
        self._public = public

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def sign(
        self,
        data: bytes,
        padding: padding.AsymmetricPadding,
        algorithm: Prehashed | hashes.HashAlgorithm | NoDigestInfo,
    ) -> bytes:
        mechanism = (
            _RSA_MECHANISMS.get(algorithm.name) if isinstance(algorithm, hashes.HashAlgorithm) else None
        )
        if padding.name != "EMSA-PKCS1-v1_5" or mechanism is None:
            raise UnsupportedAlgorithm(f"the token signs RSA PKCS#1 v1.5 with {', '.join(_RSA_MECHANISMS)}")
        return self._sign(data, mechanism)

    def decrypt(self, ciphertext: bytes, padding: padding.AsymmetricPadding) -> bytes:
        raise UnsupportedAlgorithm("a CA key in the token signs; it decrypts nothing")


class _TokenEcKey(_TokenKey, ec.EllipticCurvePrivateKey):
    def __init__(self, backend: Pkcs11KeyBackend, ref: _KeyRef, public: ec.EllipticCurvePublicKey) -> None:
        super().__init__(backend, ref)
        self._public = public

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def sign(self, data: Buffer, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise UnsupportedAlgorithm("the token signs ECDSA only")
        algorithm = signature_algorithm.algorithm
        if isinstance(algorithm, Prehashed):
            digest = bytes(data)
        else:
            hasher = hashes.Hash(algorithm)
            hasher.update(data)
            digest = hasher.finalize()
        raw = self._sign(digest, Mechanism.ECDSA)  # r || s, each as long as the curve's order
        half = len(raw) // 2
        return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        raise UnsupportedAlgorithm("a CA key in the token signs; it derives nothing")

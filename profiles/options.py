"""Intune's SCEP and trusted-certificate profile options (Graph names as values). Pure: no Django.

The one definition of each: the model fields take their choices from these members and labels, the
payload builders (``profiles.exports``) and the validation use the same members.
"""

from __future__ import annotations

import enum

__all__ = ["DestinationStore", "HashAlgorithm", "KeyStorageProvider", "ValidityScale"]


class KeyStorageProvider(enum.StrEnum):
    """Graph ``keyStorageProviderOption`` (Windows only)."""

    TPM_OTHERWISE_SOFTWARE = "useTpmKspOtherwiseUseSoftwareKsp"
    TPM_OTHERWISE_FAIL = "useTpmKspOtherwiseFail"
    PASSPORT_OTHERWISE_FAIL = "usePassportForWorkKspOtherwiseFail"
    SOFTWARE = "useSoftwareKsp"

    @property
    def label(self) -> str:
        return {
            "useTpmKspOtherwiseUseSoftwareKsp": "Enroll to TPM KSP if present, otherwise Software KSP",
            "useTpmKspOtherwiseFail": "Enroll to TPM KSP, otherwise fail",
            "usePassportForWorkKspOtherwiseFail": "Enroll to Passport, otherwise fail",
            "useSoftwareKsp": "Enroll to Software KSP",
        }[self.value]


class HashAlgorithm(enum.StrEnum):
    """Graph ``hashAlgorithms`` flag names."""

    SHA1 = "sha1"
    SHA2 = "sha2"

    @property
    def label(self) -> str:
        return {"sha1": "SHA-1", "sha2": "SHA-2"}[self.value]


class ValidityScale(enum.StrEnum):
    """Graph ``certificateValidityPeriodScale``."""

    DAYS = "days"
    MONTHS = "months"
    YEARS = "years"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class DestinationStore(enum.StrEnum):
    """Graph ``certificateDestinationStore`` (Windows trusted certificate profiles)."""

    COMPUTER_ROOT = "computerCertStoreRoot"
    COMPUTER_INTERMEDIATE = "computerCertStoreIntermediate"
    USER_INTERMEDIATE = "userCertStoreIntermediate"

    @property
    def label(self) -> str:
        return {
            "computerCertStoreRoot": "Computer certificate store - Root",
            "computerCertStoreIntermediate": "Computer certificate store - Intermediate",
            "userCertStoreIntermediate": "User certificate store - Intermediate",
        }[self.value]

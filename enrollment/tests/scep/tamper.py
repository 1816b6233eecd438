"""Edit DER SCEP messages for negative tests (asn1crypto; signatures are not recomputed)."""

from collections.abc import Callable

from asn1crypto import core

from enrollment.scep import schema


def rewrite_signed_data(der: bytes, change: Callable[[schema.SignedData], object]) -> bytes:
    """Apply ``change`` to the SignedData inside ``der`` and re-encode."""
    content_info = schema.ContentInfo.load(der)
    change(content_info["content"])
    return bytes(content_info.dump(force=True))


def flip_signature(der: bytes) -> bytes:
    def flip(signed_data: schema.SignedData) -> None:
        signer = signed_data["signer_infos"][0]
        signature = bytearray(signer["signature"].native)
        signature[len(signature) // 2] ^= 0x01
        signer["signature"] = bytes(signature)

    return rewrite_signed_data(der, flip)


def replace_attribute(der: bytes, oid: str, value: core.Asn1Value | None) -> bytes:
    """Replace the value of signed attribute ``oid`` (add it if absent); remove it when ``value`` is None."""

    def replace(signed_data: schema.SignedData) -> None:
        signer = signed_data["signer_infos"][0]
        kept = [attribute.copy() for attribute in signer["signed_attrs"] if attribute["type"].dotted != oid]
        if value is not None:
            kept.append(schema.Attribute({"type": oid, "values": [value]}))
        signer["signed_attrs"] = kept

    return rewrite_signed_data(der, replace)

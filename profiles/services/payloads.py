"""What a device receives, from one check-in: JSON, an Apple .mobileconfig, or Windows CSP SyncML.

The XML writers (:mod:`profiles.exports`) refuse what their format cannot carry (a character XML does
not allow, a value the CSP would split) instead of writing a malformed payload; that refusal is
:class:`PayloadNotRepresentable` here, a 409 with the writer's message (which value, which character),
logged. The directory refuses such characters at the door (``directory.validators``), so it is left for
rows written before that and for profile names.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from cryptography.hazmat.primitives.serialization import Encoding

from django.utils.http import content_disposition_header

from ca.crypto.names import general_name_to_text
from core.exceptions import Conflict
from directory.models import Device, Platform
from profiles.exports import mobileconfig, windows_csp
from profiles.exports.common import ExportError
from profiles.exports.x500 import x500_subject_string
from profiles.naming.variables import CertificateType
from profiles.options import HashAlgorithm, KeyStorageProvider, ValidityScale
from profiles.services.checkin import CheckinResult, ScepDelivery
from profiles.services.checkin_resources import DeviceCheckin
from profiles.services.payloads_resources import extras_json, extras_mobileconfig, extras_windows_csp

__all__ = [
    "PayloadNotRepresentable",
    "checkin_as_json",
    "checkin_as_mobileconfig",
    "checkin_as_windows_csp",
    "mobileconfig_content_disposition",
    "mobileconfig_filename",
]

logger = logging.getLogger(__name__)

#: What a downloaded file's name keeps of the device's external_id: letters, digits, ``.``, ``_``, ``-``.
_UNSAFE_IN_FILENAME: Final = re.compile(r"[^\w.-]")


class PayloadNotRepresentable(Conflict):
    """The device's payload cannot be written in the format asked for: a value it would carry cannot be
    represented (a character XML does not allow, for example). Correct the value; nothing malformed is sent.
    """

    code = "payload_not_representable"


def _refused(device: Device, fmt: str, exc: ExportError) -> PayloadNotRepresentable:
    logger.warning("the %s payload of device %s cannot be written: %s", fmt, device.pk, exc)
    return PayloadNotRepresentable(
        f"the {fmt} payload of device {device.external_id!r} cannot be written: {exc}; "
        "correct that value in the directory or the profile",
        extra={"device": device.pk, "format": fmt},
    )


def mobileconfig_filename(device: Device) -> str:
    """The file name of a device's .mobileconfig: its external_id with anything but letters, digits,
    ``.``, ``_`` and ``-`` replaced by ``_`` (quotes, slashes, spaces, control characters).
    """
    stem = _UNSAFE_IN_FILENAME.sub("_", device.external_id).strip("._")[:100] or "device"
    return f"{stem}.mobileconfig"


def mobileconfig_content_disposition(device: Device) -> str:
    """``Content-Disposition`` of a .mobileconfig download (``filename*`` for a non-ASCII name)."""
    header = content_disposition_header(as_attachment=True, filename=mobileconfig_filename(device))
    return header or "attachment"


def _split(result: CheckinResult | DeviceCheckin) -> tuple[CheckinResult, DeviceCheckin | None]:
    """The trusted-root and SCEP part of a check-in, and the whole check-in when it has PKCS and resources."""
    if isinstance(result, DeviceCheckin):
        return result.base, result
    return result, None


def checkin_as_json(whole: CheckinResult | DeviceCheckin) -> dict[str, Any]:
    result, checkin = _split(whole)
    device = result.device
    extras = extras_json(checkin) if checkin is not None else {}
    return {
        "device": {"id": device.external_id, "name": device.name, "platform": device.platform},
        "trusted_roots": [
            {
                "profile": root.name,
                "thumbprint_sha1": root.thumbprint_sha1,
                "subject": root.subject,
                "destination_store": root.destination_store or None,
                "certificate_pem": root.certificate.public_bytes(Encoding.PEM).decode("ascii"),
            }
            for root in result.trusted_roots
        ],
        "scep": [_scep_json(delivery) for delivery in result.scep],
        **extras,
    }


def _scep_json(delivery: ScepDelivery) -> dict[str, Any]:
    profile = delivery.profile
    body: dict[str, Any] = {"profile": profile.name, "profile_version": profile.version}
    if delivery.problem or delivery.rendered is None:
        body.update(state="failed", reason=delivery.problem)
        return body
    body.update(
        state="challenge_issued" if delivery.challenge else "preview",
        certificate_type=profile.certificate_type,
        subject=delivery.rendered.subject.rfc4514_string(),
        subject_x500=x500_subject_string(delivery.rendered.subject),
        subject_alternative_names=[general_name_to_text(name) for name in delivery.rendered.sans],
        key_size=profile.key_size,
        key_usage={
            "digital_signature": profile.key_usage_digital_signature,
            "key_encipherment": profile.key_usage_key_encipherment,
        },
        key_storage_provider=profile.key_storage_provider or None,
        hash_algorithms=profile.hash_algorithms,
        extended_key_usages=profile.extended_key_usages,
        validity_days=profile.validity_days,
        renewal_threshold_percentage=profile.renewal_threshold_percentage,
        scep_server_urls=profile.scep_server_urls,
        root_thumbprint_sha1=profile.root_profile.thumbprint_sha1,
        challenge=delivery.challenge or None,
        challenge_expires_at=delivery.challenge_expires_at.isoformat()
        if delivery.challenge_expires_at
        else None,
    )
    return body


def checkin_as_mobileconfig(
    result: CheckinResult | DeviceCheckin, *, organization: str = "certportal"
) -> bytes:
    """Apple configuration profile: the trusted roots, then one SCEP payload per deliverable profile.

    Raises:
        PayloadNotRepresentable: a value cannot be carried by a property list.
    """
    try:
        return _mobileconfig(result, organization)
    except ExportError as exc:
        raise _refused(result.device, "mobileconfig", exc) from exc


def _mobileconfig(whole: CheckinResult | DeviceCheckin, organization: str) -> bytes:
    result, checkin = _split(whole)
    device = result.device
    base = f"org.certportal.device.{device.external_id}"
    payloads: list[
        mobileconfig.RootCertificatePayload | mobileconfig.ScepPayload | mobileconfig.ExtraPayload
    ] = [
        mobileconfig.RootCertificatePayload(
            identifier=f"{base}.root.{root.pk}",
            display_name=root.name,
            certificate=root.certificate,
            file_name=root.certificate_file_name or f"{root.name}.cer",
        )
        for root in result.trusted_roots
    ]
    for delivery in result.scep:
        if delivery.rendered is None or not delivery.challenge:
            continue
        profile = delivery.profile
        macos = device.platform == Platform.MACOS
        payloads.append(
            mobileconfig.ScepPayload(
                identifier=f"{base}.scep.{profile.pk}",
                display_name=profile.name,
                url=profile.scep_server_urls[0],
                subject=delivery.rendered.subject,
                challenge=delivery.challenge,
                key_size=profile.key_size,
                digital_signature=profile.key_usage_digital_signature,
                key_encipherment=profile.key_usage_key_encipherment,
                ca_certificate=profile.root_profile.certificate,
                subject_alt_names=delivery.rendered.sans,
                allow_all_apps_access=profile.allow_all_apps_access if macos else None,
            )
        )
    if checkin is not None:
        payloads.extend(extras_mobileconfig(checkin, base))
    info = mobileconfig.ProfileInfo(
        identifier=base, display_name=f"certportal certificates for {device.name}", organization=organization
    )
    return mobileconfig.build_mobileconfig(info, payloads)


def checkin_as_windows_csp(result: CheckinResult | DeviceCheckin) -> str:
    """SyncML for the RootCATrustedCertificates and ClientCertificateInstall CSPs, in one <SyncBody>.

    Raises:
        PayloadNotRepresentable: a value cannot be carried by the CSPs (or by XML).
    """
    try:
        return _windows_csp(result)
    except ExportError as exc:
        raise _refused(result.device, "windows-csp", exc) from exc


def _windows_csp(whole: CheckinResult | DeviceCheckin) -> str:
    result, checkin = _split(whole)
    fragments: list[str] = []
    command_id = 1
    for root in result.trusted_roots:
        scope, store = windows_csp.root_location_for_destination(
            root.destination_store or "computerCertStoreRoot"
        )
        fragments.append(
            windows_csp.build_root_syncml(
                bytes(root.certificate_der), store=store, scope=scope, first_cmd_id=command_id
            )
        )
        command_id += 1
    for delivery in result.scep:
        if delivery.rendered is None or not delivery.challenge:
            continue
        profile = delivery.profile
        validity = profile.validity_days
        payload = windows_csp.WindowsScepPayload(
            unique_id=f"certportal_{profile.pk}",
            certificate_type=CertificateType(profile.certificate_type),
            server_urls=tuple(profile.scep_server_urls),
            challenge=delivery.challenge,
            subject=delivery.rendered.subject,
            ca_certificate=profile.root_profile.certificate,
            eku_oids=tuple(str(item["oid"]) for item in profile.extended_key_usages),
            key_storage_provider=KeyStorageProvider(
                profile.key_storage_provider or KeyStorageProvider.TPM_OTHERWISE_SOFTWARE
            ),
            digital_signature=profile.key_usage_digital_signature,
            key_encipherment=profile.key_usage_key_encipherment,
            key_length=profile.key_size,
            hash_algorithms=tuple(HashAlgorithm(h) for h in profile.hash_algorithms) or (HashAlgorithm.SHA2,),
            subject_alt_names=delivery.rendered.sans,
            valid_period=ValidityScale.DAYS if validity else None,
            valid_period_units=validity,
        )
        fragment = windows_csp.build_scep_syncml(payload, first_cmd_id=command_id)
        command_id += fragment.count("<CmdID>")
        fragments.append(fragment)
    if checkin is not None:
        fragments.extend(extras_windows_csp(checkin, command_id)[0])
    return (
        '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncBody>' + "".join(fragments) + "<Final /></SyncBody></SyncML>"
    )

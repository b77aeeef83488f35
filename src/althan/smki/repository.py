"""The SMKI repository: the certificates a DCC user looks up, organisations' and devices'.

Organisation certificates name their holder in the subject (``x500UniqueIdentifier`` = EUI,
``OU`` = the remote party role in hex); device certificates in the subjectAltName
(``hardwareModuleName``: the EUI as ``hwSerialNum``). Look-ups are by subject (organisations),
by subject alternative name (devices) and by serial, as DCC Boxed's SMKI interface offers
them (`althan.runtime.smki_http` serves it).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.x509.oid import NameOID

from althan.model import EUI64
from althan.smki.zaz1 import cert_eui

__all__ = ["CertificateKind", "SmkiCertificate", "SmkiRepository", "org_role"]


class CertificateKind(enum.StrEnum):
    ORGANISATION = "organisation"
    DEVICE = "device"


@dataclass(frozen=True, slots=True)
class SmkiCertificate:
    kind: CertificateKind
    eui: EUI64
    usage: str  # "DS" | "KA"
    role: int | None  # the remote party role of an organisation certificate
    status: str  # "I": in use
    cert: x509.Certificate

    @property
    def serial(self) -> int:
        return self.cert.serial_number


def org_role(cert: x509.Certificate) -> int | None:
    """The remote party role an organisation certificate's OU carries (two hex digits)."""
    for attr in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME):
        value = attr.value if isinstance(attr.value, str) else attr.value.decode()
        if len(value) == 2:
            try:
                return int(value, 16)
            except ValueError:
                return None
    return None


def _usage(cert: x509.Certificate) -> str | None:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if ku.key_agreement:
        return "KA"
    if ku.digital_signature:
        return "DS"
    return None


class DeviceCertificates(Protocol):
    """Device certificates issued on demand (a fleet's generated PKI), known by serial."""

    def holder_of(self, serial: int) -> tuple[EUI64, str] | None:
        """The (EUI, "ds" | "ka") whose certificate has `serial`, if one of these devices'."""

    def certificates(self, eui: EUI64) -> Sequence[x509.Certificate]:
        """The device's certificates (none for a device it does not hold)."""


class SmkiRepository:
    """Certificates by holder and by serial; device certificates from `devices` are built when
    first asked for."""

    def __init__(
        self,
        certificates: Iterable[SmkiCertificate] = (),
        devices: DeviceCertificates | None = None,
    ) -> None:
        self._by_serial: dict[int, SmkiCertificate] = {}
        self._by_holder: dict[tuple[CertificateKind, EUI64], list[SmkiCertificate]] = {}
        self._devices = devices
        for c in certificates:
            self.add(c)

    def add(self, c: SmkiCertificate) -> None:
        if c.serial in self._by_serial:
            return
        self._by_serial[c.serial] = c
        self._by_holder.setdefault((c.kind, c.eui), []).append(c)

    def add_organisation(self, cert: x509.Certificate) -> bool:
        """An organisation certificate; False when it is not one (no EUI, role or usage)."""
        eui, role, usage = cert_eui(cert), org_role(cert), _usage(cert)
        if eui is None or role is None or usage is None:
            return False
        self.add(SmkiCertificate(CertificateKind.ORGANISATION, eui, usage, role, "I", cert))
        return True

    def add_device(self, eui: EUI64, cert: x509.Certificate) -> bool:
        usage = _usage(cert)
        if usage is None:
            return False
        self.add(SmkiCertificate(CertificateKind.DEVICE, eui, usage, None, "I", cert))
        return True

    def organisation(self, eui: EUI64) -> list[SmkiCertificate]:
        return list(self._by_holder.get((CertificateKind.ORGANISATION, eui), ()))

    def device(self, eui: EUI64) -> list[SmkiCertificate]:
        key = (CertificateKind.DEVICE, eui)
        if key not in self._by_holder and self._devices is not None:
            for cert in self._devices.certificates(eui):
                self.add_device(eui, cert)
        return list(self._by_holder.get(key, ()))

    def by_serial(self, serial: int) -> SmkiCertificate | None:
        found = self._by_serial.get(serial)
        if found is None and self._devices is not None:
            holder = self._devices.holder_of(serial)
            if holder is not None:
                self.device(holder[0])
                found = self._by_serial.get(serial)
        return found

    def __len__(self) -> int:
        return len(self._by_serial)

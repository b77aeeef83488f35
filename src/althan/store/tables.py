"""Tables of the DSP's system of record (SQLAlchemy Core).

EUI-64s are stored as signed 64-bit integers (`EUIType`): the DCC's own EUIs (90-B3-…) have the
top bit set, which a signed BIGINT cannot hold as an unsigned value.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from althan.model import EUI64
from althan.store.types import EUIType, UTCDateTime


def _serial(name: str = "id") -> Column[int]:
    """A surrogate key the database numbers."""
    return Column(name, Integer, primary_key=True, autoincrement=True)


def _eui(name: str, *, nullable: bool = False, primary_key: bool = False) -> Column[EUI64]:
    """An EUI-64, as the signed BIGINT `EUIType` holds."""
    return Column(name, EUIType, nullable=nullable, primary_key=primary_key)


def _at(name: str, *, nullable: bool = False) -> Column[datetime]:
    """A UTC timestamp."""
    return Column(name, UTCDateTime, nullable=nullable)


def _request_id(
    *, nullable: bool = False, primary_key: bool = False, unique: bool | None = None
) -> Column[str]:
    """A DUIS RequestID."""
    return Column(
        "request_id", String(80), nullable=nullable, primary_key=primary_key, unique=unique
    )


def _srv() -> Column[str]:
    """A DUIS Service Reference Variant ("11.4")."""
    return Column("srv", String(12), nullable=False)


def _firmware_version(name: str = "firmware_version", *, nullable: bool = False) -> Column[str]:
    """A `FirmwareVersion`, as its 8 hex digits."""
    return Column(name, String(8), nullable=nullable)


def _manufacturer_and_model() -> list[Column[str]]:
    """A device's make (its manufacturer's ID) and model (the CPL lists firmware by them)."""
    return [
        Column("manufacturer", String(30), nullable=False),
        Column("model", String(30), nullable=False),
    ]


def _sha256(name: str, *, primary_key: bool = False) -> Column[str]:
    """A SHA-256, in hex."""
    return Column(name, String(64), nullable=False, primary_key=primary_key)


metadata = MetaData()

users = Table(
    "users",
    metadata,
    _eui("eui", primary_key=True),
    Column("name", String(100), nullable=False),
    Column("roles", String(60), nullable=False),  # comma-separated UserRole codes
    Column("cert_pem", Text, nullable=True),
    Column("cert_issuer", String(200), nullable=True),
    Column("cert_serial", String(60), nullable=True),
    Column("endpoint", String(500), nullable=True),  # where async responses/alerts are POSTed
    Column("is_althanco", Integer, nullable=False, default=0),
    Column("last_counter", BigInteger, nullable=True),
    _at("created_at"),
)

devices = Table(
    "devices",
    metadata,
    _eui("eui", primary_key=True),
    Column("device_type", String(10), nullable=False),
    Column("status", String(30), nullable=False),
    *_manufacturer_and_model(),
    Column("hardware_version", Integer, nullable=True),
    _firmware_version(nullable=True),
    Column("variant", String(2), nullable=True),  # AltHANDeviceVariant (SECMP0170), PPMID only
    Column("esme_variant", String(2), nullable=True),
    Column("region", String(10), nullable=True),
    _eui("chf", nullable=True),
    Column("gbcs_version", String(10), nullable=True),
    Column("smets_version", String(20), nullable=True),
    _eui("supplier", nullable=True),  # responsible supplier (may act on the device)
    _at("commissioned_at", nullable=True),
    _at("updated_at"),
)
# Search (the SSI's device search, keyset-paginated by EUI): one (column, eui) index per filter.
Index("ix_devices_chf_eui", devices.c.chf, devices.c.eui)
Index("ix_devices_variant_eui", devices.c.variant, devices.c.eui)
Index("ix_devices_supplier_eui", devices.c.supplier, devices.c.eui)
Index("ix_devices_status_eui", devices.c.status, devices.c.eui)
Index("ix_devices_region_eui", devices.c.region, devices.c.eui)
Index("ix_devices_type_eui", devices.c.device_type, devices.c.eui)
Index("ix_devices_fw_eui", devices.c.firmware_version, devices.c.eui)

chf_device_log = Table(
    "chf_device_log",
    metadata,
    _eui("chf", primary_key=True),
    _eui("device", primary_key=True),
    _at("added_at"),
)

firmware_images = Table(
    "firmware_images",
    metadata,
    _sha256("sha256", primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("manufacturer_code", Integer, nullable=False),
    Column("image_type", Integer, nullable=False),
    Column("file_version", BigInteger, nullable=False),
    Column("form", String(10), nullable=False),
    _sha256("image_hash"),  # SHA-256 of the manufacturer image
    _at("first_seen"),
)

cpl_entries = Table(
    "cpl_entries",
    metadata,
    _serial(),
    *_manufacturer_and_model(),
    Column("hw_min", Integer, nullable=False),
    Column("hw_max", Integer, nullable=False),
    _firmware_version(),
    _sha256("image_sha256"),
    _sha256("image_hash"),
    Column("status", String(10), nullable=False),
    _eui("assured_by"),
    _at("assured_at"),
    UniqueConstraint("manufacturer", "model", "hw_min", "hw_max", "firmware_version"),
)
Index("ix_cpl_sha", cpl_entries.c.image_sha256)

cpl_history = Table(
    "cpl_history",
    metadata,
    _serial(),
    Column("entry_id", Integer, ForeignKey("cpl_entries.id"), nullable=False),
    Column("status", String(10), nullable=False),
    _eui("by_user"),
    _at("at"),
    Column("note", String(200), nullable=False, default=""),
)

service_requests = Table(
    "service_requests",
    metadata,
    _request_id(primary_key=True),
    _eui("user_eui"),
    Column("counter", BigInteger, nullable=False),
    _srv(),
    _at("received_at"),
    Column("response_code", String(10), nullable=False),
    Column("device_count", Integer, nullable=False, default=0),
)
Index("ix_sr_user_time", service_requests.c.user_eui, service_requests.c.received_at)
Index("ix_sr_time", service_requests.c.received_at)
# anomaly detection counts a user's (or every user's) requests of one SRV, and the devices they
# named, in a window: covering indexes, so the count reads the index only
Index(
    "ix_sr_user_srv_time",
    service_requests.c.user_eui,
    service_requests.c.srv,
    service_requests.c.received_at,
    service_requests.c.device_count,
)
Index(
    "ix_sr_srv_time",
    service_requests.c.srv,
    service_requests.c.received_at,
    service_requests.c.device_count,
)

firmware_deliveries = Table(
    "firmware_deliveries",
    metadata,
    _serial(),
    _request_id(),
    _eui("device"),
    _eui("chf"),
    Column("region", String(10), nullable=False),
    _sha256("image_sha256"),
    _firmware_version(),
    Column("status", String(20), nullable=False),
    Column("active", Integer, nullable=False),  # 1 while in progress (one per device)
    _at("updated_at"),
    Column("reason", String(200), nullable=False, server_default=""),  # why it Failed
    _at("deadline", nullable=True),  # it fails ("timeout") if still active
    # when it reached each stage (the 11.4 deployment record, requirement 5)
    _at("distributed_at", nullable=True),
    _at("delivered_at", nullable=True),
    _at("transferred_at", nullable=True),
    _at("activated_at", nullable=True),
    _at("failed_at", nullable=True),
    UniqueConstraint("request_id", "device"),
)
Index("ix_fd_device_active", firmware_deliveries.c.device, firmware_deliveries.c.active)
# (request_id, device) is indexed by its unique constraint (migration 0006 dropped a copy)

firmware_warnings = Table(
    "firmware_warnings",
    metadata,
    _request_id(primary_key=True),
    _eui("device", primary_key=True),
    Column("list", String(40), nullable=False),  # a DSPUpdatePPMIDFirmwareWarning list name
)
"""The devices an 11.4 listed in its synchronous warning (W110401), by list."""

outbox = Table(
    "outbox",
    metadata,
    _serial(),
    Column("kind", String(10), nullable=False),  # "smwan" | "duis"
    Column("destination", String(100), nullable=False),  # Region value | user EUI text
    Column("payload", LargeBinary, nullable=False),
    _at("created_at"),
    _at("not_before"),
    Column("attempts", Integer, nullable=False, default=0),
    _at("sent_at", nullable=True),
    Column("claimed_by", String(64), nullable=True),  # the dispatcher holding it
    _at("claim_until", nullable=True),  # ... until its lease ends
    Column("alert_id", Integer, nullable=True),  # the alerts row this signed DCC alert is
    _request_id(nullable=True),  # the request a device response answers
)
Index("ix_outbox_pending", outbox.c.sent_at, outbox.c.not_before)
Index("ix_outbox_alert", outbox.c.alert_id)
Index("ix_outbox_request", outbox.c.request_id)

inbox = Table(
    "inbox",
    metadata,
    Column("msg_id", String(100), primary_key=True),
    _at("received_at"),
)

device_commands = Table(
    "device_commands",
    metadata,
    Column("msg_id", String(100), primary_key=True),  # SM WAN GbcsCommand msg_id
    _request_id(),
    _eui("user_eui"),
    _srv(),
    _eui("device"),
    _eui("chf"),
    Column("detail", String(200), nullable=False, default=""),
    _at("created_at"),
    _at("done_at", nullable=True),
    # a command awaiting its device's response is answered N58 at this time; pre-commands
    # (awaiting the user's signature, not a device) have none
    _at("expires_at", nullable=True),
)
Index("ix_commands_device", device_commands.c.device, device_commands.c.created_at)
Index("ix_commands_expiry", device_commands.c.expires_at)

alerts = Table(
    "alerts",
    metadata,
    _serial(),
    Column("code", String(10), nullable=False),
    _eui("device", nullable=True),
    _eui("user_eui"),
    _at("created_at"),
    Column("detail", String(200), nullable=False, default=""),
)
Index("ix_alerts_device", alerts.c.device, alerts.c.id)
Index("ix_alerts_user", alerts.c.user_eui, alerts.c.id)

# ------------------------------------------------------------------ the Self-Service Interface


def _login(*, primary_key: bool = False) -> Column[str]:
    """An SSI account's login name."""
    return Column("login", String(64), nullable=False, primary_key=primary_key)


ssi_accounts = Table(
    "ssi_accounts",
    metadata,
    _login(primary_key=True),
    Column("role", String(10), nullable=False),  # supplier | althanco | dcc
    _eui("user_eui", nullable=True),  # the DUIS user a supplier/AltHANCo acts for
    Column("password_hash", String(200), nullable=False),
    Column("session_key", String(32), nullable=False),  # changes: every session of it ends
    _at("created_at"),
)

ssi_signin_failures = Table(
    "ssi_signin_failures",
    metadata,
    _serial(),
    _login(),
    Column("client", String(64), nullable=False),
    _at("at"),
)
Index("ix_ssi_fail_login", ssi_signin_failures.c.login, ssi_signin_failures.c.at)
Index("ix_ssi_fail_client", ssi_signin_failures.c.client, ssi_signin_failures.c.at)

ssi_secrets = Table(
    "ssi_secrets",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(128), nullable=False),
)
"""The key that signs SSI session cookies, made once per store and shared by every process."""

# ------------------------------------------------------------------ anomaly detection

ad_thresholds = Table(
    "ad_thresholds",
    metadata,
    _serial(),
    _eui("user_eui", nullable=True),  # None: DCC-wide (all users together)
    _srv(),
    Column("max_requests", Integer, nullable=True),
    Column("max_devices", Integer, nullable=True),
    Column("window_s", Integer, nullable=False),
    _at("updated_at"),
)
Index("ix_adt_srv", ad_thresholds.c.srv)

ad_quarantine = Table(
    "ad_quarantine",
    metadata,
    _serial("ref"),  # QuarantineEventRef
    _request_id(unique=True),
    _eui("user_eui"),
    _srv(),
    Column("service", String(1), nullable=False),  # the DUIS web service: D, S or T
    Column("schema_version", String(10), nullable=False),
    Column("devices", Integer, nullable=False),  # devices the request names
    Column("breach", String(30), nullable=False),  # ADUserThresholdBreach | ADDCCThresholdBreach
    Column("reason", String(300), nullable=False),
    Column("status", String(12), nullable=False),
    _at("received_at"),
    _at("expires_at"),
    _at("decided_at", nullable=True),
    Column("outcome", String(10), nullable=True),  # the response code it was finally given
    Column("request_xml", LargeBinary, nullable=False),  # the signed request, as received
)
Index("ix_adq_status_expiry", ad_quarantine.c.status, ad_quarantine.c.expires_at)

# ------------------------------------------------------------------ records and reports

firmware_history = Table(
    "firmware_history",
    metadata,
    _serial(),
    _eui("device"),
    _firmware_version("previous_version", nullable=True),
    _firmware_version(),
    _at("at"),
    Column("source", String(20), nullable=False),  # althan.dsp.records.Source
    _request_id(nullable=True),  # the request that caused it
)
Index("ix_fh_device_at", firmware_history.c.device, firmware_history.c.at)
Index("ix_fh_at", firmware_history.c.at)

report_editions = Table(
    "report_editions",
    metadata,
    _serial("edition"),
    _at("generated_at"),
    Column("slot", BigInteger, nullable=True, unique=True),  # schedule slot (None: on demand)
    Column("content", Text, nullable=False),  # the edition as canonical JSON
    Column("document", LargeBinary, nullable=False),  # the signed XML delivered to AltHANCo
    _sha256("sha256"),  # of the document
)

intake_submissions = Table(
    "intake_submissions",
    metadata,
    _serial(),
    _eui("supplier"),
    Column("submission_ref", String(100), nullable=False),  # the supplier's own ID for it
    _at("received_at"),
    Column("media_type", String(40), nullable=False),
    _sha256("body_sha256"),
    Column("outcomes", Integer, nullable=False),
    UniqueConstraint("supplier", "submission_ref"),
)

intake_outcomes = Table(
    "intake_outcomes",
    metadata,
    Column("submission_id", Integer, ForeignKey("intake_submissions.id"), primary_key=True),
    Column("line", Integer, primary_key=True),
    _eui("device"),
    _firmware_version(),
    Column("outcome", String(10), nullable=False),  # success | failure
    _at("at"),
)
Index("ix_io_device", intake_outcomes.c.device)

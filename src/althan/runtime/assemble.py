"""Putting a DSP together from a data directory: store, images, DUIS schemas, keys, users.

Everything the DSP reads from outside its store (the SRV matrix and keystore of the npm peers,
the DUIS schemas, the ZAZ1 keys, device certificates) is loaded here, once, and handed in.
Used by `althan demo`, `althan serve` and the CLI commands that act on a data directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from althan.dsp import users
from althan.dsp.context import DspSettings, Services
from althan.dsp.duis_io import DuisIO
from althan.dsp.routes import Routes
from althan.dsp.service import Dsp
from althan.duis.peers import keystore_json
from althan.duis.schema import SchemaSet, find_tool_jar
from althan.duis.srv import SrvMatrix
from althan.duis.xmldsig import TrustStore
from althan.gbcs import Keystore
from althan.model import ALTHANCO_DEFAULT_EUI, DCC_EUI, EUI64, TEST_SUPPLIER_EUI, UserRole
from althan.runtime.keys import FleetKeys, with_keystore
from althan.smki.boxed_keystore import ds_public_keys
from althan.smki.device_pki import DevicePki
from althan.smki.zaz1 import Zaz1Keys, load_zaz1
from althan.store import ImageStore, open_engine, sqlite_url

NETWORK_OPERATOR_EUI = EUI64.parse("90-B3-D5-1F-30-02-00-00")
OTHER_USER_EUI = EUI64.parse("00-DB-12-34-56-78-00-04")
ZAZ1_TEST_USERS: tuple[tuple[EUI64, str, tuple[UserRole, ...]], ...] = (
    (TEST_SUPPLIER_EUI, "ZAZ1 test supplier", (UserRole.IS, UserRole.GS)),
    (NETWORK_OPERATOR_EUI, "ZAZ1 network operator", (UserRole.ED,)),
    (OTHER_USER_EUI, "ZAZ1 other user", (UserRole.OU,)),
)
"""The test users DCC Boxed knows (ZAZ1 XML-signing keys in the reference tool's jar)."""


@dataclass
class Assembly:
    dsp: Dsp
    keys: FleetKeys
    zaz1: Zaz1Keys
    dsp_trust: TrustStore
    """Trust store holding only the DSP's certificate: what users verify responses with."""


def build_dsp(
    data_dir: Path,
    *,
    db_url: str | None = None,
    seed: int = 0,
    schema_dirs: Sequence[Path | None] = (None,),
    device_cert_dirs: Sequence[Path] = (),
    settings: DspSettings | None = None,
) -> Assembly:
    """A DSP on `data_dir`. Device certificates (the DSP's view of the SMKI repository) come
    from the fleet's generated PKI, and first from any `device_cert_dirs` (folders of
    ``<eui>-ds.pem`` / ``<eui>-ka.pem``, such as the DCC's RTDS keystore)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_engine(db_url or sqlite_url(data_dir))
    zaz1 = load_zaz1(find_tool_jar())
    dsp_cert, dsp_key = zaz1[DCC_EUI]
    trust = TrustStore(zaz1.certificates())
    keys = FleetKeys(DevicePki.generate(seed))
    srvs = SrvMatrix.load()

    def registered_certificates() -> list[tuple[EUI64, x509.Certificate]]:
        with engine.connect() as conn:
            return users.certificates(conn)

    duis = DuisIO(
        SchemaSet.load(schema_dirs),
        srvs,
        trust,
        dsp_key,
        dsp_cert,
        trust_source=registered_certificates,
    )
    duis.learn_certificates()
    gbcs_keys = keys.dsp_keys()
    for d in device_cert_dirs:
        gbcs_keys = with_keystore(gbcs_keys, Keystore.load(d))
    user_keys = ds_public_keys(keystore_json())

    def user_ds_keys(eui: EUI64) -> tuple[ec.EllipticCurvePublicKey, ...]:
        return user_keys.get(eui, ())

    services = Services(
        images=ImageStore(data_dir / "images"),
        duis=duis,
        gbcs_keys=gbcs_keys,
        srvs=srvs,
        user_ds_keys=user_ds_keys,
        settings=settings or DspSettings(),
    )
    dsp = Dsp(engine, services, routes=Routes())
    return Assembly(dsp, keys, zaz1, TrustStore([(DCC_EUI, dsp_cert)]))


def register_test_users(a: Assembly, now: datetime, endpoint: str | None = None) -> None:
    """The ZAZ1 test users DCC Boxed knows, and AltHANCo; idempotent (an endpoint a user
    registered is kept unless `endpoint` is given)."""
    with a.dsp.engine.begin() as conn:
        for eui, name, roles in ZAZ1_TEST_USERS:
            users.register_user(conn, eui, name, roles, now, cert=a.zaz1[eui][0], endpoint=endpoint)
        users.register_user(
            conn, ALTHANCO_DEFAULT_EUI, "AltHANCo", [UserRole.OU], now, althanco=True
        )

"""ZigBee OTA upgrade files (ZCL OTA Upgrade cluster file format): parse, build and verify.

``header`` declares the header layout once (a field table); ``image`` reads and writes whole
files in their two body forms (ZigBee sub-elements, GBCS signed images) and unwraps vendor
containers; ``integrity`` checks GBCS signatures and the ZigBee image integrity code;
``errors`` holds the typed errors, each with the offset of the problem. Test images are made
by ``althan.zigbee.testimage``.
"""

from althan.zigbee.ota.errors import (
    OtaAmbiguousError,
    OtaBadHeaderLengthError,
    OtaBadMagicError,
    OtaBuildError,
    OtaError,
    OtaSizeMismatchError,
    OtaSubElementOverrunError,
    OtaTruncatedHeaderError,
    OtaTruncatedImageError,
    OtaWrapperError,
)
from althan.zigbee.ota.header import (
    FC_DEVICE_SPECIFIC_FILE,
    FC_HARDWARE_VERSIONS,
    FC_SECURITY_CREDENTIAL_VERSION,
    HEADER_FIELDS,
    HEADER_FIXED_LENGTH,
    OTA_MAGIC,
    HeaderField,
    OtaHeader,
    build_header,
    header_length_for,
    parse_header,
)
from althan.zigbee.ota.image import (
    GBCS_SIGNATURE_LENGTH_BYTE,
    GBCS_TRAILER,
    TAG_NAMES,
    Form,
    OtaImage,
    SubElement,
    build_ota,
    new_ota_image,
    parse_ota,
    tag_name,
)
from althan.zigbee.ota.integrity import (
    aes_mmo_hash,
    gbcs_signed_bytes,
    integrity_code_valid,
    sign_gbcs,
    verify_gbcs_signature,
)

__all__ = [
    "FC_DEVICE_SPECIFIC_FILE",
    "FC_HARDWARE_VERSIONS",
    "FC_SECURITY_CREDENTIAL_VERSION",
    "GBCS_SIGNATURE_LENGTH_BYTE",
    "GBCS_TRAILER",
    "HEADER_FIELDS",
    "HEADER_FIXED_LENGTH",
    "OTA_MAGIC",
    "TAG_NAMES",
    "Form",
    "HeaderField",
    "OtaAmbiguousError",
    "OtaBadHeaderLengthError",
    "OtaBadMagicError",
    "OtaBuildError",
    "OtaError",
    "OtaHeader",
    "OtaImage",
    "OtaSizeMismatchError",
    "OtaSubElementOverrunError",
    "OtaTruncatedHeaderError",
    "OtaTruncatedImageError",
    "OtaWrapperError",
    "SubElement",
    "aes_mmo_hash",
    "build_header",
    "build_ota",
    "gbcs_signed_bytes",
    "header_length_for",
    "integrity_code_valid",
    "new_ota_image",
    "parse_header",
    "parse_ota",
    "sign_gbcs",
    "tag_name",
    "verify_gbcs_signature",
]

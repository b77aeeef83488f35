"""The SSI's pages: ONE table, path → handler, methods and the roles that may use it.

`althan.ssi.app.create_ssi_app` serves exactly these (Starlette routes made from this table;
nothing is registered by importing a module). The paths are stable: tools and bookmarks rely
on ``/login``, ``/devices?q=…``, ``/devices/{EUI}``, ``/deployments``, ``/requests``,
``/reports`` and ``/cpl`` (under ``/ssi`` when the gateway mounts the SSI there).
"""

from __future__ import annotations

from typing import Final

from starlette.responses import Response

from althan.ssi import (
    audit,
    deployments,
    devices,
    held,
    inbox,
    interface,
    ops,
    outcomes,
    product_list,
    reporting,
    signin,
)
from althan.ssi.accounts import Role
from althan.ssi.web import Page, PageRequest

SUPPLIER, ALTHANCO, DCC = Role.SUPPLIER, Role.ALTHANCO, Role.DCC
REPORT_READERS = frozenset({ALTHANCO, DCC})
CPL_KEEPERS = frozenset({ALTHANCO})
OPERATORS = frozenset({DCC})
SUPPLIERS = frozenset({SUPPLIER})
POST = ("POST",)


def home(pr: PageRequest) -> Response:
    return pr.redirect("/devices")


PAGES: Final[tuple[Page, ...]] = (
    Page("/", home),
    Page("/login", signin.login_page, methods=("GET", "POST"), roles=None),
    Page("/logout", signin.logout, methods=POST),
    # 2. devices
    Page("/devices", devices.search_page),
    Page("/devices/{eui}", devices.device_page),
    # 3. firmware deployments (11.4)
    Page("/deployments", deployments.list_page),
    Page("/deployments/{request_id}", deployments.detail_page),
    Page("/deployments/{request_id}/progress", deployments.progress_fragment),
    # 4. requests and alerts, and the signed XML of each message
    Page("/requests", audit.requests_page),
    Page("/requests/{request_id}", audit.request_page),
    Page("/messages/{message_id:int}.xml", audit.message_download),
    Page("/messages/{message_id}", audit.message_page),
    # 5. reports
    Page("/reports", reporting.reports_page),
    Page("/reports/device-status.csv", reporting.status_csv),
    Page("/reports/deployed.csv", reporting.deployed_csv, roles=REPORT_READERS),
    Page("/reports/editions", inbox.inbox_page, roles=REPORT_READERS),
    Page("/reports/editions/{number:int}.xml", inbox.edition_xml, roles=REPORT_READERS),
    Page("/reports/editions/{number:int}", inbox.edition_page, roles=REPORT_READERS),
    # 5b. suppliers' upgrade outcomes for AltHANCo (requirement 3)
    Page("/outcomes", outcomes.outcomes_page),
    Page("/outcomes/submit", outcomes.submit, methods=POST, roles=SUPPLIERS, upload=True),
    Page("/outcomes/{submission:int}", outcomes.submission_page),
    # 6. the CPL (AltHANCo keeps it; everyone reads it)
    Page("/cpl", product_list.cpl_page),
    Page("/cpl/upload", product_list.upload, methods=POST, roles=CPL_KEEPERS, upload=True),
    Page("/cpl/uploads/{sha256}", product_list.uploaded, roles=CPL_KEEPERS),
    Page("/cpl/uploads/{sha256}/register", product_list.register, methods=POST, roles=CPL_KEEPERS),
    Page("/cpl/uploads/{sha256}/discard", product_list.discard, methods=POST, roles=CPL_KEEPERS),
    Page("/cpl/{entry_id}/withdraw", product_list.withdraw, methods=POST, roles=CPL_KEEPERS),
    # 7. DUIS interface settings
    Page("/interface", interface.show),
    Page("/interface/endpoint", interface.set_endpoint, methods=POST),
    Page("/interface/test-alert", interface.test_alert, methods=POST),
    # 8. DCC operations
    Page("/ops", ops.ops_page, roles=OPERATORS),
    Page("/ops/quarantine/{ref}/release", held.release, methods=POST, roles=OPERATORS),
    Page("/ops/quarantine/{ref}/reject", held.reject, methods=POST, roles=OPERATORS),
)
"""Every page of the SSI."""

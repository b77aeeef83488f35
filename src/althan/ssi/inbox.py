"""Pages: AltHANCo's inbox of the DCC's deployed-versions report (business requirement 4).
Every edition the DSP published (`althan.reports.editions`), newest first; one edition's
content; and the signed XML document exactly as it was delivered — the bytes `althan report
--edition N --xml` prints.
"""

from __future__ import annotations

from starlette.responses import Response

from althan.reports import editions
from althan.ssi.web import PageRequest


def inbox_page(pr: PageRequest) -> Response:
    with pr.portal.engine.connect() as conn:
        found = editions.all_editions(conn)
    return pr.render("editions.html.j2", editions=[e.summary() for e in reversed(found)])


def _edition(pr: PageRequest) -> editions.Edition | None:
    number = int(pr.path_param("number"))
    with pr.portal.engine.connect() as conn:
        return editions.get(conn, number)


def edition_page(pr: PageRequest) -> Response:
    e = _edition(pr)
    if e is None:
        return pr.problem(
            404, "No such edition", "The DSP has published no edition by that number."
        )
    return pr.render("edition.html.j2", e=e.summary(), data=e.data)


def edition_xml(pr: PageRequest) -> Response:
    e = _edition(pr)
    if e is None:
        return pr.problem(
            404, "No such edition", "The DSP has published no edition by that number."
        )
    return Response(
        e.document,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="edition-{e.edition}.xml"'},
    )

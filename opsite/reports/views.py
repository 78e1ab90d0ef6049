"""The generated report at ``/leadership/reports/``: the form, the web page, the MyST zip, the PDF.

Who may open it is exactly who may open the dashboard (its ``leadership_only``: Finance,
Leadership, superusers; anyone else logged in gets 403, an anonymous visitor the login page),
since a grant's budget vs actual shows what its people cost. No answer may be kept by a shared
cache.
"""

from __future__ import annotations

import base64

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from funding.currency import MissingExchangeRate
from opsite.dashboard.views import leadership_only, private

from .document import Report, build_report, myst_zip
from .forms import ReportForm

FORM_TEMPLATE = "leadership/report_form.html"


def _form_page(request: HttpRequest, form: ReportForm, status: int = 200) -> HttpResponse:
    return render(request, FORM_TEMPLATE, {"form": form}, status=status)


def _links(request: HttpRequest) -> dict[str, str]:
    """The same report's address in each format."""
    query = request.GET.copy()
    links = {}
    for name in ("html", "myst", "pdf"):
        if name == "html":
            query.pop("format", None)
        else:
            query["format"] = name
        links[name] = f"{request.path}?{query.urlencode()}"
    return links


@require_GET
@private
@leadership_only
def report(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    if not request.GET:
        return _form_page(request, ReportForm(today=today))
    form = ReportForm(request.GET, today=today)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    data = form.cleaned_data
    try:
        built = build_report(start=data["start"], end=data["end"], grant=data["grant"], today=today)
    except MissingExchangeRate as error:
        form.add_error(None, error.messages)
        return _form_page(request, form, status=400)
    output = data["format"] or "html"
    if output == "myst":
        return _download(myst_zip(built), "application/zip", f"{built.basename}.zip")
    if output == "pdf":
        return _pdf(built)
    context = {"report": built, "form": form, "links": _links(request)}
    return render(request, "leadership/report.html", context)


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _pdf(built: Report) -> HttpResponse:
    try:
        # Imported here: WeasyPrint loads Pango and HarfBuzz, which only the PDF needs.
        from weasyprint import HTML, URLFetcher
    except OSError:
        return HttpResponse(
            "The PDF cannot be made on this server: WeasyPrint's system libraries (Pango) are missing.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    figures = [(chart, _data_uri(chart.svg)) for chart in built.charts]
    html = render_to_string("leadership/report_print.html", {"report": built, "figures": figures})
    # The print page is self-contained (its figures are data URIs): any other address is refused
    # rather than fetched by the server.
    fetcher = URLFetcher(allowed_protocols={"data"})
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    return _download(pdf, "application/pdf", f"{built.basename}.pdf")

"""The report form: a grant (its period) or a date range, and the output format.

Read from the query string, so a report has an address that can be bookmarked and shared among
those allowed to open it. The range is bounded: it may not end after today (figures of days to
come are not known) and spans at most ``MAX_YEARS`` years, which bounds the work one request asks
for (the usage samples are read a month-end at a time).
"""

from __future__ import annotations

from datetime import date

from django import forms

from opsite.core.dates import PlausibleDateValidator
from opsite.dashboard.summary import format_day

from .figures import report_grants

MAX_YEARS = 10
FORMATS = (("html", "Web page"), ("myst", "MyST Markdown (zip)"), ("pdf", "PDF"))


class ReportForm(forms.Form):
    grant = forms.ModelChoiceField(
        queryset=report_grants(),
        required=False,
        to_field_name="reference",
        empty_label="Choose a grant",
        help_text="An awarded grant: the report covers its period, up to today.",
    )
    start = forms.DateField(
        required=False, validators=[PlausibleDateValidator()], help_text="First day, YYYY-MM-DD."
    )
    end = forms.DateField(
        required=False, validators=[PlausibleDateValidator()], help_text="Last day, YYYY-MM-DD."
    )
    format = forms.ChoiceField(choices=FORMATS, required=False)

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        # A fresh queryset for each form: grants awarded since the module was imported are offered.
        self.fields["grant"].queryset = report_grants()
        self.fields["grant"].label_from_instance = lambda grant: f"{grant.reference}: {grant.title}"

    def clean(self):
        data = super().clean()
        grant, start, end = data.get("grant"), data.get("start"), data.get("end")
        if self.errors:
            return data
        if grant is not None:
            if start or end:
                raise forms.ValidationError("Choose a grant or a date range, not both.")
            if grant.start_on > self.today:
                self.add_error(
                    "grant", f"This grant starts on {format_day(grant.start_on)}: it has no figures yet."
                )
                return data
            data["start"], data["end"] = grant.start_on, min(grant.end_on, self.today)
            return data
        if start is None and end is None:
            raise forms.ValidationError("Choose a grant, or give the first and last day of a range.")
        if start is None:
            self.add_error("start", "Give the first day of the range.")
        if end is None:
            self.add_error("end", "Give the last day of the range.")
        if start is None or end is None:
            return data
        if start > end:
            self.add_error(
                "end", f"The last day ({format_day(end)}) is before the first day ({format_day(start)})."
            )
        elif end > self.today:
            self.add_error("end", f"The last day may not be after today ({format_day(self.today)}).")
        elif (end - start).days >= 366 * MAX_YEARS:
            self.add_error("end", f"A report covers at most {MAX_YEARS} years.")
        return data

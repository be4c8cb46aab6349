"""The monitor's filter form: the keys of ``monitor.filters`` as fields a supervisor fills in."""

from __future__ import annotations

from typing import Any

from django import forms

from monitor.filters import STATUSES, WAIT_KINDS

STATUS_CHOICES = [(name, name.replace("_", " ").capitalize()) for name in STATUSES]
WAIT_CHOICES = [("", "Anything")] + [(name, name.replace("_", " ").capitalize()) for name in WAIT_KINDS]


class FilterForm(forms.Form):
    process = forms.ChoiceField(required=False)
    version = forms.IntegerField(required=False, min_value=1)
    status = forms.MultipleChoiceField(required=False, choices=STATUS_CHOICES, widget=forms.CheckboxSelectMultiple)
    state = forms.CharField(required=False, max_length=200, label="Current state")
    waiting_on = forms.ChoiceField(required=False, choices=WAIT_CHOICES, label="Waiting on")
    waiting_user = forms.CharField(required=False, max_length=150, label="Work item with user")
    waiting_workgroup = forms.ChoiceField(required=False, label="Work item in workgroup")
    started_by = forms.CharField(required=False, max_length=150, label="Started by")
    started_after = forms.DateTimeField(required=False, label="Started after (UTC)",
                                        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    started_before = forms.DateTimeField(required=False, label="Started before (UTC)",
                                         widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    waiting_longer_than = forms.IntegerField(required=False, min_value=0, label="Unchanged for more than (min)")
    error = forms.CharField(required=False, max_length=200, label="Error message contains")
    q = forms.CharField(required=False, max_length=200, label="Instance id or interaction reference")

    def __init__(self, *args: Any, processes: list[str], workgroups: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["process"].choices = [("", "Any process")] + [(name, name) for name in processes]
        self.fields["waiting_workgroup"].choices = [("", "Any")] + [(name, name) for name in workgroups]

    def filter_data(self) -> dict[str, Any]:
        """The cleaned fields as a filter for ``monitor.filters.parse_filter`` (empty ones left out)."""
        data: dict[str, Any] = {}
        for key, value in self.cleaned_data.items():
            if value in (None, "", []):
                continue
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            data[key] = value
        return data


def form_initial(data: dict[str, Any]) -> dict[str, Any]:
    """A saved filter as the form's initial values (date-times without their zone, for the inputs)."""
    initial = dict(data)
    for key in ("started_after", "started_before"):
        if initial.get(key):
            initial[key] = initial[key].replace("Z", "")[:16]
    return initial

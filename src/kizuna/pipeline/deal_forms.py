"""The forms that create and edit a deal.

They only read what a person typed: the rules (required fields per stage, readable values,
contacts of the deal's account) are applied by :mod:`kizuna.pipeline.actions`, so the form,
the board, the API and the importers refuse the same things with the same messages. That is
why a stage's own fields are never required here: the action names what is missing.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from kizuna.crm.models import Account, ChurnReason, Contact
from kizuna.pipeline.defaults import DEAL_FIELDS
from kizuna.pipeline.models import Deal, LostReason, Pipeline, Stage
from kizuna.pipeline.stage_rules import field_label

# Deal fields the form always shows; a stage's other required fields are added per stage.
CORE_FIELDS = ("amount_mrr", "one_off_amount", "source", "plan")
# Stage-field values travel as typed text; the action parses them (dates, amounts, terms).
INPUT_TYPES = {"date": "date", "int": "number", "decimal": "number", "str": "text"}
REASONS: dict[str, type[LostReason] | type[ChurnReason]] = {
    "lost_reason": LostReason,
    "churn_reason": ChurnReason,
}


def _choice(field: forms.Field) -> forms.ChoiceField:
    assert isinstance(field, forms.ChoiceField)
    return field


class DealStartForm(forms.Form):
    """Step one when the page was opened without them: which account and which pipeline."""

    account = forms.TypedChoiceField(label=_("Account"), coerce=int)
    pipeline = forms.ChoiceField(label=_("Pipeline"))

    def __init__(self, data: Any, accounts: QuerySet[Account]) -> None:
        super().__init__(data)
        _choice(self.fields["account"]).choices = [("", "—")] + [
            (str(pk), name) for pk, name in accounts.order_by("name").values_list("pk", "name")
        ]
        _choice(self.fields["pipeline"]).choices = list(
            Pipeline.objects.order_by("order", "pk").values_list("key", "name")
        )


def stage_field(key: str) -> forms.Field:
    """A form field for stage field ``key``, typed for the browser, read by the action."""
    if key in REASONS:
        choices = [("", "—"), *((str(v), str(label)) for v, label in REASONS[key].choices)]
        return forms.ChoiceField(label=field_label(key), choices=choices, required=False)
    known = DEAL_FIELDS.get(key)
    kind = known.kind if known is not None else "str"
    attrs = {"type": INPUT_TYPES[kind]}
    if kind in ("int", "decimal"):
        attrs |= {"min": "0", "step": "1" if kind == "int" else "any", "inputmode": "decimal"}
    return forms.CharField(
        label=field_label(key), required=False, widget=forms.TextInput(attrs=attrs)
    )


class DealForm(forms.Form):
    """A deal of one account in one pipeline: its core fields, then its stage's fields."""

    title = forms.CharField(label=_("Title"), max_length=200)
    stage = forms.ChoiceField(label=_("Stage"))
    amount_mrr = forms.CharField(
        label=_("MRR (new, added or renewed)"),
        required=False,
        widget=forms.TextInput(attrs={"type": "number", "min": "0", "step": "any"}),
    )
    one_off_amount = forms.CharField(
        label=_("One-off amount"),
        required=False,
        widget=forms.TextInput(attrs={"type": "number", "min": "0", "step": "any"}),
    )
    currency = forms.CharField(
        label=_("Currency"),
        max_length=3,
        widget=forms.TextInput(attrs={"size": "4", "autocapitalize": "characters"}),
    )
    owner = forms.TypedChoiceField(label=_("Owner"), coerce=int, required=False, empty_value=None)
    close_date = forms.DateField(
        label=_("Expected close date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    source = forms.CharField(label=_("Lead source / channel"), max_length=50, required=False)
    product = forms.CharField(label=_("Product"), max_length=50, required=False)
    plan = forms.CharField(label=_("Plan"), max_length=50, required=False)
    contacts: forms.ModelMultipleChoiceField[Contact] = forms.ModelMultipleChoiceField(
        label=_("Contacts"),
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        data: Any,
        *,
        account: Account,
        pipeline: Pipeline,
        initial: dict[str, Any] | None = None,
        stage_editable: bool = True,
    ) -> None:
        super().__init__(data, initial=initial)
        self.account = account
        self.pipeline = pipeline
        self.stages = list(pipeline.stages.order_by("order", "pk"))
        stage = _choice(self.fields["stage"])
        stage.choices = [(s.key, s.name) for s in self.stages]
        if not stage_editable:
            del self.fields["stage"]
        people = get_user_model().objects.filter(is_active=True).order_by("username")
        _choice(self.fields["owner"]).choices = [("", "—")] + [
            (str(pk), name) for pk, name in people.values_list("pk", "username")
        ]
        contacts = self.fields["contacts"]
        assert isinstance(contacts, forms.ModelMultipleChoiceField)
        contacts.queryset = account.contacts.order_by("name")
        self.stage_keys = self._stage_keys(data)
        for key in self.stage_keys:
            self.fields[key] = stage_field(key)

    def selected_stage(self, data: Any) -> Stage:
        key = (data.get("stage") if data else None) or self.initial.get("stage")
        return next((s for s in self.stages if s.key == key), self.stages[0])

    def _stage_keys(self, data: Any) -> list[str]:
        """The selected stage's required fields the core fields leave out, then any other
        stage field that was sent (so a refused form keeps what was typed)."""
        keys = [k for k in self.selected_stage(data).required_fields if k not in CORE_FIELDS]
        sent = [k for k in DEAL_FIELDS if data and data.get(k) and k not in CORE_FIELDS]
        return list(dict.fromkeys([*keys, *sent]))

    def stage_values(self) -> dict[str, Any]:
        """The deal-field values to hand to the action; a blank one empties its field."""
        return {key: self.cleaned_data.get(key) for key in [*CORE_FIELDS, *self.stage_keys]}

    @property
    def core(self) -> list[forms.BoundField]:
        return [self[name] for name in self.base_fields if name in self.fields]

    @property
    def for_stage(self) -> list[forms.BoundField]:
        return [self[key] for key in self.stage_keys]


def initial_for(deal: Deal) -> dict[str, Any]:
    """The edit form's starting values: the deal as it is."""
    values: dict[str, Any] = {
        "title": deal.title,
        "stage": deal.stage.key,
        "amount_mrr": deal.amount_mrr,
        "one_off_amount": deal.one_off_amount or "",
        "currency": deal.currency,
        "owner": deal.owner_id,
        "close_date": deal.close_date,
        "source": deal.source,
        "product": deal.product,
        "plan": deal.plan,
        "contacts": list(deal.contacts.values_list("pk", flat=True)),
    }
    values |= {key: value for key, value in deal.details.items() if key in DEAL_FIELDS}
    for key in ("contract_months", "effective_date", "trial_start"):
        if getattr(deal, key) is not None:
            values[key] = getattr(deal, key)
    return values

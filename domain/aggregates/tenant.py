"""Tenant: a customer billed in one currency under a price plan; may be suspended."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.aggregates.copying import copy_containers
from domain.checks import decimal_in_range, text
from domain.errors import InvalidInput, InvalidTransition
from domain.money import check_currency, check_rate, to_decimal
from domain.reference import gpu_model


def check_plan(rates: object, cancellation_fee_share: object) -> tuple[dict[str, Decimal], Decimal]:
    """A plan: a positive rate per GPU-hour for each GPU model it covers, and the share of the
    released hours' value charged as a fee on cancellation (0 to 1)."""
    if not isinstance(rates, Mapping) or not rates:
        raise InvalidInput("rates: give a rate per GPU-hour for at least one GPU model", field="rates")
    checked = {gpu_model(model, field="rates").code: check_rate(rate, field=f"rates.{model}")
               for model, rate in rates.items()}
    share = decimal_in_range(cancellation_fee_share, field="cancellation_fee_share", low=Decimal(0), high=Decimal(1))
    return checked, share


V1_CANCELLATION_FEE_SHARE = Decimal("0.25")  # the fixed fee share before plans could set it
DEFAULT_PAYMENT_TERMS_DAYS = 30  # net days to pay an invoice, until terms are set
MAX_PAYMENT_TERMS_DAYS = 365


def check_net_days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PAYMENT_TERMS_DAYS:
        raise InvalidInput(f"net_days: expected a whole number of days from 0 to {MAX_PAYMENT_TERMS_DAYS}, "
                           f"got {value!r}", field="net_days")
    return value


class Tenant(Aggregate):
    TOPIC = "ledger:Tenant"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:Tenant.Created"

    class Registered(Aggregate.Created):
        """Version 2 added ``cancellation_fee_share``; version-1 events (stored without it, and
        without a ``class_version``) are upcast to the share every plan had then, 0.25."""

        TOPIC = "ledger:Tenant.Registered"
        class_version = 2

        name: str
        billing_currency: str
        rates: dict[str, Decimal]
        cancellation_fee_share: Decimal

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["cancellation_fee_share"] = V1_CANCELLATION_FEE_SHARE

    @event(Registered)
    def __init__(self, name: str, billing_currency: str, rates: dict[str, Decimal],
                 cancellation_fee_share: Decimal, id: UUID | None = None) -> None:  # the caller's id, else uuid4
        self.name = name
        self.billing_currency = billing_currency
        self.rates = rates
        self.cancellation_fee_share = cancellation_fee_share
        self.suspended = False
        self.on_demand_rates: dict[str, Decimal] = {}
        self.contract_ids: list[UUID] = []
        self.payment_terms_days = DEFAULT_PAYMENT_TERMS_DAYS
        # The tax treatment (``tax``): exempt at 0 until one is set.
        self.tax_treatment, self.tax_rate, self.tax_name = EXEMPT.treatment, EXEMPT.rate, EXEMPT.tax_name
        self.vat_number: str | None = None

    def __deepcopy__(self, memo: dict[int, object]) -> Tenant:
        # Every attribute is immutable or a container of immutable values that an event replaces
        # whole (rates, on-demand rates, contract ids), so copying the containers is a deep copy:
        # every booking reads its tenant's copy (~4 % of a POST's CPU with the generic deepcopy).
        return copy_containers(self)

    @classmethod
    def register(cls, *, name: object, billing_currency: object, rates: object,
                 cancellation_fee_share: object = Decimal("0.25"), tenant_id: UUID | None = None) -> Tenant:
        checked_rates, share = check_plan(rates, cancellation_fee_share)
        return cls(text(name, field="name"), check_currency(billing_currency, field="billing_currency"),
                   checked_rates, share, id=tenant_id)

    def change_plan(self, *, rates: object, cancellation_fee_share: object) -> None:
        """New rates apply to reservations confirmed from now on; confirmed ones keep theirs."""
        checked_rates, share = check_plan(rates, cancellation_fee_share)
        self._plan_changed(checked_rates, share)

    class PlanChanged(Aggregate.Event):
        TOPIC = "ledger:Tenant.PlanChanged"
        rates: dict[str, Decimal]
        cancellation_fee_share: Decimal

    @event(PlanChanged)
    def _plan_changed(self, rates: dict[str, Decimal], cancellation_fee_share: Decimal) -> None:
        self.rates = rates
        self.cancellation_fee_share = cancellation_fee_share

    def rate_for(self, model: str) -> Decimal:
        try:
            return self.rates[model]
        except KeyError:
            raise InvalidInput(f"model: tenant {self.name!r}'s plan has no rate for {model}", field="model") from None

    def suspend(self, *, reason: object) -> None:
        if self.suspended:
            raise InvalidTransition(f"tenant {self.name!r} is already suspended")
        self._suspended(text(reason, field="reason"))

    class Suspended(Aggregate.Event):
        TOPIC = "ledger:Tenant.Suspended"
        reason: str

    @event(Suspended)
    def _suspended(self, reason: str) -> None:
        self.suspended = True

    def reinstate(self) -> None:
        if not self.suspended:
            raise InvalidTransition(f"tenant {self.name!r} is not suspended")
        self._reinstated()

    class Reinstated(Aggregate.Event):
        TOPIC = "ledger:Tenant.Reinstated"

    @event(Reinstated)
    def _reinstated(self) -> None:
        self.suspended = False

    # ---- commercial terms (on-demand rates, contracts) -------------------------------------

    def set_on_demand_rates(self, *, rates: object) -> None:
        """The plan's second rate table: on-demand rates per GPU-hour, locked at confirmation of
        an on-demand reservation (confirmed ones keep theirs)."""
        if not isinstance(rates, Mapping) or not rates:
            raise InvalidInput("on_demand_rates: give a rate per GPU-hour for at least one GPU model",
                               field="on_demand_rates")
        checked = {gpu_model(model, field="on_demand_rates").code: check_rate(rate, field=f"on_demand_rates.{model}")
                   for model, rate in rates.items()}
        self._on_demand_rates_set(checked)

    class OnDemandRatesSet(Aggregate.Event):
        TOPIC = "ledger:Tenant.OnDemandRatesSet"
        rates: dict[str, Decimal]

    @event(OnDemandRatesSet)
    def _on_demand_rates_set(self, rates: dict[str, Decimal]) -> None:
        self.on_demand_rates = rates

    def on_demand_rate_for(self, model: str) -> Decimal:
        try:
            return self.on_demand_rates[model]
        except KeyError:
            raise InvalidInput(f"pricing: tenant {self.name!r}'s plan has no on-demand rate for {model}",
                               field="pricing") from None

    class ContractSigned(Aggregate.Event):
        TOPIC = "ledger:Tenant.ContractSigned"
        contract_id: UUID

    @event(ContractSigned)
    def contract_signed(self, contract_id: UUID) -> None:
        self.contract_ids = [*self.contract_ids, contract_id]

    # ---- payment terms ----------------------------------------------------------------------

    def set_payment_terms(self, *, net_days: object) -> None:
        """Net days to pay: invoices issued from now on are due their issue date plus these."""
        self._payment_terms_set(check_net_days(net_days))

    class PaymentTermsSet(Aggregate.Event):
        TOPIC = "ledger:Tenant.PaymentTermsSet"
        net_days: int

    @event(PaymentTermsSet)
    def _payment_terms_set(self, net_days: int) -> None:
        self.payment_terms_days = net_days

    # ---- tax --------------------------------------------------------------------------------

    def set_tax_treatment(self, *, treatment: object, rate: object = None, tax_name: object = "VAT",
                          vat_number: object = None) -> None:
        """How the tenant's invoices issued from now on are taxed (docs/finance.md, *Tax*)."""
        checked = check_tax_treatment(treatment=treatment, rate=rate, tax_name=tax_name, vat_number=vat_number)
        self._tax_treatment_set(*checked)

    class TaxTreatmentSet(Aggregate.Event):
        TOPIC = "ledger:Tenant.TaxTreatmentSet"
        treatment: str
        rate: Decimal
        tax_name: str
        vat_number: str | None

    @event(TaxTreatmentSet)
    def _tax_treatment_set(self, treatment: str, rate: Decimal, tax_name: str, vat_number: str | None) -> None:
        self.tax_treatment, self.tax_rate, self.tax_name, self.vat_number = treatment, rate, tax_name, vat_number

    @property
    def tax(self) -> TaxTreatment:
        """The tax treatment in force for invoices issued now."""
        return TaxTreatment(self.tax_treatment, self.tax_rate, self.tax_name, self.vat_number)


TAX_TREATMENTS = ("standard", "reverse_charge", "exempt")
MAX_TAX_RATE = Decimal(1)


@dataclass(frozen=True)
class TaxTreatment:
    treatment: str  # standard | reverse_charge | exempt
    rate: Decimal  # 0 unless standard
    tax_name: str  # VAT, MVA, ...
    vat_number: str | None


EXEMPT = TaxTreatment("exempt", Decimal(0), "VAT", None)


def check_tax_treatment(*, treatment: object, rate: object, tax_name: object,
                        vat_number: object) -> tuple[str, Decimal, str, str | None]:
    """A tax treatment: ``standard`` needs a rate above 0 and at most 1 (0.20 is 20 %, at most 4
    decimal places); ``reverse_charge`` and ``exempt`` have rate 0 (none given, or 0)."""
    if treatment not in TAX_TREATMENTS:
        raise InvalidInput(f"treatment: expected one of {', '.join(TAX_TREATMENTS)}, got {treatment!r}",
                           field="treatment")
    if treatment == "standard":
        if rate is None:
            raise InvalidInput("rate: a standard treatment needs a rate (0.20 for 20 %)", field="rate")
        checked = decimal_in_range(rate, field="rate", low=Decimal(0), high=MAX_TAX_RATE)
        if checked == 0:
            raise InvalidInput("rate: a standard rate is above 0 (use exempt or reverse_charge for none)",
                               field="rate")
    else:
        checked = Decimal(0) if rate is None else to_decimal(rate, field="rate")
        if checked != 0:
            raise InvalidInput(f"rate: {treatment} has rate 0, got {checked}", field="rate")
    if checked != checked.quantize(Decimal("0.0001")):
        raise InvalidInput(f"rate: at most 4 decimal places, got {checked}", field="rate")
    name = text(tax_name, field="tax_name")
    if len(name) > 16:
        raise InvalidInput(f"tax_name: at most 16 characters, got {name!r}", field="tax_name")
    number = None if vat_number is None or vat_number == "" else text(vat_number, field="vat_number")
    if number is not None and (len(number) > 32 or not number.replace(" ", "").isalnum()):
        raise InvalidInput(f"vat_number: letters and digits, at most 32, got {number!r}", field="vat_number")
    return str(treatment), checked, name, number

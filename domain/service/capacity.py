"""Commands on capacity: sites, funding rounds, supply orders and GPU pools."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from domain.aggregates import FundingRound, GpuPool, Site, SupplyOrder, pool_id
from domain.attachments import NO_CONTEXT, CommandContext
from domain.checks import text, uuid_of
from domain.errors import InvalidInput, NotFound
from domain.reference import gpu_model
from domain.service.core import LedgerCore
from domain.service.receipts import Written
from domain.timeutil import check_utc


class CapacityCommands(LedgerCore):
    # ---- sites ----------------------------------------------------------------------------

    def register_site(self, *, name: object, country: object, grid_intensity_g_per_kwh: object, pue: object,
                      carbon_free_share: object, effective_from: object, factor_source: object = "operator",
                      site_id: object = None, context: CommandContext = NO_CONTEXT) -> Written:
        site = Site.register(name=name, country=country, grid_intensity_g_per_kwh=grid_intensity_g_per_kwh,
                             pue=pue, carbon_free_share=carbon_free_share, effective_from=effective_from,
                             factor_source=factor_source, site_id=self._new_id(site_id, field="site_id"))
        return Written(site.id, self._save(context, site))

    def revise_site(self, site_id: object, *, effective_from: object, grid_intensity_g_per_kwh: object, pue: object,
                    carbon_free_share: object, factor_source: object = "operator",
                    context: CommandContext = NO_CONTEXT) -> Written:
        return self._update(context, lambda: self.get_site(site_id), lambda site: site.revise(
            effective_from=effective_from, grid_intensity_g_per_kwh=grid_intensity_g_per_kwh, pue=pue,
            carbon_free_share=carbon_free_share, factor_source=factor_source))

    # ---- funding --------------------------------------------------------------------------

    def open_funding_round(self, *, name: object, currency: object, opened_at: object, round_id: object = None,
                           context: CommandContext = NO_CONTEXT) -> Written:
        funding_round = FundingRound.open(name=name, currency=currency, opened_at=opened_at,
                                          round_id=self._new_id(round_id, field="round_id"))
        return Written(funding_round.id, self._save(context, funding_round))

    def record_commitment(self, round_id: object, *, investor: object, amount: object, currency: object,
                          equity_percent: object = Decimal(0), context: CommandContext = NO_CONTEXT) -> Written:
        return self._update(context, lambda: self.get_funding_round(round_id),
                            lambda funding_round: funding_round.commit(
            investor=investor, amount=amount, currency=currency, equity_percent=equity_percent))

    def record_tranche(self, round_id: object, *, investor: object, amount: object, currency: object,
                       received_at: object, context: CommandContext = NO_CONTEXT) -> Written:
        return self._update(context, lambda: self.get_funding_round(round_id),
                            lambda funding_round: funding_round.receive(
            investor=investor, amount=amount, currency=currency, received_at=received_at))

    # ---- supply ---------------------------------------------------------------------------

    def place_supply_order(self, *, funding_round_id: object, site_id: object, model: object, quantity: object,
                           unit_price: object, currency: object, placed_at: object,
                           supplier: object = "NVIDIA", order_id: object = None,
                           context: CommandContext = NO_CONTEXT) -> Written:
        """Place an order paid from a round: the order and the round's capex commitment are
        saved together, and refused if the round has not received enough uncommitted funds."""
        code = gpu_model(model).code
        qty, price, cur = SupplyOrder.check_terms(quantity=quantity, unit_price=unit_price, currency=currency)
        when = check_utc(placed_at, field="placed_at")
        supplier_name = text(supplier, field="supplier")
        site = self.get_site(site_id)
        chosen = self._new_id(order_id, field="order_id")

        def unit() -> Written:
            funding_round = self.get_funding_round(funding_round_id)
            if funding_round.currency != cur:
                raise InvalidInput(f"currency: the order is in {cur} but round {funding_round.name!r} is in "
                                   f"{funding_round.currency}", field="currency")
            order = SupplyOrder(funding_round.id, site.id, code, qty, price, cur, when, supplier_name, id=chosen)
            funding_round.commit_capex(supply_order_id=order.id, amount=order.total)
            return Written(order.id, self._save(context, order, funding_round))
        return self._retrying(unit)

    def record_delivery(self, order_id: object, *, quantity: object, delivered_at: object,
                        context: CommandContext = NO_CONTEXT) -> Written:
        return self._update(context, lambda: self.get_supply_order(order_id),
                            lambda order: order.deliver(quantity=quantity, delivered_at=delivered_at))

    def commission(self, order_id: object, *, quantity: object, commissioned_at: object,
                   context: CommandContext = NO_CONTEXT) -> Written:
        """Put delivered GPUs into service in the order's site pool (order + pool, atomically)."""
        placed = self.get_supply_order(order_id)  # its site and model never change: they pick the lock

        def unit() -> Written:
            order = self.get_supply_order(order_id)
            qty, when = order.commission(quantity=quantity, commissioned_at=commissioned_at)
            pool = self._pool_or_new(order.site_id, order.model)
            pool.commission(quantity=qty, at=when, supply_order_id=order.id)
            return Written(order.id, self._save(context, order, pool))
        return self._retrying(unit, pool=pool_id(placed.site_id, placed.model))

    def decommission(self, *, site_id: object, model: object, quantity: object, at: object, reason: object,
                     context: CommandContext = NO_CONTEXT) -> Written:
        """Take GPUs out of service (failure, retirement); refused if it would overbook."""
        site = uuid_of(site_id, field="site_id")
        code = gpu_model(model).code

        def unit() -> Written:
            pool = self.get_pool(site, code)
            pool.decommission(quantity=quantity, at=at, reason=reason)
            return Written(pool.id, self._save(context, pool))
        return self._retrying(unit, pool=pool_id(site, code))

    def _pool_or_new(self, site_id: UUID, model: str) -> GpuPool:
        try:
            return self.get_pool(site_id, model)
        except NotFound:
            return GpuPool(site_id=site_id, model=model)

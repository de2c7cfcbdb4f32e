"""How many shares ``set_holdings(symbol, percent)`` orders (reference/lean-engine.md §3.2).

LEAN sizes in margin terms, in exact decimals:

1. the target percent keeps a free-cash buffer: ``adj = p x (TPV - 0.0025 TPV) / TPV``;
2. it is divided by the leverage: ``b = adj / L`` and the target margin is ``T = b x TPV``;
3. no order when ``|T - h P / L| < 0.001 TPV`` (the minimum order margin);
4. ``q = floor(-h + T / (P / L))`` (ceil when the target is short), stepped back a lot at a time
   while the final margin exceeds T; then the fee of q is taken out of the TPV (``T = (TPV - fee) b``)
   and the quantity is recomputed until the final margin fits. Reaching the same q twice is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from orchestrator.engine.fees import interactive_brokers_fee
from orchestrator.errors import AlgorithmError

FREE_PORTFOLIO_VALUE_PERCENTAGE = Decimal("0.0025")
MINIMUM_ORDER_MARGIN_PORTFOLIO_PERCENTAGE = Decimal("0.001")
ZERO = Decimal(0)
LOT_SIZE = 1


def _round_to_lot(quantity: Decimal, short_target: bool) -> int:
    rounding = ROUND_CEILING if short_target else ROUND_FLOOR
    return int(quantity.to_integral_value(rounding=rounding))


def _amount_to_order(holding: int, target_margin: Decimal, unit_margin: Decimal) -> tuple[int, Decimal]:
    """LEAN's GetAmountToOrder: the delta whose final margin is within the target margin."""
    short_target = target_margin < 0
    order = _round_to_lot(Decimal(-holding) + target_margin / unit_margin, short_target)
    final_margin = (order + holding) * unit_margin
    step = -1 if short_target else 1
    while abs(final_margin) > abs(target_margin):
        order -= step * LOT_SIZE
        final_margin = (order + holding) * unit_margin
    return order, final_margin


def target_percent_delta(  # noqa: PLR0917 - the quantities LEAN's formula uses, in its order
        total_portfolio_value: Decimal, price: Decimal, leverage: Decimal, holding: int, percent: Decimal,
        fee_of: Callable[[int, Decimal], Decimal] = interactive_brokers_fee, *,
        free_percentage: Decimal = FREE_PORTFOLIO_VALUE_PERCENTAGE,
        minimum_margin_percentage: Decimal = MINIMUM_ORDER_MARGIN_PORTFOLIO_PERCENTAGE) -> int:
    """The order quantity that moves ``holding`` shares to ``percent`` of the portfolio."""
    tpv = total_portfolio_value
    if tpv == 0 or price == 0:
        return 0
    adjusted = percent * (tpv - tpv * free_percentage) / tpv
    margin_fraction = adjusted / leverage
    target_margin = margin_fraction * tpv  # RequiredFreeBuyingPowerPercent is 0 for the default brokerage
    if target_margin == 0:
        return -holding
    initial_margin_rate = Decimal(1) / leverage
    unit_margin = price * initial_margin_rate
    current_margin = holding * price * initial_margin_rate
    if abs(target_margin - current_margin) < tpv * minimum_margin_percentage:
        return 0
    last_order: int | None = None
    while True:
        order, final_margin = _amount_to_order(holding, target_margin, unit_margin)
        if order == 0:
            return 0
        fee = fee_of(order, price)
        target_margin = (tpv - fee) * margin_fraction
        if last_order == order:
            raise AlgorithmError(
                f"set_holdings did not converge: the order quantity stayed at {order} while the target margin "
                f"is {target_margin}"
            )
        last_order = order
        if abs(final_margin) <= abs(target_margin):
            return order

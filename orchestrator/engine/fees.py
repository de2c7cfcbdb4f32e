"""Interactive Brokers' US-equity fee (LEAN's default fee model for equities).

``fee = 0.005 x |q|``, at least $1.00, at most 0.5 % of ``|q| x P`` where P is the security's price at
fill time (reference/lean-engine.md §3.3). Charged once per fill.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

FEE_PER_SHARE = Decimal("0.005")
MINIMUM_FEE = Decimal(1)
MAXIMUM_FEE_RATE = Decimal("0.005")
ZERO = Decimal(0)


def interactive_brokers_fee(quantity: int, price: Decimal) -> Decimal:
    """The fee of trading ``quantity`` shares with the security priced at ``price``."""
    if quantity == 0:
        return ZERO
    fee = FEE_PER_SHARE * abs(quantity)
    fee = max(fee, MINIMUM_FEE)
    cap = MAXIMUM_FEE_RATE * abs(quantity) * price
    fee = min(fee, cap)
    return abs(fee)


class InteractiveBrokersFeeModel:
    """The default; ``security.set_fee_model(InteractiveBrokersFeeModel())`` is accepted."""

    def fee(self, quantity: int, price: Decimal) -> Decimal:
        return interactive_brokers_fee(quantity, price)


class ConstantFeeModel:
    """``ConstantFeeModel(fee)``: the same fee for every fill."""

    def __init__(self, fee: float, currency: str = "USD") -> None:
        self._fee = Decimal(repr(float(fee)))

    def fee(self, quantity: int, price: Decimal) -> Decimal:
        return self._fee if quantity else ZERO


def fee_model_of(model: Any) -> Any:
    """Accept the fee models qcloop implements; anything else fails loudly."""
    from orchestrator.errors import UnsupportedApiError

    if isinstance(model, InteractiveBrokersFeeModel | ConstantFeeModel):
        return model
    raise UnsupportedApiError(f"set_fee_model({type(model).__name__})")

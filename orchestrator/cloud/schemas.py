"""Typed models of what QuantConnect's API v2 sends back (``reference/qc-api.md`` §3).

They are deliberately *tolerant*: every model keeps fields it does not know (``extra="allow"``), most
fields are optional, and the service's quirks are normalised at the boundary, once:

* "empty" often arrives as a JSON array: ``statistics: []`` while a backtest runs (read as ``None``:
  not ready), ``runtimeStatistics: []``, optimization ``backtests: []``, ``parameterSet: []``,
  ``charts: []`` (read as empty dicts where emptiness is a valid final state);
* project ``parameters`` come as a list of ``{key, value}`` or as a ``{name: value}`` dict: both
  become ``{name: "value"}``;
* an optimization backtest's ``statistics`` is a positional array of 21 numbers (or LEAN's
  ``{"0": ...}`` object): it becomes ``OptimizationStatistics`` with named fields;
* statuses the loop branches on are enums, with an ``UNKNOWN`` member for values no source documents
  (so a new status from the service does not break parsing); ``Running: 45%`` is ``RUNNING``.

Field names are the wire's camelCase on purpose: the emulator serializes with the same models.
Request-side models that are ours (optimization parameters, constraints, the paper brokerage) are
strict (``extra="forbid"``).
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum, IntEnum, StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from orchestrator.cloud.metrics import (
    OPTIMIZATION_STATISTICS_ORDER,
    BacktestMetrics,
    metrics_from_backtest,
    metrics_from_optimization,
    optimization_statistics_by_name,
)

# --------------------------------------------------------------------------------------------------
# ids (qc-api.md §2: "Id formats"). Documented shapes; the client does not reject other shapes.

ID_PATTERNS: dict[str, re.Pattern[str]] = {
    "organizationId": re.compile(r"^[0-9a-f]{32}$"),
    "compileId": re.compile(r"^[0-9a-f]{32}-[0-9a-f]{32}$"),
    "backtestId": re.compile(r"^[0-9a-f]{32}$"),
    "optimizationId": re.compile(r"^O-[0-9a-f]{32}$"),
    "deployId": re.compile(r"^L-[0-9a-f]{32}$"),
    "nodeId": re.compile(r"^LN-[0-9a-f]{32}$"),
}


def looks_like_id(kind: str, value: str) -> bool:
    """Whether ``value`` has the documented shape of a ``kind`` id (a key of ``ID_PATTERNS``)."""
    return bool(ID_PATTERNS[kind].match(value))


# --------------------------------------------------------------------------------------------------
# tolerant field types

_DATETIME = TypeAdapter(dt.datetime)


def _lenient_datetime(value: Any) -> dt.datetime | None:
    """ISO 8601 or ``YYYY-MM-DD HH:MM:SS`` -> datetime; empty or unparseable -> None (never an error)."""
    if value is None or value == "" or isinstance(value, dt.datetime):
        return value or None
    try:
        return _DATETIME.validate_python(value)
    except ValidationError:
        return None


def _empty_list_as_none(value: Any) -> Any:
    return None if isinstance(value, list) else value


def _empty_list_as_dict(value: Any) -> Any:
    if value is None or (isinstance(value, list) and not value):
        return {}
    return value


def _strings(value: Any) -> Any:
    """A dict of display strings; numbers the emulator or an older service may send become text."""
    if isinstance(value, dict):
        return {str(key): ("" if item is None else str(item)) for key, item in value.items()}
    return value


def _parameters(value: Any) -> dict[str, str]:
    """Project parameters in either wire shape -> ``{name: "value"}``."""
    if not value:
        return {}
    if isinstance(value, dict):
        return {str(key): str(item) for key, item in value.items()}
    result: dict[str, str] = {}
    for entry in value:
        if isinstance(entry, dict):
            name = entry.get("key", entry.get("name"))
            if name is not None:
                result[str(name)] = "" if entry.get("value") is None else str(entry.get("value"))
    return result


Timestamp = Annotated[dt.datetime | None, BeforeValidator(_lenient_datetime)]
StatisticsStrings = Annotated[dict[str, str] | None, BeforeValidator(_empty_list_as_none),
                              BeforeValidator(_strings)]
StringDict = Annotated[dict[str, str], BeforeValidator(_empty_list_as_dict), BeforeValidator(_strings)]
AnyDict = Annotated[dict[str, Any], BeforeValidator(_empty_list_as_dict)]
Parameters = Annotated[dict[str, str], BeforeValidator(_parameters)]


class QCModel(BaseModel):
    """Base of the response models: keeps unknown fields, accepts field names as given."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _TolerantEnum(StrEnum):
    """A string enum whose unknown values parse as ``UNKNOWN`` instead of failing validation."""

    @classmethod
    def _missing_(cls, value: object) -> Enum:
        return cls["UNKNOWN"]


class _TolerantIntEnum(IntEnum):
    @classmethod
    def _missing_(cls, value: object) -> Enum:
        return cls["UNKNOWN"]


# --------------------------------------------------------------------------------------------------
# projects and files


class Language(StrEnum):
    PYTHON = "Py"
    CSHARP = "C#"


class Project(QCModel):
    projectId: int
    organizationId: str | None = None
    name: str
    description: str | None = None
    language: str | None = None
    created: Timestamp = None
    modified: Timestamp = None
    ownerId: int | None = None
    parameters: Parameters = Field(default_factory=dict)
    libraries: list[Any] = Field(default_factory=list)
    collaborators: list[Any] = Field(default_factory=list)
    leanVersionId: int | None = None


class ProjectFile(QCModel):
    name: str
    content: str = ""
    modified: Timestamp = None
    id: int | None = None
    projectId: int | None = None
    open: bool | None = None
    isLibrary: bool | None = None


# --------------------------------------------------------------------------------------------------
# compile


class CompileState(_TolerantEnum):
    IN_QUEUE = "InQueue"
    BUILD_SUCCESS = "BuildSuccess"
    BUILD_ERROR = "BuildError"
    UNKNOWN = "Unknown"


class Compile(QCModel):
    compileId: str
    state: CompileState = CompileState.UNKNOWN
    logs: list[str] = Field(default_factory=list)
    projectId: int | None = None
    signature: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in (CompileState.BUILD_SUCCESS, CompileState.BUILD_ERROR)


# --------------------------------------------------------------------------------------------------
# backtests


class BacktestStatus(_TolerantEnum):
    """``status`` of a backtest. Branch on ``completed``/``error`` first (qc-api.md §9.5)."""

    IN_QUEUE = "In Queue..."
    RUNNING = "Running"          # the wire says "Running: 45%" (unverified; the spec has a placeholder)
    COMPLETED = "Completed."
    RUNTIME_ERROR = "Runtime Error"
    UNKNOWN = "Unknown"

    @classmethod
    def _missing_(cls, value: object) -> Enum:
        text = str(value).strip().lower()
        for member in (cls.RUNNING, cls.IN_QUEUE, cls.COMPLETED, cls.RUNTIME_ERROR):
            if text.startswith(member.value.lower().rstrip(".")):
                return member
        return cls.UNKNOWN


class TradeStatistics(QCModel):
    startDateTime: Timestamp = None
    endDateTime: Timestamp = None
    totalNumberOfTrades: int | None = None
    numberOfWinningTrades: int | None = None
    numberOfLosingTrades: int | None = None
    totalProfitLoss: float | None = None
    totalProfit: float | None = None
    totalLoss: float | None = None
    winRate: float | None = None
    lossRate: float | None = None
    profitLossRatio: float | None = None
    profitFactor: float | None = None
    sharpeRatio: float | None = None
    sortinoRatio: float | None = None
    totalFees: float | None = None


class PortfolioStatistics(QCModel):
    averageWinRate: float | None = None
    averageLossRate: float | None = None
    profitLossRatio: float | None = None
    winRate: float | None = None
    lossRate: float | None = None
    expectancy: float | None = None
    startEquity: float | None = None
    endEquity: float | None = None
    compoundingAnnualReturn: float | None = None
    drawdown: float | None = None
    totalNetProfit: float | None = None
    sharpeRatio: float | None = None
    probabilisticSharpeRatio: float | None = None
    sortinoRatio: float | None = None
    alpha: float | None = None
    beta: float | None = None
    annualStandardDeviation: float | None = None
    annualVariance: float | None = None
    informationRatio: float | None = None
    trackingError: float | None = None
    treynorRatio: float | None = None
    portfolioTurnover: float | None = None
    valueAtRisk99: float | None = None
    valueAtRisk95: float | None = None


class ClosedTrade(QCModel):
    symbol: Any = None
    entryTime: Timestamp = None
    entryPrice: float | None = None
    direction: int | None = None          # 0 = long, 1 = short
    quantity: float | None = None
    exitTime: Timestamp = None
    exitPrice: float | None = None
    profitLoss: float | None = None
    totalFees: float | None = None


class AlgorithmPerformance(QCModel):
    tradeStatistics: TradeStatistics | None = None
    portfolioStatistics: PortfolioStatistics | None = None
    closedTrades: list[ClosedTrade] = Field(default_factory=list)


class Backtest(QCModel):
    """The ``backtest`` object of ``backtests/create`` and ``backtests/read``."""

    backtestId: str
    projectId: int | None = None
    name: str | None = None
    note: str | None = None
    organizationId: str | None = None
    optimizationId: str | None = None
    status: str | None = None
    completed: bool = False
    progress: float = 0.0
    error: str | None = None
    stacktrace: str | None = None
    hasInitializeError: bool | None = None
    created: Timestamp = None
    backtestStart: Timestamp = None
    backtestEnd: Timestamp = None
    tradeableDates: int | None = None
    snapshotId: int | None = None
    parameterSet: AnyDict = Field(default_factory=dict)
    statistics: StatisticsStrings = None
    runtimeStatistics: StatisticsStrings = None
    totalPerformance: AlgorithmPerformance | None = None
    charts: AnyDict = Field(default_factory=dict)
    rollingWindow: AnyDict = Field(default_factory=dict)

    @property
    def state(self) -> BacktestStatus:
        return BacktestStatus(self.status) if self.status else BacktestStatus.UNKNOWN

    @property
    def failed(self) -> bool:
        """The algorithm raised (initialization or runtime): ``error``/``stacktrace`` are set."""
        return bool(self.error or self.stacktrace) or self.state is BacktestStatus.RUNTIME_ERROR

    @property
    def results_ready(self) -> bool:
        """``completed`` and the statistics dicts are there (``totalPerformance`` may still lag)."""
        return self.completed and self.statistics is not None and self.runtimeStatistics is not None

    @property
    def finished(self) -> bool:
        """Failed, or completed with statistics, runtime statistics and total performance present."""
        return self.failed or (self.results_ready and self.totalPerformance is not None)

    def metrics(self) -> BacktestMetrics:
        return metrics_from_backtest(self)


class BacktestSummary(QCModel):
    """One entry of ``backtests/list`` (the statistics fields only with ``includeStatistics``)."""

    backtestId: str
    name: str | None = None
    status: str | None = None
    created: Timestamp = None
    progress: float | None = None
    optimizationId: str | None = None
    tradeableDates: int | None = None
    parameterSet: AnyDict = Field(default_factory=dict)
    snapshotId: int | None = None
    tags: list[str] = Field(default_factory=list)
    sharpeRatio: float | None = None
    sortinoRatio: float | None = None
    alpha: float | None = None
    beta: float | None = None
    compoundingAnnualReturn: float | None = None
    drawdown: float | None = None
    lossRate: float | None = None
    winRate: float | None = None
    netProfit: float | None = None
    psr: float | None = None
    trades: int | None = None
    treynorRatio: float | None = None

    @property
    def state(self) -> BacktestStatus:
        return BacktestStatus(self.status) if self.status else BacktestStatus.UNKNOWN


# --------------------------------------------------------------------------------------------------
# orders (integer enums on Order, lowercase strings on OrderEvent)


class OrderType(_TolerantIntEnum):
    MARKET = 0
    LIMIT = 1
    STOP_MARKET = 2
    STOP_LIMIT = 3
    MARKET_ON_OPEN = 4
    MARKET_ON_CLOSE = 5
    OPTION_EXERCISE = 6
    LIMIT_IF_TOUCHED = 7
    COMBO_MARKET = 8
    COMBO_LIMIT = 9
    COMBO_LEG_LIMIT = 10
    TRAILING_STOP = 11
    UNKNOWN = -1


class OrderStatus(_TolerantIntEnum):
    NEW = 0
    SUBMITTED = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    # there is no 4
    CANCELED = 5
    NONE = 6
    INVALID = 7
    CANCEL_PENDING = 8
    UPDATE_SUBMITTED = 9
    UNKNOWN = -1


class SecurityType(_TolerantIntEnum):
    BASE = 0
    EQUITY = 1
    OPTION = 2
    COMMODITY = 3
    FOREX = 4
    FUTURE = 5
    CFD = 6
    CRYPTO = 7
    UNKNOWN = -1


class OrderDirection(_TolerantIntEnum):
    BUY = 0
    SELL = 1
    HOLD = 2
    UNKNOWN = -1


class OrderEventStatus(_TolerantEnum):
    NEW = "new"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partiallyFilled"
    FILLED = "filled"
    CANCELED = "canceled"
    NONE = "none"
    INVALID = "invalid"
    CANCEL_PENDING = "cancelPending"
    UPDATE_SUBMITTED = "updateSubmitted"
    UNKNOWN = "unknown"


class OrderEventDirection(_TolerantEnum):
    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"
    UNKNOWN = "unknown"


def _symbol(value: Any) -> Any:
    return {"value": value} if isinstance(value, str) else value


class SymbolRef(QCModel):
    value: str | None = None
    id: str | None = None
    permtick: str | None = None


class OrderEvent(QCModel):
    id: int | None = None
    orderId: int | None = None
    symbol: Annotated[SymbolRef | None, BeforeValidator(_symbol)] = None
    time: Any = None
    status: OrderEventStatus | None = None
    direction: OrderEventDirection | None = None
    fillPrice: float | None = None
    fillQuantity: float | None = None
    quantity: float | None = None
    orderFeeAmount: float | None = None
    orderFeeCurrency: str | None = None
    message: str | None = None


class Order(QCModel):
    id: int
    contingentId: int | None = None
    brokerId: list[str] = Field(default_factory=list)
    symbol: Annotated[SymbolRef | None, BeforeValidator(_symbol)] = None
    type: OrderType = OrderType.UNKNOWN
    status: OrderStatus = OrderStatus.UNKNOWN
    direction: OrderDirection | None = None
    securityType: SecurityType | None = None
    price: float | None = None
    priceCurrency: str | None = None
    quantity: float | None = None
    limitPrice: float | None = None
    stopPrice: float | None = None
    value: float | None = None
    tag: str | None = None
    time: Timestamp = None
    createdTime: Timestamp = None
    lastFillTime: Timestamp = None
    lastUpdateTime: Timestamp = None
    canceledTime: Timestamp = None
    events: list[OrderEvent] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# charts


class ChartSeries(QCModel):
    name: str | None = None
    unit: str | None = None
    index: int | None = None
    seriesType: int | None = None
    values: list[Any] = Field(default_factory=list)


class Chart(QCModel):
    name: str | None = None
    chartType: int | None = None
    series: Annotated[dict[str, ChartSeries], BeforeValidator(_empty_list_as_dict)] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# optimizations

GRID_SEARCH = "QuantConnect.Optimizer.Strategies.GridSearchOptimizationStrategy"


class OptimizationStatus(_TolerantEnum):
    NEW = "new"
    RUNNING = "running"
    ACTIVE = "active"          # not in the spec; lean-cli treats it as running
    COMPLETED = "completed"
    ABORTED = "aborted"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> Enum:
        lowered = str(value).strip().lower()
        return cls(lowered) if lowered in cls._value2member_map_ else cls.UNKNOWN

    @property
    def finished(self) -> bool:
        """Like lean-cli: anything but new/running/active is final (UNKNOWN included)."""
        return self not in (OptimizationStatus.NEW, OptimizationStatus.RUNNING, OptimizationStatus.ACTIVE)


class NodeType(StrEnum):
    """Optimization node types the cloud accepts, with lean-cli's limits of parallel nodes."""

    O2_8 = "O2-8"      # at most 24 parallel nodes, $0.15/h each
    O4_12 = "O4-12"    # at most 12, $0.30/h
    O8_16 = "O8-16"    # at most 6, $0.60/h


class OptimizationTarget(StrEnum):
    SHARPE_RATIO = "TotalPerformance.PortfolioStatistics.SharpeRatio"
    COMPOUNDING_ANNUAL_RETURN = "TotalPerformance.PortfolioStatistics.CompoundingAnnualReturn"
    PROBABILISTIC_SHARPE_RATIO = "TotalPerformance.PortfolioStatistics.ProbabilisticSharpeRatio"
    DRAWDOWN = "TotalPerformance.PortfolioStatistics.Drawdown"


class TargetDirection(StrEnum):
    MIN = "min"
    MAX = "max"


class ConstraintOperator(StrEnum):
    LESS_OR_EQUAL = "LessOrEqual"
    LESS = "Less"
    GREATER_OR_EQUAL = "GreaterOrEqual"
    GREATER = "Greater"
    NOT_EQUAL = "NotEqual"
    EQUALS = "Equals"


class OptimizationParameter(BaseModel):
    """One swept parameter of an optimization request (sent as ``{name, min, max, step}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    min: float
    max: float
    step: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> OptimizationParameter:
        if self.max < self.min:
            raise ValueError(f"parameter '{self.name}': max {self.max:g} is below min {self.min:g}")
        return self

    @property
    def grid_size(self) -> int:
        """Points on this axis: ``round((max - min) / step) + 1`` (lean-cli's count)."""
        return round((self.max - self.min) / self.step) + 1


class OptimizationConstraint(BaseModel):
    """A constraint on a statistic, e.g. drawdown <= 0.2 (sent as ``{target, operator, targetValue}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str
    operator: ConstraintOperator
    targetValue: float


class OptimizationStatistics(BaseModel):
    """An optimization backtest's 21 positional statistics with names (wire units: percent stays
    percent, e.g. ``compounding_annual_return=30.084``). ``to_metrics()`` converts to fractions."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    alpha: float | None = None
    annual_standard_deviation: float | None = None
    annual_variance: float | None = None
    average_loss: float | None = None
    average_win: float | None = None
    beta: float | None = None
    compounding_annual_return: float | None = None
    drawdown: float | None = None
    estimated_strategy_capacity: float | None = None
    expectancy: float | None = None
    information_ratio: float | None = None
    loss_rate: float | None = None
    net_profit: float | None = None
    probabilistic_sharpe_ratio: float | None = None
    profit_loss_ratio: float | None = None
    sharpe_ratio: float | None = None
    total_fees: float | None = None
    total_orders: float | None = None
    tracking_error: float | None = None
    treynor_ratio: float | None = None
    win_rate: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _positional(cls, value: Any) -> Any:
        if isinstance(value, OptimizationStatistics):
            return value
        return optimization_statistics_by_name(value)

    def as_array(self) -> list[float | None]:
        """The wire form: the 21 numbers in positional order."""
        return [getattr(self, name) for name in OPTIMIZATION_STATISTICS_ORDER]

    def to_metrics(self) -> BacktestMetrics:
        return metrics_from_optimization(self)


def _optional_statistics(value: Any) -> Any:
    return None if value is None or (isinstance(value, list | dict) and not value) else value


def _backtests_by_id(value: Any) -> Any:
    if isinstance(value, list):  # [] when empty; tolerate a list of backtests keyed by their id
        return {str(item.get("id", index)): item for index, item in enumerate(value) if isinstance(item, dict)}
    return {} if value is None else value


class OptimizationBacktest(QCModel):
    id: str | None = None
    name: str | None = None
    progress: float | None = None
    exitCode: int | None = None
    statistics: Annotated[OptimizationStatistics | None, BeforeValidator(_optional_statistics)] = None
    parameterSet: AnyDict = Field(default_factory=dict)
    equity: list[Any] = Field(default_factory=list)
    startDate: Timestamp = None
    endDate: Timestamp = None

    @property
    def succeeded(self) -> bool:
        """lean-cli keeps only backtests with exit code 0."""
        return self.exitCode in (0, None)


class OptimizationCriterion(QCModel):
    target: str | None = None
    extremum: str | None = None
    targetValue: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_target_value(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("targetValue") == "":  # lean-cli sends ""
            return {**value, "targetValue": None}
        return value


class OptimizationSummary(QCModel):
    """An entry of ``optimizations/list`` and the reply of ``optimizations/create``."""

    optimizationId: str
    projectId: int | None = None
    name: str | None = None
    status: OptimizationStatus = OptimizationStatus.UNKNOWN
    nodeType: str | None = None
    criterion: OptimizationCriterion | None = None
    created: Timestamp = None
    psr: float | None = None
    sharpeRatio: float | None = None
    trades: int | None = None
    cloneId: int | None = None


class Optimization(QCModel):
    """The ``optimization`` object of ``optimizations/read``."""

    optimizationId: str
    projectId: int | None = None
    name: str | None = None
    status: OptimizationStatus = OptimizationStatus.UNKNOWN
    nodeType: str | None = None
    parallelNodes: int | None = None
    criterion: OptimizationCriterion | None = None
    runtimeStatistics: StringDict = Field(default_factory=dict)
    constraints: list[Any] = Field(default_factory=list)
    parameters: list[Any] = Field(default_factory=list)
    backtests: Annotated[dict[str, OptimizationBacktest], BeforeValidator(_backtests_by_id)] = Field(
        default_factory=dict)
    strategy: str | None = None
    requested: Timestamp = None

    @property
    def progress(self) -> float | None:
        """(Completed + Failed) / Total from ``runtimeStatistics``, as lean-cli computes it."""
        stats = self.runtimeStatistics
        try:
            total = float(stats["Total"])
            done = float(stats.get("Completed", 0) or 0) + float(stats.get("Failed", 0) or 0)
        except (KeyError, ValueError):
            return None
        return done / total if total > 0 else None


class OptimizationEstimate(QCModel):
    estimateId: str
    time: int | None = None          # seconds
    balance: float | None = None     # QuantConnect credits


# --------------------------------------------------------------------------------------------------
# live trading


class LiveStatus(_TolerantEnum):
    DEPLOY_ERROR = "DeployError"
    IN_QUEUE = "InQueue"
    RUNNING = "Running"
    STOPPED = "Stopped"
    LIQUIDATED = "Liquidated"
    DELETED = "Deleted"
    COMPLETED = "Completed"
    RUNTIME_ERROR = "RuntimeError"
    INVALID = "Invalid"
    LOGGING_IN = "LoggingIn"
    INITIALIZING = "Initializing"
    HISTORY = "History"
    UNKNOWN = "Unknown"


class CashAmount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: float
    currency: str = "USD"


class PaperBrokerage(BaseModel):
    """QuantConnect's paper brokerage for ``live/create`` (the only one qcloop deploys to)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = "QuantConnectBrokerage"
    cash: list[CashAmount] = Field(default_factory=list)
    holdings: list[dict[str, Any]] = Field(default_factory=list)


class LiveDeployment(QCModel):
    """The reply of ``live/create`` (its top level)."""

    projectId: int
    deployId: str
    versionId: int | str | None = None
    source: str | None = None
    responseCode: int | None = None
    live: Any = None


class LiveAlgorithm(QCModel):
    """The reply of ``live/read`` (its top level)."""

    deployId: str | None = None
    projectId: int | None = None
    projectName: str | None = None
    status: LiveStatus = LiveStatus.UNKNOWN
    message: str | None = None
    launched: Timestamp = None
    stopped: Timestamp = None
    brokerage: str | None = None
    datacenter: str | None = None
    runtimeStatistics: StringDict = Field(default_factory=dict)
    charts: AnyDict = Field(default_factory=dict)
    files: list[Any] = Field(default_factory=list)


class LiveSummary(QCModel):
    projectId: int | None = None
    deployId: str | None = None
    status: LiveStatus = LiveStatus.UNKNOWN
    launched: Timestamp = None
    stopped: Timestamp = None
    brokerage: str | None = None
    equity: float | None = None
    description: str | None = None
    error: str | None = None


class Holding(QCModel):
    """One holding in ``live/portfolio/read`` (wire keys are single letters)."""

    a: float | None = Field(default=None, description="average price")
    q: float | None = Field(default=None, description="quantity")
    p: float | None = Field(default=None, description="price")
    v: float | None = Field(default=None, description="market value")
    u: float | None = Field(default=None, description="unrealized profit")
    up: float | None = Field(default=None, description="unrealized profit, percent")


class CashBalance(QCModel):
    symbol: str | None = None
    amount: float | None = None
    conversionRate: float | None = None
    currencySymbol: Any = None
    valueInAccountCurrency: float | None = None


class Portfolio(QCModel):
    holdings: Annotated[dict[str, Holding], BeforeValidator(_empty_list_as_dict)] = Field(default_factory=dict)
    cash: Annotated[dict[str, CashBalance], BeforeValidator(_empty_list_as_dict)] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Object Store


class ObjectProperties(QCModel):
    key: str
    modified: Timestamp = None
    created: Timestamp = None
    size: float | None = None
    md5: str | None = None
    mime: str | None = None
    preview: str | None = None


class ObjectSummary(QCModel):
    key: str
    name: str | None = None
    modified: Timestamp = None
    mime: str | None = None
    folder: bool = False
    size: float | None = None


class ObjectListing(QCModel):
    path: str | None = None
    objects: list[ObjectSummary] = Field(default_factory=list)
    objectStorageUsed: int | None = None
    objectStorageUsedHuman: str | None = None


class ObjectDownloadJob(QCModel):
    """``object/get``: first a ``jobId``; polled with the job id until ``url`` is set."""

    jobId: str | None = None
    url: str | None = None

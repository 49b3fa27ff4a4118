"""Runbook types, field for field as the runbook format page lists them.

Field names on the wire are camelCase (``rename="camel"``); unknown fields are rejected so a typo
becomes an error that names the field. Runwright's own extensions live under ``x-runwright``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct, field

NonNegativeInt = Annotated[int, Meta(ge=0)]
RiskLevel = Literal["low", "medium", "high"]
WaitState = Literal["visible", "hidden", "attached", "detached"]
LoadState = Literal["load", "domcontentloaded", "networkidle"]
Scalar = str | int | float | bool


class _Model(Struct, forbid_unknown_fields=True, kw_only=True, rename="camel", omit_defaults=True):
    pass


class Settings(_Model):
    base_url: str | None = None
    default_timeout: NonNegativeInt = 10000
    pause_between_steps: NonNegativeInt = 500
    stop_on_error: bool = True


class Metadata(_Model):
    """Refrain writes every field; a hand-written runbook may leave them out (parsing derives
    them from the rest, see :mod:`runwright_runbook.defaults`)."""

    start_url: str = ""
    goal: str = ""
    goal_achieved: bool = False
    total_steps: NonNegativeInt = 0
    generated_at: str | None = None
    skills: list[str] = []


class Rect(_Model):
    x: float
    y: float
    width: Annotated[float, Meta(ge=0)]
    height: Annotated[float, Meta(ge=0)]


class Selector(_Model):
    """Strategies in priority order, then the filters ``tagName``, ``role`` and ``inputType``."""

    id: str | None = None
    aria_label: str | None = None
    data_test_id: str | None = None
    data_attributes: dict[str, str] | None = None
    css_selector: str | None = None
    x_path: str | None = None
    label_text: str | None = None
    inner_text: Annotated[str, Meta(max_length=200)] | None = None
    placeholder: str | None = None
    name: str | None = None
    rect: Rect | None = None
    tag_name: str | None = None
    role: str | None = None
    input_type: str | None = None


class _Action(_Model, tag_field="type"):
    pass


class ClickAction(_Action, tag="click"):
    selector: Selector
    value: str | None = None


class InputAction(_Action, tag="input"):
    selector: Selector
    value: str


class SelectAction(_Action, tag="select"):
    selector: Selector
    value: str | None = None
    option_text: str | None = None


class NavigateAction(_Action, tag="navigate"):
    url: str
    selector: Selector | None = None
    value: str | None = None


class ScrollAction(_Action, tag="scroll"):
    selector: Selector | None = None
    delta_y: int | None = None
    value: str | None = None


class WaitAction(_Action, tag="wait"):
    duration: NonNegativeInt | None = None
    selector: Selector | None = None
    state: WaitState = "visible"
    load_state: LoadState | None = None
    value: str | None = None


class HoverAction(_Action, tag="hover"):
    selector: Selector
    value: str | None = None


class ExtractAction(_Action, tag="extract"):
    script: str
    selector: Selector | None = None
    value: str | None = None


class DownloadAction(_Action, tag="download"):
    selector: Selector | None = None
    download_path: str | None = None
    value: str | None = None


class ExportAction(_Action, tag="export"):
    export_collection: str
    format: Literal["csv", "json"] = "csv"
    file_name: str | None = None
    value: str | None = None


class MemoryAction(_Action, tag="memory"):
    value: str | None = None


class KeyAction(_Action, tag="key"):
    key: str
    selector: Selector | None = None
    value: str | None = None


Action = (
    ClickAction
    | InputAction
    | SelectAction
    | NavigateAction
    | ScrollAction
    | WaitAction
    | HoverAction
    | ExtractAction
    | DownloadAction
    | ExportAction
    | MemoryAction
    | KeyAction
)

ACTION_TYPES: tuple[str, ...] = (
    "click",
    "input",
    "select",
    "navigate",
    "scroll",
    "wait",
    "hover",
    "extract",
    "download",
    "export",
    "memory",
    "key",
)


class Capture(_Model):
    name: Annotated[str, Meta(min_length=1)]
    strategy: Literal["snapshot", "url", "ai", "expression"]
    description: str | None = None
    required: bool = False
    pattern: str | None = None
    group: NonNegativeInt | None = None
    prompt: str | None = None
    expression: str | None = None


class _MemoryOp(_Model, tag_field="type"):
    pass


class AppendOperation(_MemoryOp, tag="append"):
    collection: Annotated[str, Meta(min_length=1)]
    source: Annotated[str, Meta(min_length=1)]


class AggregateOperation(_MemoryOp, tag="aggregate"):
    collection: Annotated[str, Meta(min_length=1)]
    operation: Literal["sum", "count", "avg", "min", "max"]
    field: str | None = None
    output_variable: str | None = None


MemoryOperation = AppendOperation | AggregateOperation


class Step(_Model):
    ordinal: NonNegativeInt
    action: Action
    description: str = ""
    url: str | None = None
    risk_level: RiskLevel = "low"
    requires_confirmation: bool = False
    captures: list[Capture] = []
    memory_operations: list[MemoryOperation] = []


class VariableDef(_Model):
    source: Literal["prompt", "fixed", "context", "env", "expression", "data"]
    description: str | None = None
    required: bool = True
    sensitive: bool = False
    value: Scalar | None = None
    expression: str | None = None
    env_key: str | None = None


class DataSource(_Model):
    mapping: dict[str, str]


ApproverRole = Literal["member", "developer", "admin", "owner"]


class ApprovalPolicy(_Model):
    """Who may decide the job's approvals (``x-runwright.approval``); the approval service
    applies it. Without one: Members and above decide, one approval, no four eyes."""

    roles: Annotated[list[ApproverRole], Meta(min_length=1)] | None = None
    """The workspace roles that may decide (the installation's admin token always may)."""
    users: list[Annotated[str, Meta(min_length=3, max_length=320)]] = []
    """When given, only these people (e-mail addresses) may decide."""
    four_eyes: bool = False
    """The actor who submitted the job may not approve it."""
    approvals: Annotated[int, Meta(ge=1, le=10)] = 1
    """Distinct actors who must approve; one reject rejects."""


class RunwrightOptions(_Model):
    """Runwright's job options carried by the runbook itself (``x-runwright``)."""

    screenshots: bool = False
    video: bool = False
    priority: int = 0
    approval_timeout_s: Annotated[int, Meta(ge=1)] | None = None
    on_executor_loss: Literal["fail", "requeue"] = "fail"
    labels: dict[str, str] = {}
    approval: ApprovalPolicy | None = None
    on_failure: Literal["fail", "hold"] = "fail"
    """``hold``: a failed step holds the job for a person (retry, retry edited, skip or fail) in
    the same browser, instead of failing it."""


class Runbook(_Model):
    title: Annotated[str, Meta(min_length=1)]
    steps: Annotated[list[Step], Meta(min_length=1)]
    settings: Settings = field(default_factory=Settings)
    metadata: Metadata = field(default_factory=Metadata)
    natural_language_summary: str | None = None
    notes: str | None = None
    context: str | None = None
    variables: dict[str, VariableDef] = {}
    data_source: DataSource | None = None
    x_runwright: RunwrightOptions | None = field(default=None, name="x-runwright")

    def option(self) -> RunwrightOptions:
        return self.x_runwright or RunwrightOptions()


def action_type(action: Any) -> str:
    """The ``type`` tag of an action."""
    tag: str = type(action).__struct_config__.tag
    return tag

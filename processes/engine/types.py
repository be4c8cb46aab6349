"""The engine's vocabulary: the events it consumes and the effects it returns.

The interpreter is a pure function ``(process, state, event, context) -> Step``. Events
say what happened outside the engine; effects say what the layer around it must do
(create a work item, start a timer, launch a subprocess, call a web service ...). Both
are plain, JSON-friendly dataclasses so they can be stored, queued and inspected.

Every wait the engine starts has a *token*: a short string unique within the instance
(``"w1"``, ``"w2"`` ...). The effect that starts the wait carries the token, and the event
that ends it names the same token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# ---------------------------------------------------------------------------- context


@dataclass(frozen=True)
class Context:
    """What the engine may know about the world for one step."""

    now: datetime  # aware UTC datetime; the engine never reads the clock itself
    instance_id: int
    initiator: str  # user name of whoever launched the instance
    depth: int = 0  # spawn depth: 0 for a top-level instance, parent's depth + 1 for a child
    depth_threshold: int = 8  # PAS_DepthThreshold: max call_task nesting and spawn depth
    handler_timeout: int = 30  # PAS_HandlerResponseTimeout, seconds (0 = unlimited)
    max_actions_per_step: int = 100_000  # PAS_MaxActionsPerStep: a bound on work done in one step
    max_loop_iterations: int = 10_000  # PAS_MaxLoopIterations: a loop without max_iterations stops here
    max_history_per_step: int = 2_000  # PAS_MaxHistoryPerStep: history entries one step may write
    max_launches_per_step: int = 100  # PAS_MaxSubprocessesPerStep: subprocesses one step may launch
    max_instances_per_launch: int = 50  # PAS_MaxInstancesPerLaunch: instances in one launch tree
    launch_tree_size: int = 1  # instances in this instance's launch tree so far (its top one included)


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Launch:
    """Start a new instance. ``inputs`` are JSON values already validated by the caller."""

    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkItemCompleted:
    """A person pressed ``button`` on the work item sent with ``token``.

    ``values`` are JSON values for the form's fields (already validated and coerced by
    the caller); the engine stores them in the variables the fields are bound to, in the
    scope where the item was sent, then runs the button's exit.
    """

    token: str
    button: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimerFired:
    """The timer started with ``token`` is due (a ``wait`` or a work item's ``timeout``)."""

    token: str


@dataclass(frozen=True)
class SubprocessEnded:
    """The child instance launched with ``token`` (``wait: true``) ended.

    ``status`` is the child's final status (``completed`` or ``cancelled``);
    ``variables`` the child's global variables as JSON values.
    """

    token: str
    status: str
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExternalFinished:
    """An external action (web service, handler, database, email) returned ``result``."""

    token: str
    result: Any = None


@dataclass(frozen=True)
class ExternalFailed:
    """An external action failed; ``error`` is ``{"type": ..., "message": ...}``."""

    token: str
    error: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    """A supervisor retries an instance in ``error`` / ``restored_in_error``."""


@dataclass(frozen=True)
class Skip:
    """A supervisor skips the failed action: the process continues as if it produced nothing."""


@dataclass(frozen=True)
class MoveTo:
    """A supervisor moves the instance to another state: the current one is left (its work items
    withdrawn, its timers cancelled, a failed action forgotten) and ``state`` entered."""

    state: str


Event = (
    Launch
    | WorkItemCompleted
    | TimerFired
    | SubprocessEnded
    | ExternalFinished
    | ExternalFailed
    | Retry
    | Skip
    | MoveTo
)

# ---------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class SendWorkItem:
    """Create a work item. ``user`` xor ``workgroup`` is set (names, already rendered)."""

    token: str
    work_item: str  # the work item definition's name
    description: str  # the rendered description template
    category: str
    user: str | None = None
    workgroup: str | None = None
    skills: tuple[tuple[str, int], ...] = ()  # (skill name, min_level)
    priority: int = 0


@dataclass(frozen=True)
class WithdrawWorkItem:
    """The item sent with ``token`` is no longer wanted (its timeout fired)."""

    token: str


@dataclass(frozen=True)
class StartTimer:
    token: str
    due: datetime  # aware UTC


@dataclass(frozen=True)
class CancelTimer:
    token: str


@dataclass(frozen=True)
class LaunchSubprocess:
    token: str
    process: str  # the process name; its published version is launched
    inputs: dict[str, Any]  # JSON values
    wait: bool


@dataclass(frozen=True)
class RunExternal:
    """Run an external action outside the step transaction and report back.

    ``kind`` is the action's kind (``invoke_web_service``, ``run_handler``, ``database``,
    ``send_email``); ``params`` holds its evaluated parameters as JSON values.
    """

    token: str
    kind: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Record:
    """A history line. ``detail`` names things (states, actions, variables), never values."""

    what: str  # short machine word: "launched", "state_entered", "assigned", ...
    detail: str = ""


@dataclass(frozen=True)
class LocalValueSet:
    """A state's or task's local variable flagged ``log: true`` was given ``value`` (its JSON form).

    The layer around writes it to the reporting table. Globals need no effect: they outlive
    the step, so the layer compares them before and after it; a local may be created, set
    and discarded within one step, so each value it is given is reported as it happens.
    """

    variable: str
    value: Any
    security: str = ""  # the variable's security specification, applied when the value is read


Effect = (SendWorkItem | WithdrawWorkItem | StartTimer | CancelTimer | LaunchSubprocess | RunExternal | Record
          | LocalValueSet)

# ------------------------------------------------------------------------------ steps

STATUSES = ("running", "waiting", "completed", "cancelled", "error", "restored_in_error")


@dataclass
class Step:
    """The outcome of one event: the new execution state and what to do about it."""

    state: dict[str, Any]  # the new execution state (JSON-serialisable)
    effects: list[Effect]
    status: str  # one of STATUSES (never "running" after a step: the step runs to a wait)
    current_state: str | None  # the process state the instance is in, None when ended
    waiting_on: str | None  # "work_item" | "timer" | "subprocess" | "external" | None
    waiting_detail: str = ""  # e.g. "work item Approve Expense", for people
    error: str = ""  # for status "error": a message a supervisor can act on

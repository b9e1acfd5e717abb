"""Manual control: chamber, hydraulic-module and heat-pump set points by hand.

For commissioning and troubleshooting. Each value is checked against the range its driver
declares before anything is sent; every action is logged as an operator event (in the run's
store during a run, in a manual session store otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.validation import Number
from textual.widgets import Button, Checkbox, Footer, Input, Label, Static

from bench.run.commands import Command, SafeState, SetAir, SetHeatPump, SetWater
from bench.run.frame import Frame
from bench.tui.messages import LiveUpdated
from bench.tui.screens.confirm import ConfirmScreen
from bench.tui.session import CommandFailed, Limit
from bench.tui.widgets.event_log import EventLog, readable
from bench.tui.widgets.progress import PlanProgress
from bench.tui.widgets.setpoints import SetpointTable

if TYPE_CHECKING:
    from bench.tui.app import HpbenchApp

# device -> its fields (limit key, label); each starts from what the device is set to now
DEVICES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "air": ("climate chamber", (("air_temperature", "air"), ("air_humidity", "RH"))),
    "water": ("hydraulic module", (("water_inlet", "inlet"), ("water_flow", "flow"))),
    "hp": ("heat pump", (("hp_flow_temperature", "flow T"), ("hp_demand", "demand"))),
}


class ManualScreen(Screen[None]):
    AUTO_FOCUS = None  # letters stay screen keys until the operator tabs into a field
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave_input", "Leave field"),
        Binding("x", "safe_state", "Safe state"),
    ]

    @property
    def hp(self) -> HpbenchApp:
        return cast("HpbenchApp", self.app)

    def compose(self) -> ComposeResult:
        limits = self.hp.session.limits
        yield PlanProgress(id="progress")
        with Horizontal(id="devices"):
            for device, (title, fields) in DEVICES.items():
                with Vertical(classes="device", id=f"dev-{device}") as box:
                    box.border_title = title
                    if device == "hp":
                        yield Checkbox("running", False, id="hp-running", compact=True)
                    for key, label in fields:
                        yield from _field(key, label, limits.get(key))
                    yield Button(f"Set {title}", id=f"set-{device}", compact=True)
                    yield Static("", classes="device-error", id=f"err-{device}")
        with Horizontal(id="manual-bottom"):
            yield SetpointTable(self.hp.session.setpoint_pairs(), id="sp")
            kinds = {"operator", "command", "alarm", "interlock", "safety"}
            yield EventLog(kinds=kinds, wrap=True, id="manual-log", max_lines=200)
        yield Footer(show_command_palette=False)  # ctrl+p still works; `?` lists it

    def on_mount(self) -> None:
        self._prefilled = False
        self._filled: dict[str, str] = {}  # what the form last showed as the device's value
        # what each field showed when the last visit ended, until its device is read this visit
        self._left: dict[str, str] = {}

    def on_screen_suspend(self) -> None:
        # left for another screen (not a dialog over this one): the next visit starts from what
        # the devices are set to then, not from what was typed on this one
        if not isinstance(self.app.screen_stack[-1], ModalScreen):
            self._left = {f.id or "": f.value for f in self.query(Input)}

    def on_screen_resume(self) -> None:
        self._prefilled = False
        self.draw()

    def on_live_updated(self, message: LiveUpdated) -> None:
        self.draw()

    def draw(self) -> None:
        live = self.hp.live
        self.query_one(PlanProgress).show(self.hp.header)
        self.query_one(SetpointTable).show(live.frame)
        log = self.query_one(EventLog)
        log.show(live.events_after(log.last))
        if not self._prefilled and live.frame is not None:
            self._prefilled = self._prefill(live.frame)

    def _prefill(self, frame: Frame) -> bool:
        """Start from what the devices are set to now; a value the operator typed stays.
        False while a set point had no usable reading (stale at the first frame): the next
        frame fills it. Until a field has been taken from its device this visit, what it
        still shows from the last visit is replaced; what the operator types now never is."""
        complete = True
        for pair in self.hp.session.setpoint_pairs():
            value = frame.value(pair.setpoint)
            fields = self.query(f"#in-{pair.key}")
            if not fields:
                continue
            if value is None:
                complete = False
                continue
            field = fields.first(Input)
            left_over = self._left.pop(field.id or "", None) == field.value
            if left_over or field.value in ("", self._filled.get(pair.key)):
                field.value = self._filled[pair.key] = f"{value:g}"
        running_channel = self.hp.session.command_channel("heat_pump", "running")
        running = frame.value(running_channel) if running_channel else None
        if running is not None:
            self.query_one("#hp-running", Checkbox).value = running >= 0.5
        return complete

    # -- sending -------------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("set-"):
            self.apply(event.button.id.removeprefix("set-"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        box = event.input.query_ancestor(".device")
        if box.id:
            self.apply(box.id.removeprefix("dev-"))

    def apply(self, device: str) -> None:
        """Check the device's fields, then send its command; a bad field says why."""
        error = self.query_one(f"#err-{device}", Static)
        try:
            command = self._command(device)
        except ValueError as exc:
            error.update(Text(str(exc), style="red"))
            error.display = True
            return
        error.display = False
        point = self.hp.session.status().point_id
        if not self.hp.session.running:
            self.send(command)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.send(command)

        self.app.push_screen(
            ConfirmScreen(
                f"Override the plan during {point or 'the run'}?",
                f"{readable(repr(command))} replaces what the plan set until its next command; "
                "the point may not settle while it holds.",
                yes="Override",
            ),
            answered,
        )

    def send(self, command: Command) -> None:
        """Hand the command to the session; "sent" once the instruments acknowledged it,
        an error toast (and an alarm in the header and the log) when they did not."""
        done = self.hp.session.command(command)

        async def acknowledged() -> None:
            try:
                await done
            except CommandFailed as exc:
                self.notify(str(exc), title="not carried out", severity="error", timeout=10)
            else:
                self.notify(f"sent {readable(repr(command))}", timeout=3)
                self.hp.overridden(command)

        self.run_worker(acknowledged(), group="manual")

    def _command(self, device: str) -> Command:
        value = self._value
        if device == "air":
            return SetAir(value("air_temperature"), value("air_humidity", optional=True))
        if device == "water":
            return SetWater(value("water_inlet"), value("water_flow"))
        running = self.query_one("#hp-running", Checkbox).value
        flow_t = value("hp_flow_temperature", optional=True)
        return SetHeatPump(running, flow_t, value("hp_demand", optional=True))

    def _value(self, key: str, *, optional: bool = False) -> float | None:  # type: ignore[return]
        field = self.query_one(f"#in-{key}", Input)
        text = field.value.strip()
        label = field.name or key
        if not text:
            if optional:
                return None
            raise ValueError(f"{label}: give a value")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{label}: {text!r} is not a number") from None
        limit = self.hp.session.limits.get(key)
        if limit is not None and number not in limit:
            raise ValueError(f"{label}: {number:g} not in {limit.low:g}…{limit.high:g}")
        return number

    def action_leave_input(self) -> None:
        self.set_focus(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_input":  # shown only while a field has the keys
            return isinstance(self.focused, Input)
        return True

    def action_safe_state(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.send(SafeState("operator"))

        self.app.push_screen(
            ConfirmScreen(
                "Put the bench in the safe state?",
                "Heat pump off, chamber to standby; the water keeps flowing.",
                yes="Safe state",
            ),
            answered,
        )


class NumberField(Input):
    """An input that takes only what a number is written with: every other key (`x` safe
    state, `b`/`p`/`r` screens, `q`) stays the screen's, even while the field has the focus."""

    NUMBER_CHARACTERS = frozenset("0123456789.-+eE")

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character in self.NUMBER_CHARACTERS

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character not in self.NUMBER_CHARACTERS:
            event.prevent_default()  # not typed here: it goes on to the screen's bindings


def _field(key: str, label: str, limit: Limit | None) -> ComposeResult:
    unit = limit.unit if limit else ""
    validators = [Number(limit.low, limit.high)] if limit else [Number()]
    with Horizontal(classes="field"):
        yield Label(f"{label} {unit}".strip(), classes="field-label")
        yield NumberField(
            placeholder=f"{label} {unit}".strip(),
            id=f"in-{key}",
            name=label,
            validators=validators,
            compact=True,
            valid_empty=True,
        )
    if limit is not None:
        yield Label(f"{limit.low:g} … {limit.high:g}", classes="field-limit")

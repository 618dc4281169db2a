"""A password field whose value is never widget state, and a guard for widgets of a dead kernel.

An ipywidgets ``Password`` keeps what is typed in its model's ``value``, which JupyterLab saves
in the notebook file with "Save Widget State Automatically" on. :class:`PasswordField` has no
``value`` in its state at all: the browser sends what is typed to the kernel as a message
(never saved anywhere), the kernel keeps it in a private attribute until the form takes it,
then tells the browser to empty the field.

Both widgets also notice when the kernel behind them is gone (restarted or shut down): they
disable the widget they sit in and say to run its cell again, because clicks would go nowhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

# Shared by both widgets: on a kernel restart JupyterLab marks every model "not live"; the
# closest tutorial widget (class st-widget) is then disabled and says why.
_STALE_JS = """
function whenStale(model, el) {
  const stale = () => {
    const box = el.closest(".st-widget") || el;
    if (box.classList.contains("st-stale")) return;
    box.classList.add("st-stale");
    box.querySelectorAll("button, input").forEach((e) => { e.disabled = true; });
    const note = document.createElement("div");
    note.className = "st-stale-note";
    note.setAttribute("role", "status");
    note.style.cssText = "padding:.4em .6em;margin:.3em 0;border-radius:.3em;" +
      "background:#fdecea;color:#7a1c12;max-width:42em";
    note.textContent = "⚠️ This widget belongs to a kernel that was restarted or stopped, " +
      "so it no longer works. Run its cell again.";
    box.appendChild(note);
  };
  model.on("comm_live_update", () => { stale(); });
  model.on("destroy", () => { stale(); });
}
"""

_PASSWORD_JS = (
    _STALE_JS
    + """
function render({ model, el }) {
  const row = document.createElement("div");
  row.className = "widget-inline-hbox widget-text widget-password";
  const label = document.createElement("label");
  label.className = "widget-label";
  const input = document.createElement("input");
  input.type = "password";
  input.className = "widget-input";
  input.autocomplete = "current-password";
  const id = "st-password-" + Math.random().toString(36).slice(2);
  input.id = id;
  label.htmlFor = id;
  const update = () => {
    label.textContent = model.get("description");
    input.placeholder = model.get("placeholder");
    input.disabled = model.get("disabled");
  };
  update();
  model.on("change:description change:placeholder change:disabled", update);
  // What is typed goes to the kernel as a message, never into the model's saved state.
  input.addEventListener("input", () => { model.send({ password: input.value }); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { model.send({ submit: true }); }
  });
  model.on("msg:custom", (message) => {
    if (message && message.clear) { input.value = ""; }
  });
  row.append(label, input);
  el.appendChild(row);
  whenStale(model, el);
}
export default { render };
"""
)

_GUARD_JS = (
    _STALE_JS
    + """
function render({ model, el }) { whenStale(model, el); }
export default { render };
"""
)

# Longer than any password a person types; a message beyond it is ignored, not kept.
MAX_PASSWORD = 1024


class PasswordField(anywidget.AnyWidget):
    """A password input whose value stays in the kernel, out of every widget state.

    >>> field = PasswordField(description="Password")
    >>> "value" in field.get_state()
    False
    >>> field.value = "typed"  # what the browser sends as the learner types
    >>> field.take(), field.value
    ('typed', '')
    """

    _esm = _PASSWORD_JS
    description = traitlets.Unicode("Password").tag(sync=True)
    placeholder = traitlets.Unicode("").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._value = ""
        self._on_submit: list[Callable[[PasswordField], None]] = []
        self.on_msg(self._received)

    def __repr__(self) -> str:
        return f"PasswordField({'typed' if self._value else 'empty'})"

    @property
    def value(self) -> str:
        """What was typed and not taken yet (kept in the kernel only)."""
        return self._value

    @value.setter
    def value(self, value: str) -> None:
        self._value = str(value)
        if not self._value:
            self.send({"clear": True})

    def take(self) -> str:
        """What was typed; the field is emptied, here and in the browser."""
        value, self.value = self._value, ""
        return value

    def on_submit(self, callback: Callable[[PasswordField], None]) -> None:
        """Call ``callback(field)`` when Enter is pressed in the field."""
        self._on_submit.append(callback)

    def _received(self, _widget: object, content: Any, _buffers: object) -> None:
        if not isinstance(content, dict):
            return
        typed = content.get("password")
        if isinstance(typed, str) and len(typed) <= MAX_PASSWORD:
            self._value = typed
        if content.get("submit") is True and not self.disabled:
            for callback in self._on_submit:
                callback(self)


class KernelGuard(anywidget.AnyWidget):
    """Invisible: disables the tutorial widget it sits in once its kernel is gone."""

    _esm = _GUARD_JS

    def __repr__(self) -> str:
        return "KernelGuard()"

"""switchboard_plugin for Python, for the WIT package switchboard:plugin@0.2.1.

The typed dataclasses are the ones componentize-py generates from the plugin's own narrow
world (``wit/world.wit``, importing only what the manifest grants) under ``wit_world``; this
module imports the always-granted interfaces and ``messages`` when the world has it (imports
happen at build time, so they must be at module top level), so a plugin that is not granted
``messages`` can still use the event helpers.

Module top-level code runs at build time (the module is snapshotted): call host functions only
inside ``handle``. Only pure-Python packages can be bundled.
"""

from typing import Any, Callable, List, Optional

from componentize_py_types import Err
from wit_world.imports import config, log, types

try:  # granted by `capabilities.messages`; absent from the world otherwise
    from wit_world.imports import messages
except ImportError:
    messages = None  # type: ignore[assignment]

WIT_PACKAGE = "switchboard:plugin@0.2.1"


class SwitchboardError(Exception):
    """A host call answered with the WIT ``error`` variant, kept in ``error``."""

    def __init__(self, operation: str, error: Any):
        super().__init__(f"{operation}: {type(error).__name__}: {getattr(error, 'value', error)}")
        self.operation = operation
        self.error = error


def call(operation: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Calls a host function; a WIT error becomes a SwitchboardError carrying it."""
    try:
        return fn(*args)
    except Err as e:
        raise SwitchboardError(operation, e.value) from None


def handler(fn: Callable[[Any, Any], None]) -> Callable[[Any, Any, Any], None]:
    """Wraps ``handle(event, run)``: any exception ends the run ``failed`` with its message."""

    def handle(_self: Any, event: Any, run: Any) -> None:
        try:
            fn(event, run)
        except Err:
            raise
        except Exception as e:  # the run's error message is all the host keeps
            raise Err(f"{type(e).__name__}: {e}") from None

    return handle


def received(event: Any) -> Optional[Any]:
    """The message event of a ``message.received`` event, else None."""
    return event.value if isinstance(event, types.Event_MessageReceived) else None


def is_inbound(message_event: Any) -> bool:
    """Whether the customer wrote the message (not an outbound message or an echo)."""
    return message_event.message.direction == types.Direction.INBOUND


def is_waba(message_event: Any) -> bool:
    """Whether the chat is on a WhatsApp Business API connection."""
    return message_event.source_type == types.SourceType.WABA


def is_window_closed(error: Any) -> bool:
    """Whether a WIT error says the WABA 24-hour window is closed (send a template)."""
    return isinstance(error, types.Error_WindowClosed)


def message_text(message_event: Any) -> Optional[str]:
    """The text of a message event's message (text messages only), else None."""
    content = message_event.message.content
    return content.value if isinstance(content, types.MessageContent_Text) else None


def config_get_opt(key: str) -> Optional[str]:
    """The plugin's ``[config]`` value for ``key``, if set."""
    return config.get(key)


def config_get(key: str, default: str = "") -> str:
    """The plugin's ``[config]`` value for ``key``, else ``default``."""
    value = config.get(key)
    return default if value is None else value


def log_info(message: str) -> None:
    """An info line in the run log."""
    _log("INFO", message)


def log_debug(message: str) -> None:
    """A debug line in the run log."""
    _log("DEBUG", message)


def log_warn(message: str) -> None:
    """A warning in the run log."""
    _log("WARN", message)


def _log(level: str, message: str) -> None:
    log.log(getattr(log.Level, level), message)


def text_reply(message_event: Any, text: str) -> Any:
    """An outgoing text message to the chat of ``message_event``."""
    return _outgoing(message_event, messages.Content_Text(text))


def buttons_reply(message_event: Any, body: str, titles: List[str]) -> Any:
    """An interactive (WABA) message with reply buttons; each button's id is its title."""
    buttons = [messages.ReplyButton(title, title) for title in titles]
    action = messages.InteractiveAction_Buttons(buttons)
    return _interactive(message_event, body, action)


def list_reply(
    message_event: Any, body: str, button: str, section: Optional[str], rows: List[str]
) -> Any:
    """An interactive (WABA) list: one section of rows under a button; a row's id is its title."""
    items = [messages.ListRow(title, title, None) for title in rows]
    sections = [messages.ListSection(section, items)]
    action = messages.InteractiveAction_Sections(messages.ListAction(button, sections))
    return _interactive(message_event, body, action)


def template_reply(message_event: Any, name: str, locale: str, body_params: List[str]) -> Any:
    """A WABA template message to the chat of ``message_event``."""
    template = messages.TemplateMessage(name, locale, [], list(body_params), [])
    return _outgoing(message_event, messages.Content_WabaTemplate(template))


def send(outgoing: Any) -> Any:
    """Sends a message; a WIT error raises SwitchboardError."""
    return call("messages.send", messages.send, outgoing)


def _outgoing(message_event: Any, content: Any) -> Any:
    return messages.Outgoing(message_event.connection_id, message_event.chat_id, content, [])


def _interactive(message_event: Any, body: str, action: Any) -> Any:
    message = messages.InteractiveMessage(None, body, None, action)
    return _outgoing(message_event, messages.Content_WabaInteractive(message))

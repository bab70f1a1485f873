"""Every private singer-sdk name target-algolia uses, and why: nowhere else touches one.

singer-sdk (pinned ``>=0.54,<0.55``) offers no public hook for the few things
below. The three base classes here override or read the private names and hand
over to plainly named methods, which the target's own classes
(:class:`~target_algolia.target.TargetAlgolia`,
:class:`~target_algolia.input.reader.AudienceMessageReader`, the sinks of
``audience``, ``mirror`` and ``erasure``) override instead.
:data:`SIGNATURES_WRITTEN_AGAINST` records the signature of each name as this
module was written, and :data:`SDK_SOURCE_TEXTS` the lines of singer-sdk that
call or set them; ``tests/test_sdk_internals.py`` fails when the installed
singer-sdk differs, and ``@override`` makes mypy fail when a method disappears.
Re-read this list on any singer-sdk upgrade.

``Target._latest_state`` (read -> ``latest_state``)
    The latest STATE read from the input. The STATE gate (``state_gate``)
    emits it after each batch is written, after a mirror plan or an erasure
    is applied, and when the input pauses with a STATE not yet emitted
    (``max_wait_seconds``). If it is renamed, those STATE messages stop (the
    attribute error ends the run).

``Target._write_state_message`` (override -> ``write_state``)
    Every STATE singer-sdk emits (``drain_all``) passes here and is offered to
    the STATE gate, the one writer of STATE, which lets it out only when every
    record before it is written or rejected and no work holds it (a mirror
    plan, an erasure, the reject bound). If singer-sdk emitted STATE some
    other way, STATE would leave past that rule. The line the gate lets out is
    written by :meth:`SDKInternalsTarget.write_state`, never by singer-sdk's
    ``_write_state_message``: that one writes with ``json.dumps``, which fails
    on the Decimal numbers singer-sdk's own reader makes of ``1700000000.5`` in
    an upstream STATE (``numbers``).

``Target._handle_termination`` (override -> ``handle_stop_signal``)
    The SIGTERM/SIGINT handler singer-sdk installs. Its own handling drains
    every sink, emits STATE and exits 0, which in the middle of a batch would
    confirm records not yet written and with work held would show a green run
    that did not do its work; the target asks the STATE gate instead and
    never calls it. If it is no longer the handler, a signal mid-batch emits
    that STATE.

``Target._process_batch_message`` (override -> ``process_batch_message``)
``Target._process_record_message`` (called -> ``process_record_message``)
    BATCH messages: the public alternative, ``Sink.process_batch_files``,
    loads a whole file and skips stream maps, counters and the batch-size
    drain, so each record of a BATCH file goes through singer-sdk's RECORD
    path instead (see ``batch_files``). If either changes, BATCH input fails.

``SingerReader._process_unknown_message`` (override -> ``process_unknown_message``)
    A line whose ``type`` is unknown: the target stops on it with one clear
    line (``InvalidInputLine``) instead of singer-sdk's ValueError traceback.
    If it is no longer called, such a line ends the run with a traceback.

``Sink._singer_validate_message`` (override, in :class:`SDKInternalsBatchSink`)
    Called for every record; singer-sdk fails the whole run (and the unwritten
    batch before it) on a record lacking one of the stream's
    ``key_properties``. The target never uses key properties and checks its own
    fields per record (a bad record is a reject, not the end of the run), so
    this check is a no-op here, in place rather than handed over: it runs per
    record. If it is renamed, a record without its stream's key properties
    ends the run again.

``Sink._remove_sdc_metadata_from_record`` (override, in :class:`SDKInternalsBatchSink`)
    Called for every record of a sink that does not add record metadata (all
    but mirror streams, unless ``add_record_metadata`` is set); it pops every
    ``_sdc_*`` field, ``_sdc_deleted_at`` included, so a row deleted at the
    source would reach the sink as a current member. The override keeps that
    one field (it is input, not metadata: singer-sdk's own
    ``_add_sdc_metadata_to_record`` copies it from the record too). If it is
    renamed, deleted rows count as members again; ``tests/test_sdk_internals.py``
    fails first.

``PluginBase._env_var_config`` (override, in :class:`SDKInternalsTarget`)
    ``--config ENV`` reads settings from ``TARGET_ALGOLIA_<SETTING>``
    variables, as Meltano sets them for a plugin command such as
    ``meltano test target-algolia``. singer-sdk converts integer, boolean,
    array and object settings from their text, but leaves a number setting
    (``max_wait_seconds``, ``mirror_max_removal_fraction``) a string, which
    then fails validation; the override converts those too. If it is renamed,
    ``--config ENV`` with a number setting fails validation again.

``plugin_base._ConfigInput`` (read -> :func:`cli_config`)
    What singer-sdk's ``--config`` callback leaves in the click context: the
    merged config files and whether ``ENV`` was given. The target's ``--test``
    option (``preflight``) builds the target from it, as the tap's ``--test``
    does. If it changes, ``--test`` fails with an attribute error.

Public singer-sdk behaviour relied on, listed here because a change would
break the target just as silently: ``SingerCommand.excepthook`` is looked up on
the command instance when the CLI is invoked (``algolia_api.install_clean_errors``,
called by ``TargetAlgolia.get_singer_command`` with the target's own
``explain_failure``, replaces it to print one line per expected failure); a
RECORD's ``version`` reaches a sink as the ``_sdc_table_version`` field when
``include_sdc_metadata_properties`` is true (mirror streams).
"""

from __future__ import annotations

import contextlib
import sys
import typing as t

from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.helpers._typing import is_integer_type, is_number_type
from singer_sdk.io_base import SingerReader
from singer_sdk.sinks import BatchSink
from singer_sdk.target_base import Target
from typing_extensions import override

from target_algolia.numbers import json_text

if t.TYPE_CHECKING:
    from types import FrameType

    import click

#: The field Singer CDC sources set on a row deleted at the source: singer-sdk's
#: name for it (tap-postgres LOG_BASED streams declare it in their SCHEMA).
DELETED_AT = "_sdc_deleted_at"

#: The private singer-sdk names used above, as ``module:Class.name``, with the
#: ``inspect.signature`` text of each method (for an attribute, the annotation
#: singer-sdk gives it) in the singer-sdk this module was written against.
SIGNATURES_WRITTEN_AGAINST: dict[str, str] = {
    "singer_sdk.target_base:Target._latest_state": "dict[str, dict] | None",
    "singer_sdk.target_base:Target._write_state_message": "(self, state: 'dict') -> 'None'",
    "singer_sdk.target_base:Target._handle_termination": (
        "(self, signum: 'int', frame: 'FrameType | None') -> 'None'"
    ),
    "singer_sdk.target_base:Target._process_batch_message": (
        "(self, message_dict: 'dict') -> 'None'"
    ),
    "singer_sdk.target_base:Target._process_record_message": (
        "(self, message_dict: 'dict') -> 'None'"
    ),
    "singer_sdk.io_base:SingerReader._process_unknown_message": (
        "(self, message_dict: 'dict') -> 'None'"
    ),
    "singer_sdk.sinks:BatchSink._singer_validate_message": "(self, record: 'dict') -> 'None'",
    "singer_sdk.sinks:BatchSink._remove_sdc_metadata_from_record": (
        "(self, record: 'dict') -> 'None'"
    ),
    "singer_sdk.plugin_base:PluginBase._env_var_config": "(cls) -> 'dict[str, t.Any]'",
}

#: Text singer-sdk's source must still contain for the hand-overs above to be
#: reached: the places where singer-sdk calls or sets each private name (and
#: the public behaviour listed at the end of the docstring).
SDK_SOURCE_TEXTS: dict[str, tuple[str, ...]] = {
    "singer_sdk.target_base:Target._process_state_message": ("self._latest_state = state",),
    "singer_sdk.target_base:Target._write_state_message": ("state_json = json.dumps(state)",),
    "singer_sdk.singerlib.json:deserialize_json": ("parse_float=decimal.Decimal",),
    "singer_sdk.target_base:Target.drain_all": (
        "self._write_state_message(copy.deepcopy(self._latest_state))",
    ),
    "singer_sdk.plugin_base:PluginBase._setup_signal_handlers": (
        "signal.signal(signal.SIGINT, self._handle_termination)",
        "signal.signal(signal.SIGTERM, self._handle_termination)",
    ),
    "singer_sdk.plugin_base:BaseSingerReader.process_lines": (
        "SingerMessageType.BATCH: self._process_batch_message",
    ),
    "singer_sdk.singerlib.encoding.base:GenericSingerReader.process_lines": (
        "self._process_unknown_message(line_dict)",
    ),
    "singer_sdk.target_base:Target._process_record_message": (
        "sink._singer_validate_message(transformed_record)",
        "sink._remove_sdc_metadata_from_record(transformed_record)",
    ),
    "singer_sdk.sinks.core:Sink._remove_sdc_metadata_from_record": (
        'record.pop("_sdc_deleted_at", None)',
    ),
    "singer_sdk.plugin_base:SingerCommand.invoke": ("sys.excepthook = self.excepthook",),
    "singer_sdk.plugin_base:PluginBase.__init__": ("config_dict.update(self._env_var_config)",),
    "singer_sdk.plugin_base:PluginBase.cb_config": ("return _ConfigInput.from_cli_args(*value)",),
    "singer_sdk.plugin_base:_ConfigInput": (
        "config: dict[str, t.Any] = dataclasses.field(default_factory=dict)",
        "parse_env: bool = False",
    ),
    "singer_sdk.sinks.core:Sink._add_sdc_metadata_to_record": (
        'record["_sdc_table_version"] = message.get("version")',
    ),
}


class SDKInternalsTarget(Target):
    """singer-sdk's Target, its private hooks handed over to plainly named methods."""

    @classproperty
    @override
    def _env_var_config(cls) -> dict[str, t.Any]:
        config = dict(super()._env_var_config)
        properties = cls.config_jsonschema.get("properties", {})
        for name, value in config.items():
            schema = properties.get(name, {})
            if isinstance(value, str) and is_number_type(schema) and not is_integer_type(schema):
                with contextlib.suppress(ValueError):  # else validation names the setting
                    config[name] = float(value)
        return config

    @property
    def latest_state(self) -> dict | None:
        """The latest STATE read from the input (None before the first)."""
        return self._latest_state

    @override
    def _write_state_message(self, state: dict) -> None:
        self.write_state(state)

    def write_state(self, state: dict) -> None:
        """Emit a STATE message: every STATE the target emits goes through here.

        As singer-sdk's own writer, but each number exactly as it was read.
        """
        line = json_text(state)
        self.logger.debug("Emitting completed target state %s", line)
        sys.stdout.write(f"{line}\n")
        sys.stdout.flush()

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        self.handle_stop_signal(signum, frame)

    def handle_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT; singer-sdk's handling drains every sink, emits STATE, exits 0."""
        super()._handle_termination(signum, frame)

    @override
    def _process_batch_message(self, message_dict: dict) -> None:
        self.process_batch_message(message_dict)

    def process_batch_message(self, message_dict: dict) -> None:
        """A BATCH message; singer-sdk's handling passes its files to the sinks."""
        super()._process_batch_message(message_dict)

    def process_record_message(self, message_dict: dict) -> None:
        """A RECORD message through singer-sdk's RECORD path (maps, sink, counters, drain)."""
        self._process_record_message(message_dict)


class SDKInternalsReader(SingerReader):
    """singer-sdk's SingerReader, its unknown-message hook handed over."""

    @override
    def _process_unknown_message(self, message_dict: dict) -> None:
        self.process_unknown_message(message_dict)

    def process_unknown_message(self, message_dict: dict) -> None:
        """A line whose ``type`` singer-sdk does not know; singer-sdk raises ValueError."""
        super()._process_unknown_message(message_dict)


class SDKInternalsBatchSink(BatchSink):
    """singer-sdk's BatchSink without its per-record key-properties check, keeping deletes."""

    @override
    def _singer_validate_message(self, record: dict) -> None:
        """Check nothing: the sink checks the fields it reads in ``process_record``."""

    @override
    def _remove_sdc_metadata_from_record(self, record: dict) -> None:
        """singer-sdk's removal of ``_sdc_*`` fields, except ``_sdc_deleted_at`` (a delete)."""
        if DELETED_AT in record:
            deleted_at = record[DELETED_AT]
            super()._remove_sdc_metadata_from_record(record)
            record[DELETED_AT] = deleted_at
        else:
            super()._remove_sdc_metadata_from_record(record)


def cli_config(ctx: click.Context) -> tuple[dict[str, t.Any], bool]:
    """The ``--config`` singer-sdk's CLI parsed: (merged config files, ``ENV`` given)."""
    given = ctx.params.get("config")
    if given is None:  # no --config at all: an empty config, as singer-sdk's own callbacks
        return {}, False
    return dict(given.config), bool(given.parse_env)

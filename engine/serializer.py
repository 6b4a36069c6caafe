"""Workflow state without its process definition.

SpiffWorkflow's serializer embeds the whole spec in every saved state (more than half its size here).
Guichet stores the spec once per definition version and re-attaches the parsed spec on load.

A state is written after every step, so its encoding is on the hot path: tasks are converted by
`FastTaskConverter` (the same dictionaries as SpiffWorkflow's, without its per-call overheads) and the
result encoded with orjson.

Every stored state carries its format (`ProcessInstance.serializer_version`, e.g. "guichet-1/spiff-1.5"):
Guichet's layout, then SpiffWorkflow's serializer version. A state of an older format is upgraded when it
is loaded: first by SpiffWorkflow's own migration for its version (as SpiffWorkflow's deserializer does),
then by ours (MIGRATIONS below), one layout step at a time. tests/engine/states holds a state of each
format this build reads.
"""
from __future__ import annotations

import re
from typing import Callable
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.serializer import DefaultRegistry
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task

from .workflow import Workflow


class FastTaskConverter(TaskConverter):
    """SpiffWorkflow's TaskConverter, producing the same dictionary for a fraction of the cost.

    Each task id is written several times per save (as a key, as an id, as its parent's child, as its
    children's parent) and `str(UUID)` is slow, so a workflow keeps the text of its ids. Parent data is
    looked up once instead of through `task.parent` each time.
    """

    def to_dict(self, task):
        texts = _id_texts(task.workflow)
        parent = task.workflow.tasks.get(task._parent) if task._parent is not None else None
        if parent is None:
            data, delta = task.data, {}
        else:
            parent_data, own = parent.data, task.data
            data = {}
            delta = {"updates": {k: v for k, v in own.items() if k not in parent_data or v != parent_data[k]},
                     "deletions": [k for k in parent_data if k not in own]}
        internal = task.internal_data
        return {
            "id": _text(texts, task.id),
            "parent": _text(texts, task._parent) if parent is not None else None,
            "children": [_text(texts, child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(internal) if internal else {},
            "data": data,
            "delta": delta,
        }


def _id_texts(workflow) -> dict:
    texts = getattr(workflow, "_guichet_id_texts", None)
    if texts is None:
        texts = workflow._guichet_id_texts = {}
    return texts


def _text(texts: dict, uuid: UUID) -> str:
    # Keyed by the UUID's int: hashing a UUID object runs Python code, hashing an int does not.
    key = uuid.int
    text = texts.get(key)
    if text is None:
        text = texts[key] = str(uuid)
    return text


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """Converts a top-level workflow, leaving out `spec` and `subprocess_specs`."""

    def to_dict(self, workflow):
        # WorkflowConverter.to_dict and BpmnWorkflowConverter.to_dict, keys in the same order, ids from the cache.
        texts, convert = _id_texts(workflow), self.registry.convert
        return {
            "data": convert(self.registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": _text(texts, workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": {_text(texts, k): self._task(task) for k, task in workflow.tasks.items()},
            "root": _text(texts, workflow.task_tree.id),
            "subprocesses": self.mapping_to_dict(workflow.subprocesses),
            "bpmn_events": convert(workflow.bpmn_events),
        }

    def _task(self, task) -> dict:
        # What registry.convert(task) returns, without looking the converter up by type name for every task.
        if type(task) is Task:
            return self.registry.convert_to_dict["Task"](task)
        return self.registry.convert(task)

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        if spec is None:
            raise ValueError("a stored state needs its definition's spec to be restored")
        workflow = Workflow(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateRegistry(DefaultRegistry):
    """SpiffWorkflow's registry converting as its JSON encoder has it do: an object with a converter becomes its
    dictionary, a dictionary is only cleaned (of callables and modules), and orjson writes the rest, asking
    `_encode` for any value it cannot write itself."""

    def convert(self, obj):
        typename = self.typenames.get(obj.__class__)
        if typename in self.convert_to_dict:
            return self.convert_to_dict[typename](obj)
        if isinstance(obj, dict):
            return self.clean(obj)
        return obj


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = SpecFreeWorkflowConverter
_config[Task] = FastTaskConverter
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config, StateRegistry()))
_serializer.registry.typenames[Workflow] = "BpmnWorkflow"  # the runtime's workflows are stored as SpiffWorkflow's

# Guichet's layout of a stored state. Bump it when the layout changes, with a step in MIGRATIONS that takes a
# state of the old layout (a dict, SpiffWorkflow's part already current) to the new one; say why in its docstring.
LAYOUT = 1
MIGRATIONS: dict[int, Callable[[dict], None]] = {}
SPIFF_VERSION = _serializer.VERSION
STATE_VERSION = f"guichet-{LAYOUT}/spiff-{SPIFF_VERSION}"
_FORMAT = re.compile(r"guichet-(\d+)/spiff-([\d.]+)")


def dump_state(workflow: BpmnWorkflow) -> str:
    """The workflow's state as compact JSON, without its spec."""
    return orjson.dumps(_serializer.registry.convert(workflow), default=_encode).decode()


def _encode(value):
    # A value orjson cannot write (a timedelta, a set): the registry's conversion, as SpiffWorkflow's JSON
    # encoder applies it.
    converted = _serializer.registry.convert(value)
    if converted is value:
        raise TypeError(f"cannot store a {type(value).__name__} in workflow data")
    return converted


def load_state(state: str, version: str, spec, subprocess_specs) -> BpmnWorkflow:
    """Restore a workflow saved by dump_state (by this build or an earlier one) onto its (cached) spec."""
    dct = orjson.loads(state)
    if version != STATE_VERSION:
        upgrade(dct, version, spec, subprocess_specs)
    return _serializer.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)


def upgrade(dct: dict, version: str, spec, subprocess_specs) -> None:
    """Bring a stored state of an earlier format up to this build's, in place; ValueError for an unknown one."""
    found = _FORMAT.fullmatch(version or "")
    if found is None or int(found[1]) > LAYOUT:
        raise ValueError(f"stored workflow state has format {version!r}; this build reads {STATE_VERSION} and earlier")
    layout, spiff = int(found[1]), found[2]
    if spiff != SPIFF_VERSION:
        # SpiffWorkflow's migrations work on a whole serialization: they get the spec they look up, from the
        # parsed definition, and it is taken out again (the spec is stored once per definition, not per state).
        dct[_serializer.VERSION_KEY] = spiff
        dct["spec"] = _plain(spec)
        dct["subprocess_specs"] = {name: _plain(sub) for name, sub in subprocess_specs.items()}
        _serializer.migrate(dct)
        del dct["spec"], dct["subprocess_specs"]
    for step in range(layout, LAYOUT):
        MIGRATIONS[step](dct)


def _plain(spec) -> dict:
    """A spec as plain JSON data (what a whole SpiffWorkflow serialization holds under "spec")."""
    return orjson.loads(orjson.dumps(_serializer.registry.convert(spec), default=_encode))

"""Workflow state without its process definition.

SpiffWorkflow's serializer embeds the whole spec in every saved state (more than half its size here).
Guichet stores the spec once per definition version and re-attaches the parsed spec on load.
"""
from __future__ import annotations

import json
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """Converts a top-level workflow, leaving out `spec` and `subprocess_specs`."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        if spec is None:
            raise ValueError("a stored state needs its definition's spec to be restored")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


# Bump the "guichet-N" part when the stored layout changes, with a migration step for the old value.
_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = SpecFreeWorkflowConverter
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))
STATE_VERSION = f"guichet-1/spiff-{_serializer.VERSION}"


def dump_state(workflow: BpmnWorkflow) -> str:
    """The workflow's state as compact JSON, without its spec."""
    registry = _serializer.registry
    registry._encoder_mode = True
    try:
        return json.dumps(registry.convert(workflow), separators=(",", ":"), ensure_ascii=False)
    finally:
        registry._encoder_mode = False


def load_state(state: str, version: str, spec, subprocess_specs) -> BpmnWorkflow:
    """Restore a workflow saved by dump_state onto its (cached) spec."""
    if version != STATE_VERSION:
        raise ValueError(f"stored workflow state has version {version}; this build reads {STATE_VERSION}")
    return _serializer.registry.restore(json.loads(state), spec=spec, subprocess_specs=subprocess_specs)

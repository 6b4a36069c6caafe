"""What the transfer stage registers with the runtime: the shipped diagram deploys whichever process the
transfer is configured to start."""
from __future__ import annotations

from engine import Runtime
from engine.config import ROOT

import processes

SHIPPED = (ROOT / "bpmn" / "internal_transfer.bpmn").read_text("utf-8")


def test_the_shipped_transfer_diagram_passes_deploy_checks_when_another_process_is_configured(make_config):
    # `[transfer] process` may name a bank's own diagram; `guichet deploy` still deploys bpmn/*.bpmn, whose
    # internal_transfer timers read handover_sla: deploy checks must know what it starts with.
    runtime = Runtime()
    processes.register_all(runtime, make_config(transfer={"process": "own_transfer"}))
    runtime.validate(SHIPPED, "internal_transfer")  # raised DeploymentError: handover_sla unknown at start
    assert runtime.start_variables["own_transfer"] == runtime.start_variables["internal_transfer"]

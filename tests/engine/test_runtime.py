"""Engine scenarios on the shipped internal-transfer diagram, straight through and with a restore between steps.

"Restore" drops the runtime's warm cache and parses the definition anew before every step, so each step
loads the stored state from the database exactly as a restarted server would.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

import processes
from engine.context import transaction
from engine.db import unit_of_work
from engine.models import ProcessDefinition, ProcessInstance, Timer, WorkItem
from engine.runtime import Runtime
from engine.serializer import STATE_VERSION


@pytest.fixture(params=["straight", "restore"])
def stepper(request, services):
    """Runs engine steps, each in its own transaction; in 'restore' mode from a cold runtime every time."""

    class Stepper:
        mode = request.param

        def runtime(self) -> Runtime:
            if self.mode == "straight":
                return services.runtime
            fresh = Runtime()
            processes.register_all(fresh, services.config)
            return fresh

        def start(self, **data):
            with unit_of_work(services.sessions) as s:
                result = self.runtime().start(s, "internal_transfer", data={"handover_sla": "PT4H", **data},
                                              actor="tester", now=services.clock(), subject="测试单")
                return result.instance.id, [i.id for i in result.opened]

        def open_items(self, instance_id):
            with unit_of_work(services.sessions) as s:
                return [(i.id, i.task_name, i.lane) for i in s.scalars(select(WorkItem).where(
                    WorkItem.instance_id == instance_id, WorkItem.status == "open", WorkItem.kind == "task"))]

        def complete(self, item_id, **data):
            with unit_of_work(services.sessions) as s:
                result = self.runtime().complete(s, item_id, actor="tester", now=services.clock(), data=data)
                return [(i.task_name, i.lane) for i in result.opened], result.instance.status

    return Stepper()


def test_straight_path_to_the_end(stepper, services):
    instance_id, opened = stepper.start()
    assert [t for _, t, _ in stepper.open_items(instance_id)] == ["hop_credit"]
    (item, _, lane), = stepper.open_items(instance_id)
    assert lane == "信贷部"
    assert stepper.complete(item, decision="complete") == ([("hop_close", "营业部")], "running")
    (item, _, _), = stepper.open_items(instance_id)
    assert stepper.complete(item, decision="complete") == ([], "completed")
    with unit_of_work(services.sessions) as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance.status == "completed" and instance.ended_at is not None
        assert s.scalars(select(Timer).where(Timer.instance_id == instance_id)).all() == []


def test_return_loop_goes_back_and_forth(stepper):
    instance_id, _ = stepper.start()
    for _round in range(3):
        (item, name, _), = stepper.open_items(instance_id)
        assert name == "hop_credit"
        assert stepper.complete(item, decision="return")[0] == [("fix_intake", "营业部")]
        (item, name, _), = stepper.open_items(instance_id)
        assert name == "fix_intake"
        assert stepper.complete(item, decision="complete")[0] == [("hop_credit", "信贷部")]
    (item, _, _), = stepper.open_items(instance_id)
    stepper.complete(item, decision="complete")
    (item, name, _), = stepper.open_items(instance_id)
    assert name == "hop_close"
    # the close hop can send it back to credit as well
    assert stepper.complete(item, decision="return")[0] == [("hop_credit", "信贷部")]


def test_correction_loops_keep_the_state_flat(stepper, services):
    instance_id, _ = stepper.start()
    sizes = []
    for _round in range(25):
        (item, _, _), = stepper.open_items(instance_id)
        stepper.complete(item, decision="return")
        (item, _, _), = stepper.open_items(instance_id)
        stepper.complete(item, decision="complete")
        with unit_of_work(services.sessions) as s:
            sizes.append(len(s.get(ProcessInstance, instance_id).state))
    # history lives in handover records, not in the task tree: the stored state does not grow
    assert max(sizes) - min(sizes) < 200, sizes
    with unit_of_work(services.sessions) as s:
        assert len(s.scalars(select(Timer).where(Timer.instance_id == instance_id)).all()) == 1


def test_state_is_stored_without_the_spec_and_with_its_version(stepper, services):
    instance_id, _ = stepper.start(form_id=7)
    with unit_of_work(services.sessions) as s:
        instance = s.get(ProcessInstance, instance_id)
        state = json.loads(instance.state)
        definition = s.get(ProcessDefinition, instance.definition_id)
    assert "spec" not in state and "subprocess_specs" not in state
    assert instance.serializer_version == STATE_VERSION
    assert definition.key == "internal_transfer" and definition.version == 1


def test_completing_a_closed_item_is_a_conflict(stepper):
    instance_id, _ = stepper.start()
    (item, _, _), = stepper.open_items(instance_id)
    stepper.complete(item, decision="complete")
    from engine.errors import Conflict

    with pytest.raises(Conflict):
        stepper.complete(item, decision="complete")


def test_due_time_is_the_boundary_timer(stepper, services):
    instance_id, _ = stepper.start()
    with unit_of_work(services.sessions) as s:
        item = s.scalars(select(WorkItem).where(WorkItem.instance_id == instance_id)).one()
        timer = s.scalars(select(Timer).where(Timer.instance_id == instance_id)).one()
    assert item.due_at == timer.fire_at
    assert (item.due_at - services.clock()).total_seconds() == 4 * 3600


def test_running_instances_stay_on_their_version(services):
    from pathlib import Path

    xml = Path("bpmn/internal_transfer.bpmn").read_text("utf-8")
    with unit_of_work(services.sessions) as s:
        old = services.runtime.start(s, "internal_transfer", data={"handover_sla": "PT1H"}, actor="t",
                                     now=services.clock()).instance.id
    changed = xml.replace('name="信贷部办理"', 'name="信贷部审核办理"')
    with unit_of_work(services.sessions) as s:
        definition, created = services.runtime.deploy(s, changed, actor="manager", now=services.clock())
        assert created and definition.version == 2
        again, created_again = services.runtime.deploy(s, changed, actor="manager", now=services.clock())
        assert not created_again and again.id == definition.id
    with unit_of_work(services.sessions) as s:
        new = services.runtime.start(s, "internal_transfer", data={"handover_sla": "PT1H"}, actor="t",
                                     now=services.clock()).instance.id
        titles = {i.instance_id: i.title for i in s.scalars(select(WorkItem)).all()}
    assert titles[old] == "信贷部办理" and titles[new] == "信贷部审核办理"


def test_a_committed_step_leaves_its_workflow_warm_and_a_rolled_back_one_does_not(services, monkeypatch):
    from engine import runtime as runtime_module

    loads = []
    real_load = runtime_module.load_state
    monkeypatch.setattr(runtime_module, "load_state", lambda *a, **k: loads.append(1) or real_load(*a, **k))
    with unit_of_work(services.sessions) as s:
        result = services.runtime.start(s, "internal_transfer", data={"handover_sla": "PT4H"}, actor="t",
                                        now=services.clock())
        item_id = result.opened[0].id
    with pytest.raises(RuntimeError):
        with unit_of_work(services.sessions) as s:
            services.runtime.complete(s, item_id, actor="t", now=services.clock(), data={"decision": "return"})
            raise RuntimeError("the request failed after the step")
    assert loads == []  # the start's workflow came from the cache
    with unit_of_work(services.sessions) as s:
        services.runtime.complete(s, item_id, actor="t", now=services.clock(), data={"decision": "complete"})
    assert loads == [1]  # the rolled-back step's workflow was not reused: it was restored from the database
    with unit_of_work(services.sessions) as s:
        (item,) = s.scalars(select(WorkItem).where(WorkItem.status == "open")).all()
        assert item.task_name == "hop_close"
        done = services.runtime.complete(s, item.id, actor="t", now=services.clock(), data={"decision": "complete"})
    assert loads == [1]  # warm again after a commit
    assert done.instance.status == "completed" and done.instance.id not in services.runtime.cache  # never steps again


def test_items_change_only_through_the_columns_the_runtime_lets_callers_change(services):
    """Status, task and instance of an item are the runtime's; callers may only reassign, requeue or escalate."""
    with unit_of_work(services.sessions) as s:
        (item,) = services.runtime.start(s, "internal_transfer", data={"handover_sla": "PT1H"}, actor="t",
                                         now=services.clock()).opened
        with pytest.raises(ValueError):
            services.runtime.update_item(s, item, status="done")
        services.runtime.update_item(s, item, assignee="handler", claimed_at=services.clock())
    with unit_of_work(services.sessions) as s:
        stored = s.get(WorkItem, item.id)
        assert (stored.status, stored.assignee) == ("open", "handler")
        result = services.runtime.complete(s, item.id, actor="handler", now=services.clock(),
                                           data={"decision": "complete"})
        assert (result.completed.status, result.completed.completed_by) == ("done", "handler")


def test_a_step_does_not_read_back_the_items_it_already_knows(services):
    """A workflow knows which tasks have open items: a warm one from its last save, a restored one from its
    READY user tasks."""
    from sqlalchemy import event

    engine, reads = services.sessions.kw["bind"], []

    def count(_conn, _cursor, statement, *_rest):
        statement = " ".join(statement.split())
        if statement.startswith("SELECT") and "FROM work_item WHERE work_item.instance_id" in statement:
            reads.append(statement)

    with unit_of_work(services.sessions) as s:
        started = services.runtime.start(s, "internal_transfer", data={"handover_sla": "PT4H"}, actor="t",
                                         now=services.clock())
        item = started.opened[0]
    event.listen(engine, "before_cursor_execute", count)
    try:
        with unit_of_work(services.sessions) as s:  # the hop's SLA passes: escalation, the hop stays open
            fired = services.runtime.fire_timers(s, started.instance.id, services.clock() + timedelta(hours=4, seconds=1))
        assert fired.opened == [] and fired.closed == []
        assert len(reads) == 1  # only the escalation looking up the hop it escalates
        reads.clear()
        with unit_of_work(services.sessions) as s:
            (item,) = services.runtime.complete(s, item.id, actor="t", now=services.clock(),
                                                data={"decision": "complete"}).opened
        assert reads == []
        cold = Runtime()
        processes.register_all(cold, services.config)
        with unit_of_work(services.sessions) as s:
            done = cold.complete(s, item.id, actor="t", now=services.clock(), data={"decision": "complete"})
        assert reads == [] and done.instance.status == "completed"
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_workflow_without_timers_never_reads_timer_rows(services):
    """Timer rows mirror a workflow's waiting timers; with none before and after a step, there are none to read."""
    from sqlalchemy import event

    engine, reads = services.sessions.kw["bind"], []

    def count(_conn, _cursor, statement, *_rest):
        if " ".join(statement.split()).startswith("SELECT timer."):
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with unit_of_work(services.sessions) as s:
            started = services.runtime.start(s, "template_approval", data={}, actor="t", now=services.clock())
            (item,) = started.opened
        cold = Runtime()  # restored from the stored state, as after a restart
        processes.register_all(cold, services.config)
        with unit_of_work(services.sessions) as s:
            cold.complete(s, item.id, actor="t", now=services.clock(), data={"decision": "approve"})
        assert reads == []
        with unit_of_work(services.sessions) as s:  # with timers, the next hop takes the row over, still unread
            hop = services.runtime.start(s, "internal_transfer", data={"handover_sla": "PT4H"}, actor="t",
                                         now=services.clock()).opened[0]
        with unit_of_work(services.sessions) as s:
            (next_hop,) = services.runtime.complete(s, hop.id, actor="t", now=services.clock() + timedelta(hours=1),
                                                    data={"decision": "complete"}).opened
        assert reads == []
        with unit_of_work(services.sessions) as s:
            (timer,) = s.scalars(select(Timer).where(Timer.instance_id == next_hop.instance_id)).all()
            assert timer.fire_at == next_hop.due_at
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_items_read_ahead_serve_only_the_next_step_of_their_instance(services):
    """A step that ran no service task must not leave its read-ahead items for a later step to trust."""
    with unit_of_work(services.sessions) as s:
        started = services.runtime.start(s, "internal_transfer", data={"handover_sla": "PT4H"}, actor="t",
                                         now=services.clock())
    with unit_of_work(services.sessions) as s:
        services.runtime.read_ahead(s, [started.instance.id])
        assert started.instance.id in transaction(s).read_ahead
        services.runtime.complete(s, started.opened[0].id, actor="t", now=services.clock(),
                                  data={"decision": "complete"})
        assert started.instance.id not in transaction(s).read_ahead

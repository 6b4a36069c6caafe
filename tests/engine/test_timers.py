"""The scheduler fires due timer rows exactly once in effect; failures become incidents; fencing holds."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.db import unit_of_work
from engine.models import Timer, WorkItem
from engine.scheduler import TimerScheduler
from engine.timers import claim_due, incidents, retry_incident


def start(services, sla="PT1H"):
    with unit_of_work(services.sessions) as s:
        return services.runtime.start(s, "internal_transfer", data={"handover_sla": sla}, actor="t",
                                      now=services.clock()).instance.id


def escalations(services):
    with unit_of_work(services.sessions) as s:
        return sorted((i.escalation_level, i.assignee) for i in s.scalars(
            select(WorkItem).where(WorkItem.kind == "escalation", WorkItem.status == "open")))


def test_nothing_fires_before_it_is_due(services, clock):
    start(services)
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock)
    clock.advance(minutes=59)
    assert scheduler.tick() == 0
    assert escalations(services) == []


def test_due_timer_fires_once_and_reschedules_the_next_level(services, clock):
    start(services)
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock)
    clock.advance(hours=1, seconds=1)
    assert scheduler.tick() == 1
    assert scheduler.tick() == 0  # not again
    assert escalations(services) == [(1, "head")]
    with unit_of_work(services.sessions) as s:
        timer = s.scalars(select(Timer)).one()
    assert timer.fire_at == clock.now - timedelta(seconds=1) + timedelta(hours=1)
    clock.advance(hours=1)
    assert scheduler.tick() == 1
    assert escalations(services) == [(1, "head"), (2, "manager")]
    clock.advance(hours=5)
    assert scheduler.tick() == 0  # two levels only


def test_a_scheduler_that_was_down_fires_everything_overdue_once(services, clock):
    for _ in range(5):
        start(services)
    clock.advance(hours=1, minutes=1)  # nobody ticked during this hour
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock, batch_size=2)
    assert scheduler.tick() == 5
    assert len(escalations(services)) == 5


def test_stale_claim_is_fenced_off(services, clock):
    start(services)
    clock.advance(hours=1, minutes=30)
    with unit_of_work(services.sessions) as s:
        (old_claim,) = claim_due(s, owner="crashed", now=clock.now, limit=10, lease_seconds=30)
    clock.advance(seconds=31)  # lease expired: another scheduler takes over
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock)
    assert scheduler.tick() == 1
    assert escalations(services) == [(1, "head")]
    # the crashed scheduler's late attempt is refused by the fence
    crashed = TimerScheduler(services.runtime, services.sessions, clock=clock)
    crashed.owner = "crashed"
    assert crashed._fire_batch([old_claim]) == 0
    assert escalations(services) == [(1, "head")]


def test_failing_timer_becomes_an_incident(services, clock):
    start(services)

    def broken(call):
        raise RuntimeError("mail server down")

    services.runtime.register_operation("escalate", broken)
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock, max_attempts=3, lease_seconds=1)
    clock.advance(hours=1, seconds=1)
    for _ in range(3):
        scheduler.tick()
        clock.advance(seconds=2)
    with unit_of_work(services.sessions) as s:
        (incident,) = incidents(s)
        assert incident.attempts == 3 and "mail server down" in incident.last_error
    assert scheduler.tick() == 0  # no silent retry loop
    from processes.transfer.operations import escalate

    services.runtime.register_operation("escalate", escalate)
    with unit_of_work(services.sessions) as s:
        retry_incident(s, incident.id)
    assert scheduler.tick() == 1
    assert escalations(services) == [(1, "head")]


def test_healthz_reports_incidents_and_scheduler(client, services, clock):
    start(services)
    services.runtime.register_operation("escalate", lambda call: 1 / 0)
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock, max_attempts=1)
    clock.advance(hours=2)
    scheduler.tick()
    body = client.get("/healthz").json
    assert body["database"] == "ok"
    assert body["scheduler"]["incidents"] == 1
    assert body["scheduler"]["alive"] is True


def test_database_clock_is_utc_and_current(services):
    from engine.db import database_now, utcnow

    assert abs((database_now(services.sessions) - utcnow()).total_seconds()) < 5


def test_prefetch_restores_workflows_due_soon_and_a_stale_one_is_not_used(services, clock):
    import processes
    from engine.runtime import Runtime

    soon, later = start(services, sla="PT5M"), start(services, sla="PT2H")
    assert later != soon
    cold = Runtime()  # as `guichet scheduler` starts: nothing warm
    processes.register_all(cold, services.config)
    scheduler = TimerScheduler(cold, services.sessions, clock=clock, prefetch_seconds=600)
    assert scheduler.tick() == 0
    assert set(cold.cache) == {soon}  # due within ten minutes; the other is not
    stale_version = cold.cache.version(soon)
    # The instance steps elsewhere after the prefetch: its warm copy is stale and must not be used.
    with unit_of_work(services.sessions) as s:
        item = s.scalars(select(WorkItem).where(WorkItem.instance_id == soon, WorkItem.status == "open")).one()
        services.runtime.complete(s, item.id, actor="handler", now=clock.now, data={"decision": "complete"})
    clock.advance(minutes=5, seconds=1)
    assert scheduler.tick() == 1  # the next hop's timer (from the stored state), not the finished hop's
    with unit_of_work(services.sessions) as s:
        (esc,) = s.scalars(select(WorkItem).where(WorkItem.kind == "escalation")).all()
    assert (esc.instance_id, esc.task_name) == (soon, "hop_close")
    assert cold.cache.version(soon) > stale_version
    clock.advance(hours=2)
    assert scheduler.tick() == 2  # hop_close at level 2 and the other instance's first hop


def test_one_failing_timer_spoils_none_of_its_batch_and_none_fires_twice(services, clock):
    """A batch is one transaction; when a timer in it fails, the batch is rolled back and fired again one by one."""
    from processes.transfer.operations import escalate

    ids = [start(services) for _ in range(3)]

    def broken_for_the_second(call):
        if call.instance.id == ids[1]:
            raise RuntimeError("mail server down")
        return escalate(call)

    services.runtime.register_operation("escalate", broken_for_the_second)
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock, batch_size=10)
    clock.advance(hours=1, seconds=1)
    assert scheduler.tick() == 2
    assert escalations(services) == [(1, "head"), (1, "head")]
    with unit_of_work(services.sessions) as s:
        assert len(s.scalars(select(WorkItem).where(WorkItem.kind == "escalation")).all()) == 2
        failed = s.scalars(select(Timer).where(Timer.instance_id == ids[1])).one()
        assert "mail server down" in failed.last_error and failed.status == "waiting"
        fired = s.scalars(select(Timer).where(Timer.instance_id != ids[1])).all()
        assert all(t.last_error is None and t.fire_at > clock.now for t in fired)


def test_a_batch_reads_its_instances_and_their_open_items_once(services, clock):
    """Firing a batch reads the instances and their open task items in one statement each, not per timer."""
    from sqlalchemy import event

    for _ in range(4):
        start(services)
    engine, reads = services.sessions.kw["bind"], []

    def count(_conn, _cursor, statement, *_rest):
        statement = " ".join(statement.split())
        if statement.startswith(("SELECT process_instance.", "SELECT work_item.")):
            reads.append(statement)

    clock.advance(hours=1, seconds=1)
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock, batch_size=10)
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert scheduler.tick() == 4
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(reads) == 2
    assert escalations(services) == [(1, "head")] * 4


def test_a_crashed_schedulers_timers_fire_within_ten_seconds(services, clock):
    start(services)
    clock.advance(hours=1, seconds=1)
    crashed = TimerScheduler(services.runtime, services.sessions, clock=clock)
    with unit_of_work(services.sessions) as s:  # it claimed the timer, then died before firing it
        assert len(claim_due(s, owner="dead", now=clock(), limit=10, lease_seconds=crashed.lease_seconds)) == 1
    other = TimerScheduler(services.runtime, services.sessions, clock=clock, tick_seconds=1)
    assert other.tick() == 0  # leased
    clock.advance(seconds=crashed.lease_seconds + 0.1)
    assert crashed.lease_seconds + other.tick_seconds <= 10
    assert other.tick() == 1
    assert escalations(services) == [(1, "head")]


def test_a_long_tick_renews_its_leases_so_no_other_scheduler_takes_them(services, clock):
    for _ in range(3):
        start(services)
    clock.advance(hours=1, seconds=1)
    slow = TimerScheduler(services.runtime, services.sessions, clock=clock, commit_every=1)
    other = TimerScheduler(services.runtime, services.sessions, clock=clock)
    taken_by_other = []
    fire_batch = slow._fire_batch

    def slow_batch(claims):
        clock.advance(seconds=slow.lease_seconds * 0.6)  # each batch takes most of a lease
        taken_by_other.append(other.tick())
        return fire_batch(claims)

    slow._fire_batch = slow_batch
    assert slow.tick() == 3
    assert taken_by_other == [0, 0, 0]
    assert len(escalations(services)) == 3


def _timer_rows(services, instance_id):
    with unit_of_work(services.sessions) as s:
        return sorted((t.task_name, t.fire_at, t.fence) for t in s.scalars(
            select(Timer).where(Timer.instance_id == instance_id)))


def _complete_open_task(services, instance_id, clock, reads=None):
    from sqlalchemy import event

    engine = services.sessions.kw["bind"]

    def count(_conn, _cursor, statement, *_rest):
        if " ".join(statement.split()).startswith("SELECT timer."):
            reads.append(statement)

    with unit_of_work(services.sessions) as s:
        (item,) = [i for i in s.scalars(select(WorkItem).where(WorkItem.instance_id == instance_id,
                                                               WorkItem.status == "open"))]
        if reads is not None:
            event.listen(engine, "before_cursor_execute", count)
        try:
            services.runtime.complete(s, item.id, actor="handler", now=clock(), data={"decision": "complete"})
        finally:
            if reads is not None:
                event.remove(engine, "before_cursor_execute", count)


def test_a_step_moves_its_timer_rows_without_reading_them(services, clock):
    """A step knows the rows of the state it started from: the finished hop's row is handed to the next hop's timer."""
    instance_id = start(services)
    [(name, fire_at, fence)] = _timer_rows(services, instance_id)
    clock.advance(minutes=10)
    reads = []
    _complete_open_task(services, instance_id, clock, reads)
    assert reads == []
    [(next_name, next_fire_at, next_fence)] = _timer_rows(services, instance_id)
    assert next_fire_at == clock.now + timedelta(hours=1) and next_fence == fence + 1  # an old claim cannot fire it


def test_a_step_whose_timer_rows_are_not_what_its_state_says_reads_and_mends_them(services, clock):
    from sqlalchemy import delete

    instance_id = start(services)
    with unit_of_work(services.sessions) as s:  # behind the runtime's back
        s.execute(delete(Timer).where(Timer.instance_id == instance_id))
    clock.advance(minutes=10)
    reads = []
    _complete_open_task(services, instance_id, clock, reads)
    assert len(reads) == 1  # the row was not there: the step read the rows and made the one it needs
    [(_name, fire_at, _fence)] = _timer_rows(services, instance_id)
    assert fire_at == clock.now + timedelta(hours=1)

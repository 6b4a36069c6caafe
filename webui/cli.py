"""The `guichet` command: migrate, deploy, seed-demo, serve, scheduler, backup, restore."""
from __future__ import annotations

import gc
import logging
import signal
import sys
from pathlib import Path

import click

from engine.config import ROOT, load_config
from engine.db import make_engine, make_session_factory, unit_of_work, utcnow
from engine.deploy import DeploymentError

BPMN_DIR = ROOT / "bpmn"


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.group()
def main() -> None:
    """Guichet 业务单管理: service-window business forms, run as BPMN processes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The ticker's own chatter (every tick, and "skipped" while a long tick runs) is noise; timers log their own.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    # SpiffWorkflow logs every task state change at INFO: several lines per step, and a cost on every step.
    logging.getLogger("spiff").setLevel(logging.WARNING)


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from engine.migrate import upgrade

    config = load_config()
    _say(f"迁移数据库 / migrating {config['database']['url']} …")
    upgrade(config["database"]["url"])
    _move_keys(config)
    _say("数据库已是最新 / schema up to date")


def _move_keys(config: dict) -> None:
    """Move data keys still on form rows into the key store (outside the database and its backups)."""
    from processes.forms import personal

    sessions = make_session_factory(make_engine(config["database"]["url"]))
    with unit_of_work(sessions) as session:
        moved = personal.move_keys_to_store(session, personal.keyring(config))
    if moved:
        _say(f"数据密钥已移入密钥库 / {moved} data keys moved to the key store")
    _seal_values(config, sessions)


def _seal_values(config: dict, sessions) -> None:
    """Seal the form values still stored in clear from before sealing (archive seals kept true)."""
    from processes.archive import service as archive
    from processes.forms import personal

    from processes.external import snapshot

    with unit_of_work(sessions) as session:
        sealed = archive.seal_stored_values(session, personal.keyring(config), now=utcnow(),
                                            progress=lambda n: _say(f"  已加密 {n} 份业务单 / {n} forms sealed"))
        wrapped = snapshot.wrap_older_keys(session, personal.keyring(config))
    if sealed:
        _say(f"业务单内容已加密 / {sealed} forms' values sealed under their data keys")
    if wrapped:
        _say(f"对外移交快照密钥已改由业务单密钥保护 / {wrapped} transfer keys wrapped under their forms' keys")


@main.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", default="system", help="Recorded as the deployer.")
def deploy(files: tuple[Path, ...], actor: str) -> None:
    """Deploy BPMN files (default: every file in bpmn/) as new versions; unchanged files make no version."""
    from processes.services import compose

    services = compose()
    paths = list(files) or sorted(BPMN_DIR.glob("*.bpmn"))
    failed = False
    for i, path in enumerate(paths, 1):
        try:
            with unit_of_work(services.sessions) as session:
                definition, created = services.runtime.deploy(session, path.read_text("utf-8"), actor=actor, now=utcnow())
                if created:
                    _audit_deploy(session, definition, actor)
            state = "新版本 / new version" if created else "未变化 / unchanged"
            _say(f"[{i}/{len(paths)}] {path.name}: {definition.key} v{definition.version} ({state})")
        except DeploymentError as exc:
            failed = True
            _say(f"[{i}/{len(paths)}] {path.name}: 拒绝部署 / refused")
            for p in exc.problems:
                _say(f"    {p.element_id or '-'}: {p.message}")
    if failed:
        sys.exit(1)


@main.command("seed-demo")
def seed_demo() -> None:
    """Create the demo organisation and users (password guichet-demo)."""
    from processes.demo import DEMO_PASSWORD
    from processes.demo import seed_demo as seed
    from processes.org.service import hasher

    from processes.demo import seed_stages
    from processes.services import compose

    services = compose()
    config = services.config
    with unit_of_work(services.sessions) as session:
        users = seed(session, password_hash=hasher(config).hash(DEMO_PASSWORD), now=utcnow())
    _say("演示历史数据 / demo history …")
    with unit_of_work(services.sessions) as session:
        seed_stages(session, services.runtime, config)
    _say(f"演示账号 / demo logins (密码 password: {DEMO_PASSWORD}):")
    for username, name, _role in users:
        _say(f"    {username:<10} {name}")


@main.command()
@click.option("--scheduler/--no-scheduler", default=None, help="Run the timer scheduler too (default: config).")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=1, show_default=True,
              help="Web processes. 1: waitress in this process; more: gunicorn workers (Linux), with the scheduler "
                   "as a separate process.")
def serve(scheduler: bool | None, workers: int) -> None:
    """Serve the web app and, unless disabled, the timer scheduler."""
    from waitress import serve as waitress_serve

    from webui.app import create_app

    if workers > 1:
        from webui import server

        config = load_config()
        if config["database"]["url"].startswith("sqlite"):
            _say("注意: 多个进程共用 SQLite 会相互等待写锁, 请使用 PostgreSQL / "
                 "several processes on SQLite wait for each other's write lock; use PostgreSQL")
        with_scheduler = scheduler if scheduler is not None else config["scheduler"]["enabled"]
        _say(f"Guichet 已启动 / running at http://{config['server']['host']}:{config['server']['port']} "
             f"({workers} workers{', scheduler process' if with_scheduler else ''})")
        server.run(config["server"], workers, with_scheduler=with_scheduler)
        return

    app = create_app()
    settle()
    services = app.extensions["guichet"]
    config = services.config
    if scheduler if scheduler is not None else config["scheduler"]["enabled"]:
        services.scheduler = _scheduler(services)
        services.scheduler.start()
        _say("定时器调度已启动 / scheduler started")
    host, port = config["server"]["host"], config["server"]["port"]
    _say(f"Guichet 已启动 / running at http://{host}:{port}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        waitress_serve(app, host=host, port=port, threads=config["server"]["threads"], ident="guichet")
    finally:
        if services.scheduler is not None:
            services.scheduler.shutdown()


def settle() -> None:
    """Leave what start-up built (specs, SQLAlchemy's metadata, templates) out of every later garbage collection.

    A full collection walks every tracked object; start-up objects live as long as the process, and
    walking them made a full collection cost several steps' worth of time.
    """
    gc.collect()
    gc.freeze()


@main.command("scheduler")
def scheduler_only() -> None:
    """Run the timer scheduler alone (several may run against one PostgreSQL)."""
    from processes.services import compose

    services = compose(background_checkpoints=True)
    settle()
    _say("定时器调度运行中 / scheduler running (Ctrl+C to stop)")
    _scheduler(services).run_forever()


@main.command()
@click.option("--retry", "retry_id", type=int, help="Put this incident's timer back in the queue.")
def incidents(retry_id: int | None) -> None:
    """List timers that stopped retrying (incidents), or retry one."""
    from engine.timers import incidents as list_incidents
    from engine.timers import retry_incident

    config = load_config()
    sessions = make_session_factory(make_engine(config["database"]["url"]))
    with unit_of_work(sessions) as session:
        if retry_id is not None:
            retry_incident(session, retry_id)
            _say(f"定时器 {retry_id} 已重新排队 / requeued")
            return
        rows = list_incidents(session)
        if not rows:
            _say("没有故障定时器 / no incidents")
        for t in rows:
            _say(f"#{t.id} instance {t.instance_id} {t.task_name} due {t.fire_at:%Y-%m-%d %H:%M:%S} "
                 f"attempts {t.attempts}: {t.last_error}")
        from engine.incidents import open_incidents

        for i in open_incidents(session):
            _say(f"流程故障 / incident {i.id} {i.kind} {i.process_key} {i.element_id} ×{i.occurrences} "
                 f"{i.last_seen_at:%Y-%m-%d %H:%M:%S}: {i.message}")


@main.command("run-job")
@click.argument("name", required=False)
@click.option("--period", help="The period to run (default: the current one, e.g. today's date).")
def run_job(name: str | None, period: str | None) -> None:
    """Run a cron job now (backup, retention scan, ...) unless its period already ran; no NAME lists the jobs."""
    from engine.cron import recent_runs
    from processes.services import compose

    services = compose()
    jobs = services.runtime.cron.jobs
    if not name:
        for job in jobs.values():
            _say(f"{job.name:32} {job.cron:16} {job.title}")
        with services.sessions() as session:
            for run in recent_runs(session, limit=20):
                _say(f"  {run.started_at:%Y-%m-%d %H:%M} {run.job} {run.period}: {run.status} {run.detail}")
        return
    if name not in jobs:
        raise click.UsageError(f"没有名为 {name} 的定时作业 / no such job; known: {', '.join(sorted(jobs)) or '-'}")
    run = _scheduler(services).run_job(name, period=period)
    if run is None:
        _say(f"{name}: 该周期已由其他进程运行 / this period ran already (or is running elsewhere)")
        return
    _say(f"{name} {run.period}: {run.status} {run.detail}")
    if run.status != "done":
        sys.exit(1)


def _audit_deploy(session, definition, actor: str) -> None:
    from processes.audit import service as audit

    audit.record(session, actor=actor, action="bpmn.deploy", object_type="process_definition", object_id=definition.id,
                 now=definition.deployed_at, details={"key": definition.key, "version": definition.version,
                                                      "sha256": definition.sha256})


@main.group()
def audit() -> None:
    """The audit chain (审计日志)."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the whole audit chain; name the first broken event (exit code 1 when broken)."""
    import processes
    from processes.audit import service as audit_service

    config = load_config()
    sessions = make_session_factory(make_engine(config["database"]["url"]))
    with unit_of_work(sessions) as session:
        verdict = audit_service.verify(session)
        problems = processes.record_checks(session, config)
    for problem in problems:  # sealed records the chain vouches for (external-transfer snapshots)
        _say(f"记录被改动 / altered record: {problem}")
    if verdict.ok:
        _say(f"审计链完整 / audit chain intact: {verdict.checked} events")
        if problems:
            sys.exit(1)
        return
    _say(f"审计链断裂 / audit chain broken at event #{verdict.broken_seq} (id {verdict.broken_id}): {verdict.reason}")
    sys.exit(1)


@main.command("rotate-key")
def rotate_key() -> None:
    """Replace the master key and re-wrap every form's data key (the encrypted values are not rewritten)."""
    import base64
    import os

    from processes.external import snapshot as external_snapshot
    from processes.forms import personal

    config = load_config()
    if config["security"].get("master_key"):
        _say("主密钥来自环境变量, 请在密钥管理处更换后使用 GUICHET_SECURITY_MASTER_KEY 提供新密钥 / "
             "the master key comes from the environment; rotate it there")
        sys.exit(2)
    path = personal.key_path(config)
    old = personal.keyring(config)
    new_key = os.urandom(32)
    staged = path.with_name(path.name + ".next")
    staged.write_text(base64.b64encode(new_key).decode())  # kept until the database says the data keys moved
    staged.chmod(0o600)
    sessions = make_session_factory(make_engine(config["database"]["url"]))
    with unit_of_work(sessions) as session:
        count = personal.rotate(session, old, new_key)
        count += external_snapshot.rotate(session, old, new_key)
    previous = path.with_name(path.name + ".previous")
    path.replace(previous)
    staged.replace(path)
    personal.forget_keyrings()
    _say(f"主密钥已更换 / master key rotated: {count} data keys re-wrapped (key id {personal.key_id(new_key)}); "
         f"the old key is in {previous.name} until you delete it")


@main.group()
def user() -> None:
    """Staff accounts (员工账号): deactivate, sign out everywhere, set a password."""


def _account_change(change, username: str, done: str, **kwargs) -> None:
    from engine.errors import EngineError

    config = load_config()
    sessions = make_session_factory(make_engine(config["database"]["url"]))
    try:
        with unit_of_work(sessions) as session:
            change(session, username=username, actor="admin-cli", now=utcnow(), **kwargs)
    except EngineError as exc:
        fields = (exc.details or {}).get("fields", {})
        _say(f"{exc.message}: " + "; ".join(fields.values()) if fields else exc.message)
        sys.exit(1)
    _say(done)


@user.command("deactivate")
@click.argument("username")
def user_deactivate(username: str) -> None:
    """停用: the user can no longer sign in; their page sessions and API tokens end now."""
    from processes.org import access

    _account_change(access.deactivate, username, f"{username} 已停用, 会话与令牌已失效 / deactivated, signed out")


@user.command("revoke")
@click.argument("username")
def user_revoke(username: str) -> None:
    """Sign a user out everywhere (page sessions and API tokens); the account stays active."""
    from processes.org import access

    _account_change(access.revoke, username, f"{username} 的会话与令牌已失效 / signed out everywhere")


@user.command("set-password")
@click.argument("username")
@click.password_option(prompt="新密码 / new password")
def user_set_password(username: str, password: str) -> None:
    """A new password; every session and token of the user ends."""
    from processes.org import access
    from processes.org.service import hasher

    _account_change(access.set_password, username, f"{username} 的密码已更新 / password set",
                    password=password, ph=hasher(load_config()))


def _scheduler(services):
    from engine.db import database_now
    from engine.scheduler import TimerScheduler

    cfg = services.config["scheduler"]
    return TimerScheduler(services.runtime, services.sessions, tick_seconds=cfg["tick_seconds"],
                          batch_size=cfg["batch_size"], lease_seconds=cfg["lease_seconds"],
                          max_attempts=cfg["max_attempts"], prefetch_seconds=cfg.get("prefetch_seconds", 0),
                          clock=lambda: database_now(services.sessions),
                          timezone=services.config["app"]["timezone"])


if __name__ == "__main__":
    main()


@main.command()
@click.option("--actor", default="system", help="Recorded as who took the backup.")
def backup(actor: str) -> None:
    """Back the database up into [backup] dir while the server runs, with a manifest; verify it by restoring it."""
    from processes.archive import backups

    config = load_config()
    sessions = make_session_factory(make_engine(config["database"]["url"]))
    with click.progressbar(length=100, label="备份 / backing up", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.update(int(100 * done / max(total, 1)) - bar.pos)

        try:
            with unit_of_work(sessions) as session:
                record = backups.backup_now(session, config, actor=actor, now=utcnow(), progress=progress)
                name, digest, verified, detail = record.filename, record.sha256, record.verified, record.verify_detail
        except backups.BackupError as exc:
            _say(f"\n备份失败 / backup failed: {exc.message}")
            sys.exit(1)
        bar.update(100 - bar.pos)
    _say(f"{backups.backup_dir(config) / name}  sha256 {digest}")
    _say(f"{'已校验 / verified' if verified else '校验失败 / verification FAILED'}: {detail}")
    if not verified:
        sys.exit(1)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "to_url", required=True, help="The empty database to restore into (SQLAlchemy URL).")
def restore(file: Path, to_url: str) -> None:
    """Restore a backup into an EMPTY database (a database holding tables is refused)."""
    from processes.archive import backups

    try:
        manifest = backups.restore(file, to_url)
    except backups.BackupError as exc:
        _say(f"恢复被拒绝 / restore refused: {exc.message}")
        sys.exit(1)
    from sqlalchemy.engine import make_url

    _say(f"已恢复 / restored {file.name} → {make_url(to_url).render_as_string(hide_password=True)}"
         + (f" ({sum(manifest['tables'].values())} rows, audit head #{manifest['audit_head']['seq']})" if manifest else ""))

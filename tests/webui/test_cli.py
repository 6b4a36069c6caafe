"""The `guichet` command on a fresh SQLite file."""
from __future__ import annotations

from click.testing import CliRunner

from webui.cli import main


def run(tmp_path, *args, **env):
    environment = {"GUICHET_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "GUICHET_APP_INSTANCE_PATH": str(tmp_path),
                   "GUICHET_SECURITY_ARGON2_TIME_COST": "1", "GUICHET_SECURITY_ARGON2_MEMORY_COST": "1024",
                   "GUICHET_APP_DEMO_HISTORY_FORMS": "6", **env}
    return CliRunner().invoke(main, list(args), env=environment, catch_exceptions=False)


def test_set_up_from_nothing(tmp_path):
    assert "schema up to date" in run(tmp_path, "migrate").output
    first = run(tmp_path, "deploy")
    assert first.exit_code == 0 and "internal_transfer v1 (新版本 / new version)" in first.output
    assert "internal_transfer v1 (未变化 / unchanged)" in run(tmp_path, "deploy").output
    seeded = run(tmp_path, "seed-demo")
    assert "guichet-demo" in seeded.output and "handler" in seeded.output
    assert run(tmp_path, "seed-demo").exit_code == 0  # idempotent
    assert "no incidents" in run(tmp_path, "incidents").output


def test_refused_diagram_names_the_element(tmp_path):
    run(tmp_path, "migrate")
    bad = tmp_path / "bad.bpmn"
    bad.write_text(open("bpmn/internal_transfer.bpmn", encoding="utf-8").read()
                   .replace('decision == "return"', "__import__('os')", 1), encoding="utf-8")
    result = run(tmp_path, "deploy", str(bad))
    assert result.exit_code == 1 and "拒绝部署" in result.output and "flow_credit_return" in result.output


def test_backup_and_restore_from_the_command_line(tmp_path):
    run(tmp_path, "migrate")
    taken = run(tmp_path, "backup")
    assert taken.exit_code == 0 and "已校验 / verified" in taken.output
    (backup,) = (tmp_path / "backups").glob("guichet-*.sqlite")
    assert (tmp_path / "backups" / (backup.name + ".manifest.json")).exists()
    refused = run(tmp_path, "restore", str(backup), "--to", f"sqlite:///{tmp_path}/cli.db")
    assert refused.exit_code == 1 and "不是空的" in refused.output
    restored = run(tmp_path, "restore", str(backup), "--to", f"sqlite:///{tmp_path}/copy.db")
    assert restored.exit_code == 0 and "已恢复" in restored.output
    blocked = run(tmp_path, "backup", GUICHET_BACKUP_DIR=str(tmp_path / "cli.db" / "nope"))
    assert blocked.exit_code == 1 and "备份目录不可写" in blocked.output


def test_the_shipped_diagrams_deploy_when_hand_overs_run_another_process(tmp_path):
    """With [transfer] process set to another diagram (the load test's three_tasks), the shipped internal_transfer
    still deploys (its start variables are declared for it too, so the deploy's trial run can evaluate its timers)
    and the demo seeds without the records that need the shipped hand-over route."""
    env = {"GUICHET_TRANSFER_PROCESS": "three_tasks"}
    run(tmp_path, "migrate", **env)
    shipped = run(tmp_path, "deploy", **env)
    assert shipped.exit_code == 0 and "internal_transfer v1 (新版本 / new version)" in shipped.output, shipped.output
    bench = run(tmp_path, "deploy", "bench/three_tasks.bpmn", **env)
    assert bench.exit_code == 0 and "three_tasks v1" in bench.output, bench.output
    seeded = run(tmp_path, "seed-demo", **env)
    assert seeded.exit_code == 0 and "handler" in seeded.output, seeded.output

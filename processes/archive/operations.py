"""What the archive registers: the loan diagram's overdue escalation, its inbox completer, and the nightly jobs."""
from __future__ import annotations

from engine import CronJob
from engine import Runtime, ServiceCall

from ..inbox import actions, escalations
from ..org import service as org
from . import backups, custody, integrity
from .models import Loan


def loan_overdue(call: ServiceCall):
    """借阅逾期: mark the loan overdue and give the borrower's superior an escalation item."""
    item = call.attached_item
    loan = call.session.get(Loan, call.instance.ref_id) if call.instance.ref_id else None
    if item is None or loan is None or loan.status != "lent":
        return None
    loan.overdue = True
    borrower = org.get_by_username(call.session, loan.borrower)
    chain = org.superior_chain(call.session, borrower) if borrower else []
    if chain:
        call.add_follow_up(item, kind="escalation", title=f"借阅逾期督办: {item.subject}", assignee=chain[0].username,
                           escalation_level=1, parent_changes={"escalation_level": 1})
    else:
        call.runtime.update_item(call.session, item, escalation_level=1)
    call.session.flush()
    return {"escalated_to": chain[0].username if chain else None}


def loan_escalation_forbids(session, step, actor, action: str) -> str | None:
    """A late loan is the borrower's to return and the archive's to receive: the borrower's superior urges."""
    verb = {"reassign": "改派", "take_over": "接办"}.get(action)
    return f"借阅案卷须由借阅人归还、档案管理员签收, 不能{verb}; 请催办借阅人" if verb else None


# 催办 reminds the borrower (recorded); nobody else can return the volume for them.
LOAN_ESCALATION_HOOKS = escalations.Hooks(candidates=lambda session, step: [], forbids=loan_escalation_forbids)


def register(runtime: Runtime, config: dict) -> None:
    """Register the loan escalation, the loan's inbox completer and the nightly backup and integrity jobs."""
    runtime.register_operation("archive_loan_overdue", loan_overdue)
    actions.register(custody.LOAN_PROCESS, custody.complete_from_inbox)
    escalations.register(custody.LOAN_PROCESS, LOAN_ESCALATION_HOOKS)
    runtime.declare_start_variables(custody.LOAN_PROCESS, {"loan_id": 1, "loan_due": "2026-01-31T17:00:00+08:00"})

    def nightly_backup(session, now):
        backup = backups.backup_now(session, config, actor="system", now=now)
        return f"{backup.filename} {'verified' if backup.verified else 'NOT verified'}"

    def nightly_integrity(session, now):
        run = integrity.check_slice(session, config, now=now)
        return f"checked {run.checked} of {run.total}, mismatches {run.mismatches}"

    runtime.cron.add(CronJob("archive.backup", config["backup"]["cron"], run=nightly_backup, title="每日备份"))
    runtime.cron.add(CronJob("archive.integrity", config["archive"]["integrity_cron"], run=nightly_integrity,
                             title="存储完整性校验"))

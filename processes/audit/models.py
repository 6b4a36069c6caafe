"""Audit events and the head of their hash chain."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine import Base, UTCDateTime


def N_(text: str) -> str:
    """Marks a label for translation where it is shown (the web UI's catalogue); returns it unchanged."""
    return text


ACTIONS = {
    "form.create": N_("填单"),
    "form.submit": N_("提交"),
    "form.correct": N_("更正"),
    "form.reveal": N_("查看敏感信息"),
    "form.handover": N_("移交"),
    "template.design": N_("设计模板"),
    "template.review": N_("模板审核"),
    "template.approve": N_("模板批准"),
    "template.publish": N_("模板启用"),
    "bpmn.deploy": N_("部署流程"),
    "bpmn.deploy_requested": N_("申请部署新版本"),
    "form.view_granted": N_("按授权查看业务单"),
    "calendar.day_set": N_("设置工作日历"),
    "calendar.day_remove": N_("删除工作日历中的日子"),
    "form.attach": N_("上传附件"),
    "form.attachment_view": N_("查看附件"),
    "external_transfer.start": N_("申请对外移交"),
    "external_transfer.check": N_("对外移交核对"),
    "external_transfer.approve": N_("对外移交批准"),
    "external_transfer.snapshot": N_("对外移交备份快照"),
    "external_transfer.package_download": N_("下载移交包"),
    "external_transfer.link_issued": N_("生成签收链接"),
    "external_transfer.link_revoked": N_("作废签收链接"),
    "external_transfer.link_used": N_("使用签收链接"),
    "external_transfer.link_locked": N_("签收链接锁定"),
    "external_transfer.receipt": N_("签收"),
    "external_transfer.await_receipt": N_("确认签收"),
    "external_transfer.receipt_view": N_("查看纸质签收凭证"),
    "external_transfer.escalate": N_("签收逾期上报"),
    "inspection.run": N_("监督检查"),
    "inspection.finding": N_("添加检查发现"),
    "inspection.close": N_("检查评价"),
    "rectification.issue": N_("下发整改通知书"),
    "rectification.respond": N_("整改反馈"),
    "rectification.reinspect": N_("复查"),
    "rectification.evidence": N_("上传整改佐证"),
    "training.record": N_("记录培训"),
    "appraisal.record": N_("考核评价"),
    "archive.file": N_("归档"),
    "archive.volume_create": N_("立卷"),
    "archive.volume_add": N_("组卷"),
    "archive.volume_close": N_("装订"),
    "archive.volume_move": N_("案卷移库"),
    "archive.room_enter": N_("进入档案室"),
    "archive.room_leave": N_("离开档案室"),
    "archive.loan": N_("借出案卷"),
    "archive.loan_approve": N_("批准借阅"),
    "archive.loan_return": N_("归还案卷"),
    "archive.backup": N_("备份"),
    "archive.backup_verify": N_("备份校验"),
    "archive.backup_delete": N_("删除旧备份"),
    "archive.integrity_check": N_("完整性校验"),
    "archive.reseal": N_("加密存量内容后重新固化"),
    "query.apply": N_("申请查询"),
    "query.head_review": N_("查询申请部门负责人审核"),
    "query.superior_report": N_("查询申请上报上级"),
    "query.compliance_review": N_("查询申请合规审核"),
    "query.management_approval": N_("查询申请管理层审批"),
    "query.external_approval": N_("外部查询审批"),
    "query.grant": N_("授予查看权限"),
    "query.revoke": N_("收回查看权限"),
    "query.scan_add": N_("上传查询材料扫描件"),
    "query.scan_view": N_("查看查询材料扫描件"),
    "query.disclosure_download": N_("下载对外提供的材料"),
    "query.disclosure_handover": N_("交付对外提供的材料"),
    "destruction.propose": N_("提出销毁清单"),
    "destruction.scan": N_("扫描到期档案"),
    "destruction.appraise_archive": N_("档案部门鉴定"),
    "destruction.appraise_department": N_("业务部门鉴定"),
    "destruction.department_review": N_("部门负责人审核销毁"),
    "destruction.approve": N_("批准销毁"),
    "destruction.execute": N_("执行销毁"),
    "destruction.hold": N_("冻结 (暂停销毁)"),
    "destruction.hold_release": N_("解除冻结"),
    "retention.rule": N_("设置保管期限"),
    "auth.lockout": N_("登录锁定"),
    "user.deactivate": N_("停用账号"),
    "user.revoke": N_("注销会话与令牌"),
    "user.password": N_("重设密码"),
    "escalation.urge": N_("督办: 催办"),
    "escalation.reassign": N_("督办: 改派"),
    "escalation.take_over": N_("督办: 接办"),
    "query.urge": N_("查询审批督办: 催办"),
    "query.reassign": N_("查询审批督办: 改派"),
    "query.take_over": N_("查询审批督办: 接办"),
    "destruction.urge": N_("销毁审批督办: 催办"),
    "destruction.reassign": N_("销毁审批督办: 改派"),
    "destruction.take_over": N_("销毁审批督办: 接办"),
}

# What an event's details say, as the audit page labels them (keys the services record).
DETAIL_LABELS = {
    "number": N_("单号"), "decision": N_("决定"), "from_step": N_("环节"), "from_department": N_("移交部门"),
    "to": N_("移交至"), "closed": N_("已办结"), "template_id": N_("模板编号"), "version": N_("版本"),
    "fields": N_("字段"), "field": N_("字段"), "seq": N_("更正序号"), "reason": N_("原因"),
    "attachment": N_("附件编号"), "size": N_("大小(字节)"), "key": N_("流程"), "sha256": N_("摘要"),
    "requested_by": N_("申请人"), "request": N_("申请编号"),
    "archival_code": N_("档号"), "archival_codes": N_("档号"), "title": N_("题名"), "business_type": N_("业务类型"),
    "year": N_("年度"), "items": N_("件数"), "pages": N_("页数"), "from": N_("原位置"), "room": N_("档案室"),
    "visitor": N_("来访人"), "borrower": N_("借阅人"), "due_date": N_("归还日期"), "status": N_("状态"),
    "late": N_("逾期"), "file": N_("文件"), "verified": N_("校验通过"), "keep": N_("保留份数"),
    "checked": N_("已校验"), "mismatches": N_("不符"),
    "form": N_("业务单"), "recipient_unit": N_("接收单位"), "full_fields": N_("全文字段"),
    "receipt_days": N_("签收期限(天)"), "snapshot_sha256": N_("快照摘要"),
    "sealed_sha256": N_("密封摘要"), "link": N_("签收链接编号"), "expires_at": N_("有效期至"),
    "format": N_("格式"), "kind": N_("方式"), "scan_sha256": N_("扫描件摘要"), "level": N_("升级级别"),
    "receipt": N_("签收凭证编号"), "step_name": N_("环节"),
    "username": N_("账号"), "failures": N_("失败次数"), "until": N_("锁定至"),
    "note": N_("说明"), "step": N_("环节"), "holder": N_("办理人"), "grantee": N_("被授权人"), "grant": N_("授权编号"),
    "copy": N_("可复制"), "days": N_("天数"), "channel": N_("途径"), "scan": N_("扫描件编号"), "handover": N_("交接编号"),
    "department": N_("部门"), "stage": N_("阶段"), "deadline": N_("整改期限"), "round": N_("轮次"),
    "topic": N_("培训主题"), "attendees": N_("参加人数"), "quarter": N_("季度"), "subject": N_("考核对象"),
    "rating": N_("评价"), "forms": N_("业务单数"), "supervisors": N_("监销人"), "register_sha256": N_("销毁清册摘要"),
    "key_backups_expire_at": N_("密钥备份到期"), "hold": N_("冻结编号"), "retention": N_("保管期限"),
    "before": N_("原保管期限"), "legal_basis": N_("依据"),
}
# The objects events concern, as the audit page names them (the code stays on hover).
OBJECT_TYPES = {
    "form": N_("业务单"), "template_version": N_("模板版本"), "process_definition": N_("流程定义"),
    "deployment_request": N_("部署申请"), "external_transfer": N_("对外移交"), "query_request": N_("查询申请"),
    "destruction": N_("销毁清单"), "retention_rule": N_("保管期限规则"), "volume": N_("案卷"), "room_visit": N_("档案室出入"),
    "backup": N_("备份"), "integrity_run": N_("完整性校验"), "inspection": N_("监督检查"), "rectification": N_("整改通知书"),
    "training": N_("培训"), "appraisal": N_("考核"), "user": N_("账号"), "calendar_day": N_("工作日历"),
}
# Details whose values are people (shown by name) or steps of a diagram (shown by the step's name).
PERSON_DETAILS = {"requested_by", "holder", "grantee", "visitor", "borrower", "username"}
STEP_DETAILS = {"from_step", "step"}
FIELD_DETAILS = {"field", "fields", "full_fields"}
# Decisions as the audit log names them, across stages (each stage's pages word its own choices).
DECISIONS = {"submit": N_("提交"), "complete": N_("办理完成"), "return": N_("退回"), "approve": N_("批准"),
             "respond": N_("反馈整改"), "pass": N_("复查通过"), "fail": N_("复查不通过")}


class AuditEvent(Base):
    """审计事件: who did what to which object, when; its hash covers the previous event's hash."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(50), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def action_label(self) -> str:
        """The action as staff say it."""
        return ACTIONS.get(self.action, self.action)

    @property
    def object_label(self) -> str:
        """The object's kind as staff say it."""
        return OBJECT_TYPES.get(self.object_type, self.object_type)


class AuditHead(Base):
    """The chain's last sequence number and hash; its row lock makes appends take turns."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))

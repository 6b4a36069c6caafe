"""Executing an approved destruction (R4.5.3-R4.5.4): the checks, two supervisors, crypto-shredding, tombstones.

Before anything is destroyed the batch is checked against what management approved: the same forms, none held,
none under a live query grant, none in an external transfer awaiting its receipt, none destroyed already; any
difference stops it and lists the differences. Then each form's data key is destroyed in the key store, so its
sealed values and attachments can never be read again, in the database's earlier backups too (they hold no keys;
the key store's own backups expire after [keys] backup_keep_days). The form row keeps only what a tombstone says.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from engine import Base

from ..archive.models import Filing, Volume
from ..archive.service import seals_of
from ..audit import service as audit
from ..errors import Conflict, Forbidden, ValidationFailed
from ..forms import keystore, personal
from ..forms.models import Attachment, Correction, Form, SensitiveValue
from ..org import service as org
from ..org.models import User
from ..documents import content_sha256
from . import policy, retention
from .register import register_content
from .models import Destruction, DestructionItem, DestructionStep, Tombstone
from .service import _chunks, get, item_form_ids

PAPER_METHODS = ("碎纸", "焚烧", "委托销毁")
SUPERVISOR_ROLES = {"inspector", "archivist", "manager"}


class Differences(Conflict):
    """The batch differs from what may be destroyed; nothing was destroyed."""

    code = "destruction_check_failed"


def check(session: Session, batch: Destruction, *, now: datetime) -> list[str]:
    """What stops execution (R4.5.3), each in words; empty when the batch may be executed."""
    found = []
    if batch.status != "approved":
        return [f"销毁批次状态为“{batch.status_label}”, 只有已批准的批次可以执行"]
    listed = item_form_ids(session, batch.id)
    approved = set(batch.approved_form_ids or [])
    codes = {i.form_id: i.archival_code or f"#{i.form_id}" for i in session.scalars(
        select(DestructionItem).where(DestructionItem.destruction_id == batch.id))}
    found += [f"{codes[i]} 不在批准的清单中 (批准后加入)" for i in listed if i not in approved]
    found += [f"业务单 #{i} 已批准销毁, 但不在待销毁清单中" for i in sorted(approved - set(listed))]
    for ids in _chunks(listed):
        for form_id, hold in retention.held_form_ids(session, ids).items():
            found.append(f"{codes[form_id]} 已暂缓销毁 (#{hold.id}: {hold.reason})")
        found += [f"{codes[i]} 已销毁" for i in session.scalars(select(Tombstone.form_id).where(
            Tombstone.form_id.in_(ids)))]
        grants = Base.metadata.tables.get("granted_form")  # the query-approval stage, where it is installed
        if grants is not None:
            found += [f"{codes[i]} 在有效的查询授权中 (至 {at:%Y-%m-%d %H:%M})" for i, at in session.execute(
                select(grants.c.form_id, grants.c.expires_at).where(grants.c.form_id.in_(ids),
                                                                    grants.c.expires_at > now))]
        transfers = Base.metadata.tables.get("external_transfer")  # the external-transfer stage, where installed
        if transfers is not None:
            found += [f"{codes[i]} 已对外移交, 尚待签收" for i in session.scalars(
                select(transfers.c.form_id).where(transfers.c.form_id.in_(ids), transfers.c.status == "sent"))]
    return found


def _supervisors(session: Session, config: dict, batch: Destruction, actor: User, given) -> list[User]:
    """The two 监销人, each confirmed by their password; 422 / 403 saying what is wrong."""
    if not isinstance(given, list) or len(given) != 2 or not all(isinstance(s, dict) for s in given):
        raise ValidationFailed({"supervisors": "须由两名监销人各自输入用户名和密码确认"})
    names = [str(s.get("username") or "").strip() for s in given]
    if names[0] == names[1]:
        raise ValidationFailed({"supervisors": "两名监销人不能是同一人"})
    took_part = {batch.created_by, actor.username} | set(session.scalars(
        select(DestructionStep.decided_by).where(DestructionStep.destruction_id == batch.id)))
    ph = org.hasher(config)
    people = []
    for n, (name, entry) in enumerate(zip(names, given), 1):
        user = org.get_by_username(session, name)
        if user is None or not user.active:
            raise ValidationFailed({"supervisors": f"第 {n} 名监销人不存在: {name or '(未填写)'}"})
        if user.role not in SUPERVISOR_ROLES:
            raise ValidationFailed({"supervisors": f"{user.display_name} 不能担任监销人 (须为监督检查、档案或管理层人员)"})
        if name in took_part:
            raise ValidationFailed({"supervisors": f"{user.display_name} 参与了本批次的提出、审批或执行, 不能担任监销人"})
        password = entry.get("password")
        if not isinstance(password, str) or org.authenticate(session, name, password, ph=ph) is None:
            raise Forbidden(f"第 {n} 名监销人 {user.display_name} 的密码不正确")
        people.append(user)
    return people


def paper_volumes(session: Session, batch: Destruction) -> list[Volume]:
    """The paper volumes (案卷) the batch's forms are filed in: each needs its method and place at execution."""
    ids = select(DestructionItem.volume_id).where(DestructionItem.destruction_id == batch.id,
                                                  DestructionItem.volume_id.is_not(None)).distinct()
    return list(session.scalars(select(Volume).where(Volume.id.in_(ids)).order_by(Volume.id)))


def _paper(session: Session, batch: Destruction, given) -> list[dict]:
    """Paper volumes destroyed with the batch: method (碎纸 / 焚烧 / 委托销毁) and place, one entry per volume."""
    volumes = {v.id: v for v in paper_volumes(session, batch)}
    given = [] if given is None else given
    if not isinstance(given, list) or not all(isinstance(e, dict) for e in given):
        raise ValidationFailed({"paper": "纸质案卷的销毁方式须为列表, 每卷一项: 案卷、销毁方式、销毁地点"})
    out, seen = [], set()
    for entry in given:
        volume_id, method = entry.get("volume_id"), entry.get("method")
        place = entry.get("place") if isinstance(entry.get("place"), str) else ""
        place = place.strip()
        if isinstance(volume_id, bool) or volume_id not in volumes:
            raise ValidationFailed({"paper": f"案卷 {volume_id} 不在本批次中"})
        if volume_id in seen:
            raise ValidationFailed({"paper": f"案卷“{volumes[volume_id].title}”重复填写"})
        if method not in PAPER_METHODS:
            raise ValidationFailed({"paper": f"案卷“{volumes[volume_id].title}”的销毁方式须为 碎纸、焚烧 或 委托销毁"})
        if not 2 <= len(place) <= 200:
            raise ValidationFailed({"paper": f"请写明案卷“{volumes[volume_id].title}”的销毁地点 (2 至 200 字)"})
        seen.add(volume_id)
        out.append({"volume_id": volume_id, "title": volumes[volume_id].title, "method": method, "place": place})
    missing = [v.title for i, v in volumes.items() if i not in seen]
    if missing:
        raise ValidationFailed({"paper": "以下纸质案卷未填写销毁方式和地点: " + "、".join(missing[:20])})
    return out


def execute(session: Session, config: dict, *, actor: User, destruction_id: int, body: dict,
            now: datetime) -> Destruction:
    """Check, confirm the supervisors, then destroy every listed form: keys shredded, rows made tombstones."""
    policy.ensure_executor(actor)
    batch = get(session, destruction_id)
    differences = check(session, batch, now=now)
    if differences:
        raise Differences("销毁前核对未通过, 未销毁任何业务单: " + "; ".join(differences[:10]),
                          details={"fields": {"differences": differences}})
    paper = _paper(session, batch, body.get("paper"))
    supervisors = _supervisors(session, config, batch, actor, body.get("supervisors"))
    form_ids = item_form_ids(session, batch.id)
    items = {i.form_id: i for i in session.scalars(select(DestructionItem).where(
        DestructionItem.destruction_id == batch.id))}
    numbers = {}
    for ids in _chunks(form_ids, 1000):
        numbers.update(session.execute(select(Form.id, Form.number).where(Form.id.in_(ids))).all())
        session.execute(delete(SensitiveValue).where(SensitiveValue.form_id.in_(ids)))
        session.execute(delete(Attachment).where(Attachment.form_id.in_(ids)))
        session.execute(delete(Correction).where(Correction.form_id.in_(ids)))
        session.execute(update(Form).where(Form.id.in_(ids)).values(status="destroyed", data={}, sealed_data=None, search=None,
                                                                wrapped_key=None)
                        .execution_options(synchronize_session=False))
    tombstones = [dict(form_id=i, number=numbers[i], archival_code=items[i].archival_code,
                       business_type=items[i].business_type, year=items[i].year, destruction_id=batch.id,
                       destroyed_at=now) for i in form_ids]
    for start in range(0, len(tombstones), 1000):
        session.execute(insert(Tombstone), tombstones[start:start + 1000])
    for ids in _chunks(form_ids, 500):  # the filed item stays (its 档号 is never reused); its seal is what remains
        seals = seals_of(session, ids)
        filings = session.execute(select(Filing.id, Filing.form_id).where(Filing.form_id.in_(ids))).all()
        if filings:
            session.execute(update(Filing), [{"id": fid, "seal": seals[form_id], "checked_at": now}
                                             for fid, form_id in filings])
    batch.status, batch.executed_by, batch.executed_at = "executed", actor.username, now
    batch.supervisors, batch.paper = [s.username for s in supervisors], paper
    batch.key_backups_expire_at = keystore.last_backup_expiry(config, now=now)
    session.flush()
    session.expire_all()  # the bulk statements above changed rows the session may hold
    batch = get(session, destruction_id)
    batch.register_sha256 = content_sha256(register_content(session, config, batch))
    session.flush()
    audit.record(session, actor=actor.username, action="destruction.execute", object_type="destruction",
                 object_id=batch.id, now=now, details={"forms": len(form_ids), "supervisors": batch.supervisors,
                                                       "register_sha256": batch.register_sha256,
                                                       "key_backups_expire_at": batch.key_backups_expire_at.isoformat()})
    # Last: the keys. Everything above is checked and flushed; the keys cannot come back once gone.
    personal.destroy_data_keys(session, personal.keyring(config), form_ids)
    return batch


def tombstone_of(session: Session, form_id: int) -> Tombstone | None:
    """The tombstone of a destroyed form, if it was destroyed."""
    return session.get(Tombstone, form_id)

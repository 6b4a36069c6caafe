"""The audit log in words: every action any stage records has a Chinese label, and the page names steps, fields,
objects and processes (the codes only on hover, for management)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from engine.db import unit_of_work
from processes.audit import service as audit
from processes.audit.models import ACTIONS, DETAIL_LABELS, OBJECT_TYPES

ROOT = Path(__file__).resolve().parents[2]
STAGE_OF_PREFIX = {"destruction": "destruction_approval", "external_transfer": "external_transfer",
                   "query": "query_approval", "template": "template_approval", "rectification": "rectification"}


def _recorded() -> tuple[set[str], set[str], set[str]]:
    """Every (action, object type, detail key) an `audit.record(...)` call in processes/ writes: literal codes, and
    f"prefix.{item.task_name}" codes expanded to the user tasks of the stage's diagram."""
    actions, objects, keys = set(), set(), set()
    for path in (ROOT / "processes").rglob("*.py"):
        for call in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "record"
                    and getattr(call.func.value, "id", "") == "audit"):
                continue
            found = {k.arg: k.value for k in call.keywords}
            action, kind, details = found.get("action"), found.get("object_type"), found.get("details")
            if isinstance(action, ast.Constant):
                actions.add(action.value)
            elif isinstance(action, ast.JoinedStr) and not isinstance(action.values[0], ast.Constant):
                # inbox.escalations: f"{hooks.audit_prefix}.{action}", the prefixes stages register
                actions |= {f"{p}.{a}" for p in ("escalation", "query", "destruction")
                            for a in ("urge", "reassign", "take_over")}
            elif isinstance(action, ast.JoinedStr):
                prefix = action.values[0].value.rstrip(".")
                if prefix == "rectification":  # 'respond' or 'reinspect', chosen in the f-string itself
                    actions |= {"rectification.respond", "rectification.reinspect"}
                    continue
                bpmn = (ROOT / "bpmn" / f"{STAGE_OF_PREFIX[prefix]}.bpmn").read_text("utf-8")
                actions |= {f"{prefix}.{t}" for t in re.findall(r'<bpmn:userTask id="([a-z_]+)"', bpmn)}
            if isinstance(kind, ast.Constant):
                objects.add(kind.value)
            elif isinstance(kind, ast.IfExp):
                objects |= {kind.body.value, kind.orelse.value}
            if isinstance(details, ast.Dict):
                keys |= {k.value for k in details.keys if isinstance(k, ast.Constant)}
    return actions, objects, keys


def test_every_recorded_action_object_and_detail_has_a_chinese_label():
    actions, objects, keys = _recorded()
    assert len(actions) > 60 and "bpmn.deploy_requested" in actions and "query.head_review" in actions
    assert sorted(actions - ACTIONS.keys()) == []
    assert sorted(objects - OBJECT_TYPES.keys()) == []
    assert sorted(keys - DETAIL_LABELS.keys()) == []
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert [c for c, label in {**ACTIONS, **OBJECT_TYPES, **DETAIL_LABELS}.items() if not cjk.search(label)] == []


def _login(app, username):
    app.config["WTF_CSRF_ENABLED"] = False
    c = app.test_client()
    assert c.post("/login", data={"username": username, "password": "guichet-demo"}).status_code == 302
    return c


def test_the_audit_page_names_steps_fields_processes_and_objects(app, services, submit_form, client, auth):
    form = submit_form()
    (item,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    assert client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"), json={"data": {}}).status_code == 200
    with unit_of_work(services.sessions) as session:
        audit.record(session, actor="manager", action="bpmn.deploy_requested", object_type="deployment_request",
                     object_id=1, now=services.clock(), details={"key": "internal_transfer", "note": "加复核"})
        audit.record(session, actor="handler", action="form.reveal", object_type="form", object_id=form["id"],
                     now=services.clock(), details={"number": form["number"], "field": "customer_name", "seq": 1})
    page = _login(app, "manager").get("/audit").get_data(as_text=True)
    for raw in ("bpmn.deploy_requested</td>", "deployment_request:1<", "环节: hop_credit", "字段: customer_name<",
                "流程: internal_transfer"):
        assert raw not in page, raw
    assert '<td title="bpmn.deploy_requested">申请部署新版本</td>' in page
    assert 'title="deployment_request:1">部署申请 1</span>' in page
    assert '<span title="hop_credit">环节: 信贷部办理</span>' in page
    assert '<span title="customer_name">字段: 客户名称</span>' in page
    assert '<span title="internal_transfer">流程: 内部移交</span>' in page and "<span>说明: 加复核</span>" in page
    # an inspector reads the same words, without the codes
    seen = _login(app, "inspector").get("/audit").get_data(as_text=True)
    assert "<td>申请部署新版本</td>" in seen and "<span>环节: 信贷部办理</span>" in seen
    assert 'title="hop_credit"' not in seen

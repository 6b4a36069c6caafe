"""What the deployment approver reads on the task page: who asked and why, the change in words, the diagrams
with the changes marked, and the paths the trial run went through (stored with the request, not re-run)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from engine import latest_definition

from . import changes
from .models import DeploymentRequest

ACTIONS = {"complete": "办理完成", "return": "退回", "approve": "批准", "timeout": "超时未办"}
OUTCOMES = {"completed": "走到结束", "loop": "回到已走过的环节", "timeout": "超时上报后仍等待办理",
            "failed": "运行失败", "unexplored": "未试"}


def of_request(session: Session, pending: DeploymentRequest) -> dict:
    """Everything `_deployment_review.html` shows for one deployment request."""
    return {
        "request": pending,
        "process_name": _name(session, pending),
        "note": pending.note,
        "change": changes.of_request(session, pending),
        "trial": trial_in_words(pending.trial),
    }


def trial_in_words(trial: dict | None) -> dict | None:
    """The stored trial run as lines a manager reads: each path's steps (环节 and what was done) and its end."""
    if not trial:
        return None
    paths = []
    for path in trial.get("paths", []):
        steps = [{"name": s.get("name") or "(未命名环节)", "lane": s.get("lane") or "",
                  "action": ACTIONS.get(s.get("action"), s.get("action")), "element_id": s.get("element_id")}
                 for s in path.get("steps", [])]
        paths.append({"steps": steps, "outcome": path.get("outcome"),
                      "ending": OUTCOMES.get(path.get("outcome"), path.get("outcome")),
                      "message": path.get("message") or "", "ok": path.get("outcome") != "failed"})
    return {"paths": paths, "complete": bool(trial.get("complete")), "failed": sum(not p["ok"] for p in paths)}


def _name(session: Session, pending: DeploymentRequest) -> str:
    latest = latest_definition(session, pending.process_key)
    return latest.name if latest is not None else pending.process_key

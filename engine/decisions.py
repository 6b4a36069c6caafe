"""The decisions a user task offers (its buttons: 办结/移交, 退回补正, 批准 …), declared on the task in the diagram.

A task declares them as an extension property, set in the modeler's 可选决定 field:
`<spiffworkflow:properties><spiffworkflow:property name="decisions" value="complete,return"/></spiffworkflow:properties>`.
The exclusive gateway after the task routes on `decision`; deploy checks the two against each other, so a
condition written `decision in ["return"]` keeps its button and a button never leads nowhere.
"""
from __future__ import annotations

import ast

PROPERTY = "decisions"
DEFAULT = ("complete",)  # what a task that declares nothing offers: finishing it


def declared(task_spec) -> tuple[str, ...] | None:
    """The decisions the task declares, in the diagram's order; None when it declares none."""
    raw = (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get(PROPERTY)
    if raw is None:
        return None
    return tuple(dict.fromkeys(d.strip() for d in raw.split(",") if d.strip()))


def offered(task_spec) -> tuple[str, ...]:
    """What the task's item offers: what it declares; else finishing it, plus the values its gateway tests
    (diagrams deployed before decisions were declared)."""
    found = declared(task_spec)
    if found is not None:
        return found
    return tuple(sorted(set(DEFAULT) | tested(task_spec)))


def tested(task_spec) -> set[str]:
    """The `decision` values the conditions of the gateways right after the task compare against."""
    values: set[str] = set()
    for gateway in getattr(task_spec, "outputs", []):
        for condition, _target in getattr(gateway, "cond_task_specs", None) or []:
            values |= values_compared(condition_source(condition))
    return values


def condition_source(condition) -> str:
    """The source of a gateway condition (SpiffWorkflow wraps it in an operator object)."""
    if condition is None:
        return ""
    args = getattr(condition, "args", None)
    return str(args[0]) if args else str(condition)


def values_compared(source: str) -> set[str]:
    """String constants `decision` is compared with (==, !=, in, not in a list/tuple/set) in an expression."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return set()  # the expression check reports it
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for left, right in zip(operands, operands[1:]):
            for name, other in ((left, right), (right, left)):
                if isinstance(name, ast.Name) and name.id == "decision":
                    found |= _strings(other)
    return found


def _strings(node) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def problems(task_spec) -> list[str]:
    """What is wrong between a user task's declared decisions and the conditions after it (Chinese messages)."""
    found, wanted = declared(task_spec), tested(task_spec)
    if found is None:
        if wanted:
            return [f"任务后的条件检验决定 {_listed(wanted)}, 请在任务上声明可选决定 (如 complete,{sorted(wanted)[0]})"]
        return []
    out = []
    if not found:
        out.append("可选决定不能为空")
    undeclared = wanted - set(found)
    if undeclared:
        out.append(f"条件检验了未声明的决定 {_listed(undeclared)} (已声明: {', '.join(found)})")
    has_default = any(getattr(g, "default_task_spec", None) for g in getattr(task_spec, "outputs", []))
    untaken = [d for d in found if d not in wanted]
    if untaken and not has_default and any(getattr(g, "cond_task_specs", None) for g in task_spec.outputs):
        out.append(f"声明的决定 {_listed(untaken)} 没有对应的出口条件, 也没有默认出口")
    return out


def _listed(values) -> str:
    return ", ".join(f"“{v}”" for v in sorted(values))

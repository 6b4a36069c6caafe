import re
import uuid

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.expressions import (
    ExpressionError,
    SafeScriptEngine,
    check,
    evaluate,
    execute,
)

CTX = {
    "decision": "return", "sla": "PT4H", "x": 3, "n": 0, "amount": 1200.5, "flag": True, "nothing": None,
    "items": [10, 20, 30], "data": {"x": "a", "nested": {"k": [1, 2]}}, "a": [1, 2], "uuid": uuid,
}


@pytest.mark.parametrize("source, expected", [
    ('decision == "return"', True),
    ('decision != "return"', False),
    ("x < 5", True), ("x <= 3", True), ("x > 3", False), ("x >= 4", False),
    ("1 < x < 5", True), ("1 < x > 5", False),
    ("20 in items", True), ("40 not in items", True), ('"x" in data', True),
    ("nothing is None", True), ("flag is not None", True),
    ("flag and x > 1", True), ("not flag or x", 3), ("n or 'default'", "default"), ("n and 1/n", 0),
    ('"R2/" + sla', "R2/PT4H"), ('f"R2/{sla}"', "R2/PT4H"), ("'ab' * 3", "ababab"),
    ('data["x"]', "a"), ('data["nested"]["k"][1]', 2), ("items[0]", 10), ("items[-1]", 30),
    ("items[x - 2]", 20), ("items[1:]", [20, 30]), ("items[::-1]", [30, 20, 10]),
    ("x + 2 * 3 - 1", 8), ("7 / 2", 3.5), ("7 // 2", 3), ("7 % 4", 3), ("-x", -3), ("+x", 3),
    ("2 ** 10", 1024), ("2 ** -1", 0.5), ("amount * 2", 2401.0),
    ("'big' if amount > 1000 else 'small'", "big"),
    ("[1, x, 'z']", [1, 3, "z"]), ("(1, 2)", (1, 2)), ('{"k": x}', {"k": 3}), ("items + [40]", [10, 20, 30, 40]),
    ("len(items)", 3), ("str(x) + 'h'", "3h"), ("int('42')", 42), ("float('1.5')", 1.5),
    ("min(items)", 10), ("max(1, x)", 3), ("abs(-2)", 2), ("round(2.567, 2)", 2.57), ("bool(n)", False),
    ("10 ** 50 * 10 ** 50", 10 ** 100), ("'%' + 'd'", "%d"),
])
def test_valid_expressions(source, expected):
    check(source)
    assert evaluate(source, CTX) == expected


def test_registered_functions():
    functions = {"double": lambda v: v * 2, "is_manager": lambda who: who == "boss"}
    assert evaluate("double(x) + 1", CTX, functions) == 7
    assert evaluate("is_manager(who='boss')", CTX, functions) is True
    check("double(x)", functions=functions)
    check("double(x)", functions=["double"])
    with pytest.raises(ExpressionError, match="double"):
        check("double(x)")
    with pytest.raises(ExpressionError, match="未注册"):
        evaluate("double(x)", CTX)


def test_caller_function_overrides_builtin_and_results_are_bounded():
    assert evaluate("len(x)", CTX, {"len": lambda v: -1}) == -1
    with pytest.raises(ExpressionError):
        evaluate("big()", CTX, {"big": lambda: "a" * 200_000})


@pytest.mark.parametrize("source", ["unknown", "data['missing']", "items[10]", "1 / n", "x + 'a'", "int('z')"])
def test_runtime_errors_become_expression_error(source):
    with pytest.raises(ExpressionError):
        evaluate(source, CTX)


def test_function_exceptions_are_wrapped():
    def boom():
        raise RuntimeError("boom")
    with pytest.raises(ExpressionError, match="表达式计算出错") as info:
        evaluate("boom()", {}, {"boom": boom})
    assert isinstance(info.value.__cause__, RuntimeError)


def test_syntax_error_is_also_syntax_error():
    # SpiffWorkflow's DMN engine relies on validate() raising SyntaxError for "> 5"-style cells.
    with pytest.raises(SyntaxError):
        check("> 5")
    with pytest.raises(ExpressionError):
        check("> 5")


def test_messages_are_chinese_first():
    with pytest.raises(ExpressionError, match=r"^表达式不允许: 属性访问 \(\.__class__\)"):
        check("x.__class__")


EVAL_PAYLOADS = [
    "__import__('os')",
    "().__class__.__base__.__subclasses__()",
    "[].__class__",
    "uuid.os",
    "x.__dict__",
    "getattr(x, 'a')",
    "eval('1')",
    "exec('1')",
    "open('/etc/passwd')",
    "globals()",
    "locals()",
    "vars()",
    "lambda: 1",
    "[x for x in range(10)]",
    "{k: 1 for k in a}",
    "(lambda f: f(f))(lambda f: f(f))",
    "10**10**10",
    "9**999999",
    "'a'*10**9",
    "[1]*10**9",
    "(" * 1000 + "1" + ")" * 1000,
    "-(" * 5000 + "1" + ")" * 5000,
    "-" * 1500 + "1",
    "[" * 60 + "]" * 60,
    "x.format",
    '"{0.__class__}".format(1)',
    "type(1)",
    "__builtins__",
    "breakpoint()",
    "1 + " * 750 + "1",
    'f"{x!r}"',
    'f"{x:>{10**9}}"',
    "x := 1",
    "(x := 1)",
    "*a",
    "print(*a)",
    "{**data}",
    "max(**data)",
    "super()",
    '"%*d" % (10**9, 1)',
    '"%0999999999d" % 1',
    "round(5, -10**9)",
    "1 << 10**9",
    "~x",
    "{1, 2}",
    "b'bytes'",
    "1j",
    "...",
    "items[0].__class__",
    "x if x else x.__class__",
    "int('9' * 1500)",
    "'a' + 'b' * 99999 + 'c' * 2",
    "_private",
    "(yield)",
    "1\x00",
]

SCRIPT_PAYLOADS = [
    "import os",
    "from os import system",
    "def f(): pass",
    "class A: pass",
    "while True: pass",
    "for i in range(10**9): pass",
    "with open('/etc/passwd') as f: pass",
    "try:\n    pass\nexcept Exception:\n    pass",
    "global x",
    "del x",
    "raise SystemExit",
    "x = 1\nimport os",
    "x.__class__ = 1",
    "__builtins__ = {}",
    "data['k'] = 1",
    "a, b = 1, 2",
    "x",
    "y = [[1] * 1000] * 99\nz = [y, y, y]",
    "s = 'a' * 99999\ns += s",
]


@pytest.mark.parametrize("source", EVAL_PAYLOADS)
def test_eval_payloads_are_refused(source):
    with pytest.raises(ExpressionError):
        evaluate(source, dict(CTX))
    with pytest.raises(ExpressionError):
        check(source)
        evaluate(source, dict(CTX))  # payloads only caught at run time (size/exponent bounds)


@pytest.mark.parametrize("source", SCRIPT_PAYLOADS)
def test_script_payloads_are_refused(source):
    context = dict(CTX)
    with pytest.raises(ExpressionError):
        execute(source, context)
    assert context == CTX  # scripts are all-or-nothing


def test_script_assigns_into_context():
    context = {"x": 2, "items": [1]}
    execute("y = x + 1\nlabel = f'n={y}'\nx += 10\nitems += [2]\nz = w = None", context)
    assert context == {"x": 12, "y": 3, "label": "n=3", "items": [1, 2], "z": None, "w": None}


def test_augmented_assignment_does_not_mutate_shared_lists():
    shared = [1]
    context = {"items": shared}
    execute("items += [2]", context)
    assert shared == [1] and context["items"] == [1, 2]


def test_check_script_mode():
    check("y = x + 1\nlabel = 'ok'", mode="exec")
    check("y = notify(x)", mode="exec", functions=["notify"])
    with pytest.raises(ExpressionError):
        check("y = notify(x)", mode="exec")


def test_parsed_sources_are_cached():
    from engine import expressions
    evaluate('decision == "return"', CTX)
    before = expressions._compile.cache_info().hits
    evaluate('decision == "return"', CTX)
    assert expressions._compile.cache_info().hits == before + 1


BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://guichet/test">
  <bpmn:process id="gate" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="compute" name="Compute">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>SCRIPT</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>to_big</bpmn:outgoing><bpmn:outgoing>to_small</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end_big"><bpmn:incoming>to_big</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_small"><bpmn:incoming>to_small</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="gw"/>
    <bpmn:sequenceFlow id="to_big" sourceRef="gw" targetRef="end_big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">y &gt; 1</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_small" sourceRef="gw" targetRef="end_small">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">y &lt;= 1</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>
"""


def _run(x, script=b"y = x + 1", engine=None):
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN.replace(b"SCRIPT", script))
    wf = BpmnWorkflow(parser.get_spec("gate"), script_engine=engine or SafeScriptEngine())
    wf.get_next_task(state=TaskState.READY).data["x"] = x
    wf.do_engine_steps()
    return wf


@pytest.mark.parametrize("x, end", [(5, "end_big"), (0, "end_small"), (1, "end_big")])
def test_safe_engine_runs_a_real_workflow(x, end):
    wf = _run(x)
    assert wf.is_completed()
    completed = {t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED)}
    assert end in completed and ({"end_big", "end_small"} - {end}).isdisjoint(completed)
    assert wf.data["y"] == x + 1


def test_safe_engine_refuses_unsafe_script_in_workflow():
    with pytest.raises(WorkflowTaskException, match="属性访问"):
        _run(1, script=b"y = x.__class__")


def test_safe_engine_uses_registered_functions():
    wf = _run(0, script=b"y = bump(x)", engine=SafeScriptEngine(functions={"bump": lambda v: v + 10}))
    assert wf.data["y"] == 10


def test_safe_engine_validate_and_call_service():
    engine = SafeScriptEngine(functions={"f": len}, service_handler=lambda task, **kw: ("called", kw))
    engine.validate("f(x) > 1")
    with pytest.raises(ExpressionError):
        engine.validate("open('/etc/passwd')")
    wf = _run(5)
    task = wf.get_tasks(state=TaskState.COMPLETED)[-1]
    assert engine.call_service(task, operation_name="op") == ("called", {"operation_name": "op"})
    with pytest.raises(WorkflowTaskException):
        SafeScriptEngine().call_service(task, operation_name="op")


def test_safe_engine_environment_is_safe_too():
    # SpiffWorkflow bypasses engine.evaluate for ad-hoc subprocess completion and message correlation.
    engine = SafeScriptEngine()
    assert engine.environment.evaluate("x + y", {"x": 1}, {"y": 2, "x": 100}) == 3
    with pytest.raises(ExpressionError):
        engine.environment.evaluate("__import__('os')", {})


@pytest.mark.parametrize("source, words", [
    ("2026-05-01T09:00:00", "数字不能以 0 开头"), ("decision ==", "无法识别的写法"), ("${amount > 1}", "JUEL"),
    ("'abc", "缺少结束的引号"), ("(a", "括号没有闭合"), ("a ＝ 1", "全角"),
])
def test_syntax_errors_say_in_chinese_what_to_change(source, words):
    with pytest.raises(ExpressionError) as info:
        check(source)
    assert words in str(info.value) and not re.search(r"[a-z]{4,} [a-z]{4,}", str(info.value)), str(info.value)


def test_runtime_errors_are_in_chinese():
    with pytest.raises(ExpressionError) as info:
        evaluate("1 / n", {"n": 0})
    assert str(info.value) == "表达式计算出错: 除数为零"

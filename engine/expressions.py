"""Whitelisted evaluator for diagram expressions and scripts (gateway conditions, timers, script tasks).

Diagrams are edited by managers, so their code is untrusted; SpiffWorkflow's default engine is plain
eval/exec. Source is parsed with `ast`, checked against a small grammar and compiled into closures.
Grammar: literals, context names, list/tuple/dict displays, comparisons, and/or/not, + - * / // % **,
unary -/+, `a if c else b`, subscripts/slices, plain f-strings, registered functions called by bare
name; scripts are `name = expr` / `name += expr` lines. No attribute access at all.
`**` on two ints needs |exponent| <= 64 (and the result must fit MAX_INT); float powers are O(1).
`%` on a string is refused: `"%*d" % (10**9, 1)` would allocate a gigabyte.
"""
import ast
import functools
import operator
from collections import ChainMap
from typing import Callable, Iterable, Mapping, MutableMapping

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)

MAX_SOURCE = 2000
MAX_NODES = 500        # expression/statement nodes; ctx and operator leaves are not counted
MAX_DEPTH = 50         # bounds Python recursion in both compiling and evaluating
MAX_SIZE = 100_000     # deep size of any built str/list/tuple/dict (elements + string chars)
MAX_INT = 10 ** 100
MAX_POW_EXPONENT = 64
MAX_STEPS = 1_000_000  # size-walk budget per evaluation, so 500 checks of huge values cannot add up


class ExpressionError(Exception):
    """Expression refused or failed; the message is Chinese first, for the diagram editor."""


class ExpressionSyntaxError(ExpressionError, SyntaxError):
    """Unparsable source; also a SyntaxError because SpiffWorkflow's DMN engine catches that."""


class UnknownName(ExpressionError):
    """A name the context does not hold (`name` says which)."""

    def __init__(self, name: str):
        super().__init__(f"未知名称: {name}")
        self.name = name


# Python's own syntax messages, in words a diagram editor acts on (the rest become a generic message).
_SYNTAX_ZH = [
    ("leading zeros in decimal integer literals", "数字不能以 0 开头; 日期、时长等文字须加引号, 如 \"2026-05-01T09:00:00+08:00\""),
    ("unterminated string literal", "字符串缺少结束的引号"),
    ("unterminated triple-quoted string", "字符串缺少结束的引号"),
    ("was never closed", "括号没有闭合"),
    ("unmatched", "有多余的右括号"),
    ("does not match opening parenthesis", "括号不配对"),
    ("invalid character", "含有无法识别的字符 (如全角标点), 请改用半角符号"),
    ("invalid decimal literal", "数字后面紧跟了字母; 文字须加引号"),
    ("unexpected indent", "行首有多余的空格"),
    ("unindent does not match", "缩进不一致"),
    ("expected an indented block", "缺少缩进的语句"),
    ("cannot assign to", "只能给变量名赋值"),
    ("Maybe you meant '==' or ':=' instead of '='", "比较相等请用 == (一个 = 是赋值)"),
    ("invalid syntax. Perhaps you forgot a comma", "可能缺少逗号"),
    ("unexpected EOF", "表达式不完整"),
    ("invalid syntax", "无法识别的写法"),
]


def _syntax_message(error: SyntaxError) -> str:
    text = str(error.msg or "")
    words = next((zh for en, zh in _SYNTAX_ZH if en in text), "无法识别的写法")
    if "${" in (error.text or "") or "#{" in (error.text or ""):
        words = "不支持 ${…} (JUEL) 写法; 请直接写表达式, 如 amount > 1000"
    return f"语法错误: {words} (第 {error.lineno or 1} 行)"


_RUNTIME_ZH = {
    ZeroDivisionError: "除数为零", TypeError: "类型不匹配 (如文本与数字相加、比较或调用)", KeyError: "字典中没有该键",
    IndexError: "下标超出范围", ValueError: "取值无效", RecursionError: "嵌套过深", MemoryError: "占用内存过多",
    OverflowError: "数值过大",
}


_ALLOWED = {getattr(ast, n) for n in """Expression Module Assign AugAssign Constant Name Load Store List
    Tuple Dict Compare BoolOp And Or UnaryOp Not USub UAdd BinOp Add Sub Mult Div FloorDiv Mod Pow IfExp
    Subscript Slice Call keyword JoinedStr FormattedValue Eq NotEq Lt LtE Gt GtE In NotIn Is IsNot""".split()}
_LEAVES = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
_LABELS = {getattr(ast, n): label for label, names in [
    ("属性访问", "Attribute"), ("lambda 表达式", "Lambda"), ("推导式", "ListComp SetComp DictComp GeneratorExp"),
    ("海象赋值 :=", "NamedExpr"), ("星号展开 *", "Starred"), ("集合字面量", "Set"), ("导入语句", "Import ImportFrom"),
    ("函数/类定义", "FunctionDef AsyncFunctionDef ClassDef"), ("循环语句", "For AsyncFor While"),
    ("独立表达式语句", "Expr"), ("yield/await", "Yield YieldFrom Await"), ("位运算", "BitAnd BitOr BitXor Invert"),
    ("位移运算", "LShift RShift"), ("控制语句", "If With AsyncWith Try Raise Delete Global Nonlocal Pass Assert"),
] for n in names.split()}
_SEQ = (str, list, tuple)


def _refuse(what: str) -> ExpressionError:
    return ExpressionError(f"表达式不允许: {what}")


class _Env:
    __slots__ = ("names", "funcs", "steps")

    def __init__(self, names, funcs):
        self.names, self.funcs, self.steps = names, funcs or {}, 0


def _size(value, env) -> int:
    # Deep size, iterative and budgeted: `[[1]*1000]*99` shares rows, but str() or == expand them.
    total, stack = 0, [value]
    while stack and total <= MAX_SIZE:
        v = stack.pop()
        env.steps += 1
        if env.steps > MAX_STEPS:
            raise _refuse("计算量超出限制")
        if isinstance(v, (str, list, tuple, dict)):
            total += len(v)
            if total <= MAX_SIZE and not isinstance(v, str):
                stack.extend(v.items() if isinstance(v, dict) else v)
    return total


def _limit(value, env):
    if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
        raise _refuse("整数超过 10**100")
    if isinstance(value, (str, list, tuple, dict)) and _size(value, env) > MAX_SIZE:
        raise _refuse(f"结果超过 {MAX_SIZE} 个元素/字符")
    return value


def _add(a, b, env):
    # Check sizes before concatenating so nothing big is ever allocated.
    if isinstance(a, _SEQ) and isinstance(b, _SEQ) and _size(a, env) + _size(b, env) > MAX_SIZE:
        raise _refuse(f"结果超过 {MAX_SIZE} 个元素/字符")
    return _limit(a + b, env) if isinstance(a, int) else a + b


def _mul(a, b, env):
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, _SEQ) and isinstance(n, int):
            if n > 0 and _size(seq, env) * n > MAX_SIZE:  # before multiplying: "a" * 10**9 allocates nothing
                raise _refuse(f"结果超过 {MAX_SIZE} 个元素/字符")
            return seq * n
    return _limit(a * b, env)


def _pow(a, b, env):
    if isinstance(a, int) and isinstance(b, int) and abs(b) > MAX_POW_EXPONENT:
        raise _refuse(f"幂运算指数超过 {MAX_POW_EXPONENT}")
    return _limit(a ** b, env)


def _mod(a, b, env):
    if isinstance(a, (str, bytes)):
        raise _refuse("字符串 % 格式化")
    return _limit(a % b, env)


_BINOPS = {ast.Add: _add, ast.Mult: _mul, ast.Pow: _pow, ast.Mod: _mod,
           ast.Sub: lambda a, b, env: _limit(a - b, env), ast.Div: lambda a, b, env: _limit(a / b, env),
           ast.FloorDiv: lambda a, b, env: _limit(a // b, env)}
_CMPOPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
           ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
           ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}


def _str(env, value=""):
    _limit(value, env)  # str() of a shared-row list would otherwise expand before any check
    return str(value)


def _round(number, ndigits=None):
    if ndigits is not None and not -100 <= ndigits <= 100:  # round(5, -10**9) computes 10**(10**9)
        raise _refuse("round() 位数超出范围")
    return round(number, ndigits)


_BUILTINS = {"len": len, "str": _str, "int": int, "float": float, "min": min, "max": max,
             "abs": abs, "round": _round, "bool": bool}


def _static_check(tree) -> set:
    """Walk iteratively (no recursion on hostile input); return the names of called functions."""
    called, count, stack = set(), 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, _LEAVES) and type(node) in _ALLOWED:
            continue
        count += 1
        if count > MAX_NODES:
            raise _refuse(f"表达式过于复杂 (超过 {MAX_NODES} 个节点)")
        if depth > MAX_DEPTH:
            raise _refuse(f"嵌套过深 (超过 {MAX_DEPTH} 层)")
        kind = type(node)
        if kind not in _ALLOWED:
            detail = f" (.{node.attr})" if kind is ast.Attribute else ""
            raise _refuse(_LABELS.get(kind, f"{kind.__name__} 语法") + detail)
        if kind is ast.Name and node.id.startswith("_"):
            raise _refuse(f"以下划线开头的名称 ({node.id})")
        elif kind is ast.Constant:
            if type(node.value) not in (str, int, float, bool, type(None)):
                raise _refuse(f"{type(node.value).__name__} 常量")
            if type(node.value) is int and node.value > MAX_INT:
                raise _refuse("整数超过 10**100")
        elif kind is ast.Call:
            if isinstance(node.func, ast.Attribute):
                raise _refuse(f"属性访问 (.{node.func.attr})")
            if not isinstance(node.func, ast.Name):
                raise _refuse("只能按名称调用已注册的函数")
            if any(k.arg is None for k in node.keywords):
                raise _refuse("** 参数展开")
            called.add(node.func.id)
        elif kind is ast.Dict and None in node.keys:
            raise _refuse("** 字典展开")
        elif kind is ast.FormattedValue and (node.conversion != -1 or node.format_spec is not None):
            raise _refuse("f-字符串中的 !转换 或 :格式说明")
        elif kind in (ast.Assign, ast.AugAssign):
            targets = node.targets if kind is ast.Assign else [node.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                raise _refuse("只能给变量名赋值")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return called


def _compile_node(node) -> Callable[[_Env], object]:
    # Recursion here is bounded by MAX_DEPTH, already enforced by _static_check.
    c, kind = _compile_node, type(node)
    if kind is ast.Constant:
        return lambda env, v=node.value: v
    if kind is ast.Name:
        def load(env, name=node.id):
            try:
                return env.names[name]
            except KeyError:
                raise UnknownName(name) from None
        return load
    if kind in (ast.List, ast.Tuple):
        elts, build = [c(e) for e in node.elts], list if kind is ast.List else tuple
        return lambda env: _limit(build([e(env) for e in elts]), env)
    if kind is ast.Dict:
        pairs = [(c(k), c(v)) for k, v in zip(node.keys, node.values)]
        return lambda env: _limit({k(env): v(env) for k, v in pairs}, env)
    if kind is ast.BinOp:
        return lambda env, op=_BINOPS[type(node.op)], lf=c(node.left), rt=c(node.right): op(lf(env), rt(env), env)
    if kind is ast.UnaryOp:
        f, op = c(node.operand), type(node.op)
        if op is ast.Not:
            return lambda env: not f(env)
        return (lambda env: _limit(-f(env), env)) if op is ast.USub else (lambda env: _limit(+f(env), env))
    if kind is ast.Compare:
        ops, left, rights = [_CMPOPS[type(o)] for o in node.ops], c(node.left), [c(r) for r in node.comparators]
        if len(ops) == 1:  # fast path for the common `decision == "return"`
            return lambda env, op=ops[0], right=rights[0]: op(left(env), right(env))

        def chain(env):
            a = left(env)
            for op, right in zip(ops, rights):
                b = right(env)
                if not op(a, b):
                    return False
                a = b
            return True
        return chain
    if kind is ast.BoolOp:
        values, is_and = [c(v) for v in node.values], type(node.op) is ast.And

        def boolop(env):
            for f in values:
                v = f(env)
                if bool(v) is not is_and:  # short-circuit: first falsy for `and`, first truthy for `or`
                    return v
            return v
        return boolop
    if kind is ast.IfExp:
        test, body, orelse = c(node.test), c(node.body), c(node.orelse)
        return lambda env: body(env) if test(env) else orelse(env)
    if kind is ast.Subscript:
        return lambda env, v=c(node.value), i=c(node.slice): v(env)[i(env)]
    if kind is ast.Slice:
        parts = [c(p) if p is not None else (lambda env: None) for p in (node.lower, node.upper, node.step)]
        return lambda env: slice(*[p(env) for p in parts])
    if kind is ast.JoinedStr:
        parts = [c(v) for v in node.values]
        return lambda env: _limit("".join([p(env) for p in parts]), env)
    if kind is ast.FormattedValue:
        return lambda env, f=c(node.value): _str(env, f(env))
    if kind is ast.Call:
        name, args, kwargs = node.func.id, [c(a) for a in node.args], [(k.arg, c(k.value)) for k in node.keywords]

        def call(env):
            f = env.funcs.get(name) or _BUILTINS.get(name)
            if f is None:
                raise _refuse(f"调用未注册的函数 {name}()")
            values = [env] if f is _str else []  # str() needs the size budget
            values += [a(env) for a in args]
            return _limit(f(*values, **{k: v(env) for k, v in kwargs}), env)
        return call
    if kind in (ast.Assign, ast.AugAssign):
        if kind is ast.AugAssign:  # as `x = x + v`, never in place: the list may be shared with task data
            names, value = [node.target.id], c(ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value))
        else:
            names, value = [t.id for t in node.targets], c(node.value)

        def assign(env):
            v = value(env)
            for n in names:
                env.names[n] = v
        return assign
    raise _refuse(f"{kind.__name__} 语法")  # unreachable: _static_check has the same whitelist


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: str):
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if not isinstance(source, str):  # e.g. None from a diagram without the expression
        raise ExpressionError(f"表达式必须是字符串, 而不是 {type(source).__name__}")
    if len(source) > MAX_SOURCE:
        raise _refuse(f"源码超过 {MAX_SOURCE} 个字符")
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as e:
        raise ExpressionSyntaxError(_syntax_message(e)) from None
    except Exception as e:  # ValueError (NUL byte), RecursionError, MemoryError from the parser
        raise ExpressionSyntaxError(f"语法错误: {_RUNTIME_ZH.get(type(e), '无法解析')}") from None
    called = _static_check(tree)
    if mode == "eval":
        return _compile_node(tree.body), frozenset(called)
    statements = [_compile_node(s) for s in tree.body]

    def script(env):
        for s in statements:
            s(env)
    return script, frozenset(called)


def _run(fn, env):
    try:
        return fn(env)
    except ExpressionError:
        raise
    except Exception as e:  # includes RecursionError and MemoryError, and errors of registered functions
        words = next((zh for kind, zh in _RUNTIME_ZH.items() if isinstance(e, kind)), "计算失败")
        raise ExpressionError(f"表达式计算出错: {words}") from e


def check(source: str, *, mode: str = "eval", functions: Iterable[str] = ()) -> None:
    """Validate source statically (deploy time); raise ExpressionError naming what is refused."""
    _, called = _compile(source, mode)
    unknown = called - set(functions) - _BUILTINS.keys()
    if unknown:
        raise _refuse(f"调用未注册的函数 {', '.join(sorted(unknown))}")


def evaluate(source: str, context: Mapping, functions: Mapping[str, Callable] | None = None):
    """Evaluate an expression with names looked up in context; return its value."""
    fn, _ = _compile(source, "eval")
    return _run(fn, _Env(context, functions))


def execute(source: str, context: MutableMapping, functions: Mapping[str, Callable] | None = None,
            *, external: Mapping | None = None) -> None:
    """Run an assignment script; assignments land in context only if the whole script succeeds."""
    fn, _ = _compile(source, "exec")
    assigned = {}
    _run(fn, _Env(ChainMap(assigned, context, external or {}), functions))
    context.update(assigned)


class _SafeEnvironment(BasePythonScriptEngineEnvironment):
    # SpiffWorkflow calls environment.evaluate directly in places (ad-hoc subprocess completion,
    # message correlation), bypassing the engine, so the environment must be safe too.
    def __init__(self, functions):
        super().__init__()
        self.functions = functions

    def evaluate(self, expression, context, external_context=None):
        names = ChainMap(context, external_context) if external_context else context
        return evaluate(expression, names, self.functions)

    def execute(self, script, context, external_context=None):
        execute(script, context, self.functions, external=external_context)
        return True  # Spiff leaves a script task STARTED (not COMPLETED) when this is None


class SafeScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine that only runs whitelisted expressions and assignment scripts."""

    def __init__(self, functions: dict[str, Callable] | None = None,
                 service_handler: Callable | None = None):
        # The caller's dict itself, not a copy: a function registered later (Runtime.register_function) must
        # reach the scripts, since deploy validation accepts diagrams that call it.
        self.functions = functions if functions is not None else {}
        self.service_handler = service_handler
        super().__init__(environment=_SafeEnvironment(self.functions))

    def validate(self, expression):
        """Statically check an expression (raises ExpressionSyntaxError, a SyntaxError, if unparsable)."""
        check(expression, functions=self.functions)

    def evaluate(self, task, expression, external_context=None):
        """Evaluate against task.data, falling back to external_context (task data wins, as in Spiff)."""
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ExpressionError as e:
            raise WorkflowTaskException(f"{e} (表达式: {expression})", task=task, exception=e) from e

    def execute(self, task, script, external_context=None):
        """Run a script task's assignments into task.data."""
        try:
            return self.environment.execute(script, task.data, external_context)
        except ExpressionError as e:
            raise WorkflowTaskException(f"{e} (脚本: {script})", task=task, exception=e) from e

    def call_service(self, task, **kwargs):
        """Delegate service tasks to service_handler(task, **kwargs)."""
        if self.service_handler is None:
            raise WorkflowTaskException("未配置服务调用处理器 (service_handler)", task=task)
        return self.service_handler(task, **kwargs)

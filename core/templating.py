"""User-written templates (email personalization, workflow steps) in Jinja2's immutable sandbox.

A template sees plain data only: dot access on a mapping reads its keys (so a custom field named
`items` is the field, not dict.items), a string offers a few harmless methods, and anything
starting with "_" is refused — when the template is saved, and again at render for names built at
runtime. Only `{{ … }}`, `{% if %}` and `{% for %}` are allowed: without `set`, macros or imports a
template can't accumulate state, and the rest of its cost is bounded by an iteration budget, a cap
on `*`, `**` and `%`, and a cap on the output's size.

Missing values render empty and chain (`contact.a.b` is ""), compare false and stay missing through
arithmetic; `default()` also replaces None and "", since a contact's blank first name should read
"there" as much as a missing one.
"""

import traceback
from collections.abc import Mapping
from functools import lru_cache

from django.core.exceptions import ValidationError
from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, Undefined, nodes, pass_eval_context
from jinja2.filters import FILTERS
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError, safe_range

MAX_OUTPUT = 500_000
MAX_ITERATIONS = 10_000
MAX_EXPONENT = 1_000
# A Scope only wraps {% autoescape %}, which is itself refused (with its line; the Scope has none).
_ALLOWED_STATEMENTS = (nodes.Output, nodes.If, nodes.For, nodes.Scope)
_STR_METHODS = frozenset(
    {"capitalize", "lower", "upper", "title", "strip", "lstrip", "rstrip", "startswith", "endswith"}
)
# Filters that can't be made to build huge strings (center, indent, format, join and replace can).
_FILTERS = [
    "abs",
    "capitalize",
    "count",
    "e",
    "escape",
    "first",
    "float",
    "int",
    "last",
    "length",
    "lower",
    "round",
    "string",
    "striptags",
    "title",
    "trim",
    "truncate",
    "upper",
    "urlencode",
    "wordcount",
]


class TemplateRenderError(ValueError):
    """A template failed while rendering: a sandbox refusal, a budget exceeded, a bad operation."""


class _Missing(ChainableUndefined):
    """A value the data doesn't have: renders empty, chains, compares false and stays missing through
    arithmetic, so a contact without some custom field gets a blank, not a failed send."""

    __slots__ = ()

    def _missing(self, *args):
        return self

    def _false(self, *args):
        return False

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _missing
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __rpow__ = __pos__ = __neg__ = _missing
    __lt__ = __le__ = __gt__ = __ge__ = _false


def _default(value, default_value="", boolean=False):
    if isinstance(value, Undefined) or value is None or value == "" or (boolean and not value):
        return default_value
    return value


@pass_eval_context
def _budget(eval_ctx, iterable):
    """Wraps every loop's iterable: the loops of one render share one budget."""
    for item in iterable:
        eval_ctx.loop_iterations = getattr(eval_ctx, "loop_iterations", 0) + 1
        if eval_ctx.loop_iterations > MAX_ITERATIONS:
            raise SecurityError(f"Loops ran more than {MAX_ITERATIONS} times.")
        yield item


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *, html: bool):
        super().__init__(
            autoescape=html,
            undefined=_Missing,
            finalize=lambda value: "" if value is None else value,
        )
        self.globals = {"range": safe_range}
        self.filters = {name: FILTERS[name] for name in _FILTERS} | {
            "default": _default,
            "d": _default,
            "_budget": _budget,
        }

    def getattr(self, obj, attribute):
        return self._lookup(obj, attribute)

    def getitem(self, obj, argument):
        if isinstance(argument, str):
            return self._lookup(obj, argument)
        return super().getitem(obj, argument)

    def _lookup(self, obj, name: str):
        if name.startswith("_"):
            raise SecurityError(f"{name!r} is not available in templates.")
        if isinstance(obj, Mapping):
            return obj[name] if name in obj else self.undefined(obj=obj, name=name)
        if isinstance(obj, LoopContext) or (isinstance(obj, str) and name in _STR_METHODS):
            return super().getattr(obj, name)
        return self.undefined(obj=obj, name=name)

    def call_binop(self, context, operator, left, right):
        if operator == "%" and isinstance(left, str):
            raise SecurityError("Format text with filters, not with %.")
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"Exponents above {MAX_EXPONENT} are not allowed.")
        if operator == "*":
            sequence, times = (left, right) if isinstance(right, int) else (right, left)
            if (
                isinstance(sequence, str | list | tuple)
                and isinstance(times, int)
                and len(sequence) * times > MAX_OUTPUT
            ):
                raise SecurityError("That repetition makes too long a value.")
        return super().call_binop(context, operator, left, right)


_ENVIRONMENTS = {False: _Environment(html=False), True: _Environment(html=True)}


def _check(tree: nodes.Template) -> None:
    """Refuses what the sandbox would only refuse at render, and gives each loop the budget."""
    for node in tree.find_all(nodes.Stmt):
        if not isinstance(node, _ALLOWED_STATEMENTS) or getattr(node, "recursive", False):
            raise TemplateSyntaxError("Only {{ … }}, {% if %} and {% for %} can be used here.", node.lineno)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            raise TemplateSyntaxError(f"{name!r} is not available in templates.", node.lineno)
    for node in tree.find_all(nodes.For):
        node.iter = nodes.Filter(node.iter, "_budget", [], [], None, None, lineno=node.lineno)


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> Template:
    environment = _ENVIRONMENTS[html]
    tree = environment.parse(source)
    _check(tree)
    return environment.template_class.from_code(environment, environment.compile(tree), environment.make_globals(None))


def template_compile(source: str, *, field: str, html: bool = False) -> Template:
    """The compiled template (cached by source: one campaign renders the same one for every
    recipient); ValidationError on `field` naming the line when it doesn't compile."""
    try:
        return _compiled(source, html)
    except TemplateSyntaxError as exc:
        raise ValidationError({field: [f"Line {exc.lineno}: {exc.message}"]}) from None


def template_render(template: Template, context: dict) -> str:
    """The output; TemplateRenderError, naming the line where it can, when the template fails or runs away."""
    parts, size = [], 0
    try:
        for part in template.generate(context):
            size += len(part)
            if size > MAX_OUTPUT:
                raise SecurityError(f"The result is longer than {MAX_OUTPUT} characters.")
            parts.append(part)
    except Exception as exc:
        # The template is user code: whatever it raises is that template's error, not ours.
        raise TemplateRenderError(_describe(exc)) from exc
    return "".join(parts)


def _describe(exc: Exception) -> str:
    frames = reversed(traceback.extract_tb(exc.__traceback__))
    line = next((frame.lineno for frame in frames if frame.filename == "<template>"), None)
    message = str(exc) or type(exc).__name__
    return f"Line {line}: {message}" if line else message

"""Read a program from YAML (or a dict) and say exactly what is wrong with it.

Every problem is reported with its path inside the file, in the form
``rules[2].when.amount.gte``, and a plain reason. ``ProgramInvalid`` carries
them all in ``.errors``; its ``field`` is the first path.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from patron.core.errors import InvalidInput
from patron.core.money import ISO_4217
from patron.program.schema import Program


class ProgramInvalid(InvalidInput):
    """The program file is not valid; ``errors`` lists ``{"path", "message"}``."""

    def __init__(self, source: str, errors: list[dict[str, str]]) -> None:
        shown = "; ".join(f"{e['path'] or 'top level'}: {e['message']}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(
            f"{source} is not a valid program: {shown}{more}",
            field=errors[0]["path"] or None if errors else None,
            errors=errors,
            source=source,
        )
        self.errors = errors
        self.source = source


# Values a program file may hold once its aliases are expanded: the example program
# holds about 300, a large one a few thousand. Aliases (``*name``) make a small
# file stand for an exponentially large one ("billion laughs"), which validation
# would walk value by value; such a file is refused before it is built.
MAX_VALUES = 100_000


class _Loader(yaml.SafeLoader):
    """YAML 1.1 without its traps: no sexagesimal numbers (``10:30`` stays a
    string), no silently repeated keys, no alias bombs."""

    def construct_document(self, node: yaml.Node) -> Any:
        if _expanded_size(node, {}) > MAX_VALUES:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"the file stands for more than {MAX_VALUES:,} values once its aliases "
                "(*name) are expanded",
                node.start_mark,
            )
        return super().construct_document(node)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for, aliases counted each time they are used
    (each distinct node measured once; a node inside itself counts once)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # while measuring: a node that contains itself
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(item, sizes) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    sizes[id(node)] = total
    return total


_Loader.yaml_implicit_resolvers = {
    ch: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _mapping_without_repeats(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' appears twice in the same mapping", key_node.start_mark
            )
        seen[key] = True
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_repeats)


def parse_program(text: str, source: str = "<string>") -> Program:
    """Parse program YAML; raises ProgramInvalid naming the source and each path."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise ProgramInvalid(
            source, [{"path": "", "message": "not valid YAML: nested too deeply"}]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProgramInvalid(
            source, [{"path": where, "message": f"not valid YAML: {problem}"}]
        ) from None
    return new_program(program_from_dict(data, source), source)


def new_program(program: Program, source: str) -> Program:
    """``program`` checked as a program about to be saved is: its currency an ISO 4217
    code. (Stored versions are read without this check: they were saved already.)"""
    if program.currency not in ISO_4217:
        message = f"'{program.currency}' is not an ISO 4217 currency code"
        raise ProgramInvalid(source, [{"path": "currency", "message": message}])
    return program


def load_program_file(path: str | Path) -> Program:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            f"cannot read program file {file}: {exc.strerror}", field="path"
        ) from None
    return parse_program(text, str(file))


def program_from_dict(data: Any, source: str = "<dict>") -> Program:
    if not isinstance(data, dict):
        raise ProgramInvalid(
            source,
            [
                {
                    "path": "",
                    "message": ("the program must be a mapping with name, currency, rules, ..."),
                }
            ],
        )
    try:
        return Program.model_validate(data)
    except ValidationError as exc:
        raise ProgramInvalid(source, _errors(exc)) from None


def program_to_dict(program: Program) -> dict[str, Any]:
    """JSON-able form for storing versions (Decimals as strings); loads back equal."""
    data = program.model_dump(mode="json", by_alias=True, exclude_unset=True)
    data.setdefault("name", program.name)
    data.setdefault("currency", program.currency)
    for i, rule in enumerate(data.get("rules", ())):
        if "when" in rule:
            rule["when"] = _dotted(rule["when"])
        data["rules"][i] = rule
    return data


def _dotted(cond: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in cond.items():
        if key in ("event_attributes", "member_attributes"):
            for name, cmp in value.items():
                out[f"{key.split('_')[0]}.attributes.{name}"] = cmp
        elif key in ("all", "any"):
            out[key] = [_dotted(c) for c in value]
        elif key == "not":
            out[key] = _dotted(value)
        else:
            out[key] = value
    return out


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for err in exc.errors(include_url=False):
        if err["type"] == "program":  # Program's whole-file checks, one per path
            errors.extend({"path": p, "message": m} for p, m in err["ctx"]["problems"])
            continue
        loc = err["loc"]
        errors.append({"path": format_path(loc), "message": _message(err, loc)})
    return errors


def format_path(loc: tuple[Any, ...]) -> str:
    """``("rules", 2, "when", "amount")`` -> ``rules[2].when.amount``."""
    out = ""
    i = 0
    while i < len(loc):
        part = loc[i]
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("event_attributes", "member_attributes") and i + 1 < len(loc):
            i += 1
            out += f"{'.' if out else ''}{part.split('_')[0]}.attributes.{loc[i]}"
        else:
            out += f"{'.' if out else ''}{'not' if part == 'not_' else part}"
        i += 1
    return out


def _message(err: Any, loc: tuple[Any, ...]) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        if hint:
            return f"unknown key '{loc[-1]}': did you mean '{hint[0]}'?"
        return f"unknown key '{loc[-1]}'" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return "required"
    if kind == "string_pattern_mismatch":
        return "use lower-case letters, digits, '-' and '_' (like base-earn)"
    if kind == "literal_error":
        return f"{err['input']!r} is not allowed: use {err['ctx']['expected']}"
    if kind.startswith(("value_error", "assertion_error")):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return msg


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Keys the model at ``loc`` accepts (for did-you-mean), best effort."""
    model: Any = Program
    skip_key = False
    for part in loc:
        if isinstance(part, int):
            continue
        if skip_key:  # the name inside event.attributes / member.attributes
            skip_key = False
            continue
        fields = model.model_fields
        field = fields.get(part) or next((f for f in fields.values() if f.alias == part), None)
        if field is None:
            return []
        model, skip_key = _model_in(field.annotation)
        if model is None:
            return []
    keys = [f.alias or n for n, f in model.model_fields.items()]
    if model.__name__ == "Condition":
        keys = [k for k in keys if not k.endswith("_attributes")]
        keys += ["event.attributes.<name>", "member.attributes.<name>"]
    return keys


def _model_in(annotation: Any) -> tuple[Any, bool]:
    """(pydantic model inside list/Optional/Annotated/dict values, whether via a dict)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = typing.get_origin(annotation)
    if origin is dict:
        return _model_in(typing.get_args(annotation)[1])[0], True
    if origin in (list, typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found[0] is not None:
                return found
    return None, False

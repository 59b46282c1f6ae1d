"""YAML parsing that remembers where every key and item stands, for diagnostics."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
# Scalars a text field takes as written: a title "1984", "2025-03-01", "yes" or "=" is text to an editor.
_TEXT_TAGS = frozenset(
    {_STR, _MERGE, _VALUE, *(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "timestamp"))}
)
_RESOLVER = yaml.resolver.Resolver()


# One pass gives both the nodes (for lines) and the data; libyaml's parser when PyYAML was
# built with it, since the pure-Python one was the larger half of loading 1,000 passages.
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, reading a lone "=" or "<<" value as text rather than failing on its tag."""


for _tag in (_VALUE, _MERGE):
    _Loader.add_constructor(_tag, yaml.SafeLoader.construct_yaml_str)


@dataclass(frozen=True)
class YamlError:
    line: int  # 1-based, in the text that was parsed
    column: int
    problem: str
    first_line: int = 0  # a duplicate key: the line of its first use, in the text that was parsed

    def message(self, offset: int = 0) -> str:
        """The problem, with lines counted in a file whose YAML starts after ``offset`` lines."""
        if self.first_line:
            return f"{self.problem}: at line {self.first_line + offset} and again at line {self.line + offset}"
        return f"YAML is not valid: {self.problem}"

    @property
    def hint(self) -> str:
        if self.first_line:
            return "keep one of them: YAML would silently use the last"
        return "fix the YAML syntax at this line (check indentation, colons and quotes)"


@dataclass(frozen=True)
class YamlDoc:
    data: object
    node: yaml.Node | None

    def at(self, *path: str | int) -> yaml.Node | None:
        """The node of the value at ``path`` (keys and list indexes); None when absent."""
        node = self.node
        for step in path:
            node = _child(node, step)
            if node is None:
                return None
        return node

    def line(self, *path: str | int) -> int:
        """1-based line of the value at ``path``; 0 when absent."""
        node = self.at(*path)
        return node.start_mark.line + 1 if node is not None else 0

    def text(self, *path: str | int) -> str | None:
        """The value at ``path`` as written, when it is a scalar that reads as text: a string,
        or a number, date or boolean taken as the editor wrote it. None for anything else
        (a list, a mapping, ``!!binary``, any other tag), and when absent."""
        node = self.at(*path)
        if not isinstance(node, yaml.ScalarNode):
            return None
        if node.tag == _STR:
            return node.value
        plain = node.style in (None, "")
        implicit = _RESOLVER.resolve(yaml.ScalarNode, node.value, (True, False)) if plain else _STR
        return node.value if node.tag == implicit and node.tag in _TEXT_TAGS else None

    def key_line(self, key: str, *path: str | int) -> int:
        """1-based line of ``key`` in the mapping at ``path``; 0 when absent."""
        node = self.at(*path)
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in reversed(node.value):
                if key_node.value == key:
                    return key_node.start_mark.line + 1
        return 0


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        # the last one, as in the data: keys merged in with "<<" come before the mapping's own
        return next((v for k, v in reversed(node.value) if k.value == step), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None


def _duplicate_key(root: yaml.Node) -> YamlError | None:
    """The first key given twice in one mapping, anywhere in the document; None if none is.

    Checked on the composed nodes, before "<<" merges add keys of their own to a mapping.
    """
    found: list[tuple[yaml.Node, yaml.Node]] = []
    stack, visited = [root], set()
    while stack:  # not recursive: aliases may nest deeper than Python's stack
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], yaml.Node] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE:
                    earlier = first.setdefault((key.tag, key.value), key)
                    if earlier is not key:
                        found.append((earlier, key))
                stack += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    if not found:
        return None
    earlier, key = min(found, key=lambda pair: (pair[1].start_mark.index, pair[0].start_mark.index))
    shown = key.value if len(key.value) <= 60 else key.value[:60] + "…"
    return YamlError(
        key.start_mark.line + 1, key.start_mark.column + 1, f"key '{shown}' is given twice", earlier.start_mark.line + 1
    )


def parse_yaml(text: str) -> YamlDoc | YamlError:
    """Parse one YAML document; a syntax error or a duplicate key comes back as data, never raised."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None and (duplicate := _duplicate_key(node)) is not None:
            return duplicate
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and mark and mark.index >= len(text.rstrip()):
            # "got end of stream" points past the text; where the unclosed thing began helps
            mark = exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(filter(None, [exc.context, exc.problem])) or "not valid YAML"
        return YamlError(line, column, problem)
    except yaml.YAMLError as exc:  # e.g. more than one document
        return YamlError(1, 1, str(exc).splitlines()[0])
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. a date like 2024-02-30
        return YamlError(1, 1, str(exc))
    finally:
        loader.dispose()
    return YamlDoc(data, node)

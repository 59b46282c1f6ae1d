"""YAML parsing that remembers where every key and item stands, for diagnostics."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

# One pass gives both the nodes (for lines) and the data; libyaml's parser when PyYAML was
# built with it, since the pure-Python one was the larger half of loading 1,000 passages.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class YamlError:
    line: int  # 1-based, in the text that was parsed
    column: int
    problem: str


@dataclass(frozen=True)
class YamlDoc:
    data: object
    node: yaml.Node | None

    def line(self, *path: str | int) -> int:
        """1-based line of the value at ``path`` (keys and list indexes); 0 when absent."""
        node = self.node
        for step in path:
            node = _child(node, step)
            if node is None:
                return 0
        return node.start_mark.line + 1 if node is not None else 0

    def key_line(self, key: str, *path: str | int) -> int:
        """1-based line of ``key`` in the mapping at ``path``; 0 when absent."""
        node = self.node
        for step in path:
            node = _child(node, step)
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if key_node.value == key:
                    return key_node.start_mark.line + 1
        return 0


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        return next((v for k, v in node.value if k.value == step), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None


def parse_yaml(text: str) -> YamlDoc | YamlError:
    """Parse one YAML document; a syntax error comes back as data, never raised."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
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

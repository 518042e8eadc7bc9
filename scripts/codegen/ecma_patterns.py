"""The contract's `pattern`s, rewritten so that the service's regex engine reads them as ECMA-262.

OpenAPI 3.1 (JSON Schema) patterns are ECMA-262 regular expressions, which clients evaluate with
JavaScript's `RegExp` (`u` flag). The service validates with pydantic-core's engine (Rust's
`regex`), whose shorthand classes are Unicode-wide where ECMA-262's are not, or the other way
round: `\\s` misses U+FEFF, `\\d` and `\\w` take every script's digits and letters, `.` takes the
line terminators U+2028 and U+2029. Each such construct is written out as the explicit class
ECMA-262 defines, so both engines answer the same; a construct this cannot translate stops
generation rather than pass through with another meaning.

Usage: python ecma_patterns.py <contract.yaml> <output.yaml>
"""

import sys
from pathlib import Path
from typing import Any

import yaml

# ECMA-262 WhiteSpace and LineTerminator, which `\s` stands for.
WHITESPACE = (
    "\\t\\n\\x0B\\x0C\\r \\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF"
)
DIGITS = "0-9"
WORD = "A-Za-z0-9_"
# What `.` does not match without the `s` flag: the line terminators.
LINE_TERMINATORS = "\\n\\r\\u2028\\u2029"
SHORTHANDS = {"s": WHITESPACE, "d": DIGITS, "w": WORD}


class UntranslatablePattern(ValueError):
    pass


def translate(pattern: str) -> str:
    """`pattern` as ECMA-262 reads it, in syntax that Rust's `regex` reads the same way."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 >= len(pattern):
                raise UntranslatablePattern(f"{pattern!r} ends in a lone backslash")
            escaped = pattern[index + 1]
            index += 2
            if escaped.lower() in SHORTHANDS:
                members = SHORTHANDS[escaped.lower()]
                if escaped.islower():
                    out.append(members if in_class else f"[{members}]")
                elif in_class:
                    raise UntranslatablePattern(
                        f"{pattern!r}: \\{escaped} inside a class has no explicit form here"
                    )
                else:
                    out.append(f"[^{members}]")
            elif escaped in "bB":
                raise UntranslatablePattern(f"{pattern!r}: \\{escaped} differs between engines")
            else:
                out.append("\\" + escaped)
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if pattern.startswith("[^]", index) or pattern.startswith("[]", index):
                raise UntranslatablePattern(f"{pattern!r}: an empty class reads differently")
        elif char == ".":
            out.append(f"[^{LINE_TERMINATORS}]")
            index += 1
            continue
        out.append(char)
        index += 1
    return "".join(out)


def translated_patterns(node: Any) -> Any:
    """The document with every `pattern` string translated."""
    if isinstance(node, dict):
        return {
            key: translate(value)
            if key == "pattern" and isinstance(value, str)
            else translated_patterns(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [translated_patterns(item) for item in node]
    return node


def patterns(node: Any) -> list[str]:
    """Every `pattern` string in the document."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k == "pattern" and isinstance(v, str)]
        return found + [p for v in node.values() for p in patterns(v)]
    if isinstance(node, list):
        return [p for item in node for p in patterns(item)]
    return []


def main(argv: list[str]) -> int:
    source, target = Path(argv[1]), Path(argv[2])
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    try:
        rewritten = translated_patterns(document)
    except UntranslatablePattern as error:
        print(f"{source}: {error}", file=sys.stderr)
        return 1
    target.write_text(
        yaml.safe_dump(rewritten, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

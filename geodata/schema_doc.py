"""Markdown tables of the campaign format, generated from :mod:`geodata.schema`.

``python -m geodata.schema_doc`` prints the section the README carries; a test
checks the README still lists every layer and column.
"""

from geodata.schema import LAYERS


def markdown() -> str:
    out = []
    for layer in LAYERS.values():
        geom = {None: "table (no geometry)", "Polygon": "polygons", "Point": "points", "LineString": "lines"}[layer.geometry]
        req = "required" if layer.required else "optional"
        out.append(f"#### `{layer.name}` ({layer.zh}): {geom}, {req}\n\n{layer.doc}\n")
        out.append("| column | 中文 | type | required | meaning |\n|---|---|---|---|---|")
        for c in layer.columns:
            need = "derived if empty" if c.derivable else ("yes" if c.required else "no")
            out.append(f"| `{c.name}` | {c.zh} | {c.dtype} | {need} | {c.doc} |")
        out.append("")
    return "\n".join(out)


def update_readme(path="README.md") -> None:
    """Replace the generated block of the README with the current tables."""
    from pathlib import Path

    p = Path(path)
    text = p.read_text(encoding="utf-8")
    start = text.index("<!-- schema:start")
    start = text.index("\n", start) + 1
    end = text.index("<!-- schema:end -->")
    p.write_text(text[:start] + markdown() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--update-readme"]:
        update_readme()
    else:
        print(markdown())

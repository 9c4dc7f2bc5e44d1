"""The README documents every layer and column of the campaign format."""

from conftest import REPO
from geodata.schema import LAYERS


def test_readme_documents_every_layer_and_column():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for layer in LAYERS.values():
        assert f"`{layer.name}` ({layer.zh})" in text
        for col in layer.columns:
            assert f"| `{col.name}` | {col.zh} |" in text, f"{layer.name}.{col.name} is not documented"


def test_readme_shows_the_ci_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test.sh" in ci and "scripts/test.sh" in readme and "scripts/demo.sh" in readme

"""documents/ sits beside projections/: the API and the command line import it, and it imports
neither of them (nor the composition root, nor a web or CLI framework)."""

from __future__ import annotations

from tests.unit.test_layout import ROOT, imported_modules, modules_of

FORBIDDEN = frozenset({"api", "cli", "bootstrap", "fastapi", "starlette", "uvicorn", "typer", "rich"})


def test_documents_import_only_the_domain_and_the_read_side() -> None:
    modules = modules_of("documents")
    assert modules, "documents/ has no modules: has the layout moved?"
    found = [f"{module}:{line} imports {name}" for module, path in modules
             for line, name in imported_modules(path.read_text(encoding="utf-8"), module)
             if name.split(".")[0] in FORBIDDEN]
    assert not found, "imports against the layering:\n" + "\n".join(found)
    assert (ROOT / "documents" / "templates" / "invoice.html.j2").is_file()

"""Issue #17: the examples the OpenAPI documents show for answers are answers their own schemas accept (a model's
subclass inherits its parent's example unless it gives its own: this catches one that forgot)."""

from __future__ import annotations

import json

import pytest

from deploy import service_contracts as sc
from tests.schemas import validator

SERVICES = ("learning", "identity", "notifications")


@pytest.mark.parametrize("service", SERVICES)
def test_every_example_of_an_answer_fits_its_schema(service: str) -> None:
    spec = json.loads((sc.OPENAPI_DIR / f"{service}.json").read_text())
    shown = {name: schema["examples"] for name, schema in spec["components"]["schemas"].items()
             if "examples" in schema}
    assert shown, f"{service}: no answer shows an example"
    wrong = [f"{name}: {list(e.path)}: {e.message}" for name, examples in shown.items() for example in examples
             for e in validator(spec, {"$ref": f"#/components/schemas/{name}"}).iter_errors(example)]
    assert not wrong, f"{service}: examples their schemas refuse:\n" + "\n".join(wrong)

"""docs/backend_configurations.md: generated from the models, every example true."""

from __future__ import annotations

import shlex

import pytest

from rompy.schema import config_class
from scripts import doc_tables as rs
from tests.helpers.cli import REPO

DOC = REPO / "docs" / "backend_configurations.md"


def test_field_tables_are_in_sync_with_the_models():
    text = DOC.read_text()
    for class_name in rs.TABLE_CLASSES:
        assert rs._markers(class_name)[0] in text, f"no generated table for {class_name}"
    assert rs.refresh_docs(text) == text, "run: python scripts/doc_tables.py"


@pytest.mark.parametrize("class_name", list(rs.TABLE_CLASSES))
def test_every_field_has_an_example(class_name):
    cls = config_class(*rs.TABLE_CLASSES[class_name])
    fields = set(cls.model_fields) - {"type"}
    assert set(rs.EXAMPLES[class_name]) == fields, "add (or drop) examples in scripts/doc_tables.py EXAMPLES"


def examples():
    return [(c, f, v) for c, values in rs.EXAMPLES.items() for f, v in values.items()]


@pytest.mark.parametrize("class_name,field,value", examples(), ids=[f"{c}.{f}" for c, f, _ in examples()])
def test_example_is_valid_and_types_as_shown(class_name, field, value, tmp_path, monkeypatch):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    monkeypatch.chdir(tmp_path)
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    cls = config_class(*rs.TABLE_CLASSES[class_name])
    cls.model_validate(rs.example_input(class_name, field, value))
    # What the table shows, typed in a shell, is what Hydra hands to the model.
    kind = rs.TABLE_CLASSES[class_name][0]
    [word] = shlex.split(rs.shell_override(f"{kind}.{field}", value))
    [override] = OverridesParser.create().parse_overrides([word])
    assert override.key_or_group == f"{kind}.{field}"
    parsed = override.value()
    assert parsed == value or (isinstance(value, dict) and {k: str(v) for k, v in parsed.items()} == value)


@pytest.mark.parametrize("class_name", list(rs.TABLE_CLASSES))
def test_bad_values_are_refused_with_a_rule(class_name):
    cls = config_class(*rs.TABLE_CLASSES[class_name])
    for field in rs.BAD_VALUES[class_name]:
        assert rs.refusals(cls, class_name, field), field

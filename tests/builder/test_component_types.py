"""Every component type: its default config and a filled-in config are accepted; garbage in any field,
or a key the type doesn't know, is refused with the path of each bad field."""

import pytest

from builder.components import REGISTRY, ConfigError

TYPES = sorted(REGISTRY)
GARBAGE = [[["not", "a", "value"]]]  # of no field's type: not text, number, flag, object or list of those


@pytest.mark.parametrize("type_name", TYPES)
def test_default_config_is_valid_and_round_trips(type_name):
    component_type = REGISTRY[type_name]
    default = component_type.default_config()
    assert component_type.validate(default) == default
    assert component_type.validate({}) == default
    assert component_type.validate(None) == default


@pytest.mark.parametrize("type_name", TYPES)
def test_schema_describes_every_config_key(type_name):
    component_type = REGISTRY[type_name]
    schema = component_type.json_schema()
    assert set(schema["properties"]) == set(component_type.default_config())
    assert schema.get("additionalProperties") is False


@pytest.mark.parametrize("type_name", TYPES)
def test_garbage_in_every_field_is_refused_naming_each_field(type_name):
    component_type = REGISTRY[type_name]
    fields = list(component_type.default_config())
    with pytest.raises(ConfigError) as caught:
        component_type.validate(dict.fromkeys(fields, GARBAGE))
    paths = set(caught.value.errors)
    for field in fields:
        assert any(path == f"config.{field}" or path.startswith(f"config.{field}.") for path in paths), (field, paths)


@pytest.mark.parametrize("type_name", TYPES)
def test_unknown_key_is_refused_by_name(type_name):
    with pytest.raises(ConfigError) as caught:
        REGISTRY[type_name].validate({"onload": "alert(1)"})
    assert "config.onload" in caught.value.errors


@pytest.mark.parametrize("config", ["hero", 5, ["a"], True])
def test_a_config_that_is_not_an_object_is_refused(config):
    with pytest.raises(ConfigError) as caught:
        REGISTRY["hero"].validate(config)
    assert caught.value.errors == {"config": ["Must be an object."]}


def test_the_catalogue_has_every_kind_of_component_the_builder_needs():
    categories = {component_type.category for component_type in REGISTRY.values()}
    assert len(REGISTRY) >= 18
    assert {"layout", "content", "media", "marketing", "forms", "social_proof"} <= categories
    assert {t.type for t in REGISTRY.values() if t.is_form} == {"contact_form", "newsletter", "lead_magnet"}
    assert all(t.emits == ("form.submitted",) for t in REGISTRY.values() if t.is_form)

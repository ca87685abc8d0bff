"""YAML marks and the CloudFormation YAML loader: pointers map to the lines of their keys,
and short intrinsic tags load as their long form, for any document shape."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_guard.loaders.cloudformation import CfnLoader, _tag_key
from mlops_guard.loaders.yaml_marks import YamlMarks, line_of, load_with_marks
from mlops_guard.pointer import escape

KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ_-0123456789", min_size=1, max_size=8)
SCALARS = st.one_of(
    st.integers(-1000, 1000),
    st.booleans(),
    st.text(alphabet="abc xyz-_.:/{}$", max_size=12),
)


def _documents():
    return st.recursive(
        SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(KEYS, children, max_size=4),
        ),
        max_leaves=25,
    )


def _key_pointers(node, pointer=""):
    if isinstance(node, dict):
        for key, child in node.items():
            child_pointer = f"{pointer}/{escape(key)}"
            yield child_pointer, key
            yield from _key_pointers(child, child_pointer)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _key_pointers(child, f"{pointer}/{index}")


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(KEYS, _documents(), min_size=1, max_size=5), st.booleans())
def test_every_key_pointer_maps_to_the_line_of_that_key(document, flow):
    text = yaml.safe_dump(document, default_flow_style=flow, width=10_000, sort_keys=False)
    data, root = load_with_marks(text, yaml.SafeLoader)
    assert data == document
    marks = YamlMarks(root)
    lines = text.splitlines()
    for pointer, key in _key_pointers(document):
        line, column = marks.locate(pointer)
        assert lines[line - 1][column - 1 :].lstrip("'\"").startswith(key), (pointer, text)


class Intrinsic:
    def __init__(self, tag: str, value):
        self.tag, self.value = tag, value


def _represent(dumper: yaml.SafeDumper, data: Intrinsic):
    if isinstance(data.value, list):
        return dumper.represent_sequence(data.tag, data.value)
    if isinstance(data.value, dict):
        return dumper.represent_mapping(data.tag, data.value)
    return dumper.represent_scalar(data.tag, data.value)


class ShortFormDumper(yaml.SafeDumper):
    pass


ShortFormDumper.add_representer(Intrinsic, _represent)
TAGS = ["!Ref", "!Sub", "!Join", "!If", "!Select", "!Split", "!FindInMap", "!ImportValue"]
TAGS += ["!Base64", "!Cidr", "!GetAZs", "!And", "!Or", "!Not", "!Equals", "!Condition"]


def _templates():
    text = st.text(alphabet="abc-${}:.", max_size=10)

    def wrap(children):
        containers = st.one_of(
            st.lists(children, max_size=3), st.dictionaries(KEYS, children, max_size=3)
        )
        # A YAML node has one tag: an intrinsic holds a scalar or a container, never a tag.
        tagged = st.builds(Intrinsic, st.sampled_from(TAGS), st.one_of(text, containers))
        return st.one_of(tagged, containers)

    return st.recursive(text, wrap, max_leaves=15)


def _long_form(node):
    if isinstance(node, Intrinsic):
        return {_tag_key(node.tag): _long_form(node.value)}
    if isinstance(node, list):
        return [_long_form(child) for child in node]
    if isinstance(node, dict):
        return {key: _long_form(child) for key, child in node.items()}
    return node


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(KEYS, _templates(), min_size=1, max_size=4))
def test_short_tags_load_as_long_form_and_keep_key_lines(document):
    text = yaml.dump(document, Dumper=ShortFormDumper, sort_keys=False, width=10_000)
    data, root = load_with_marks(text, CfnLoader)
    expected = _long_form(document)
    assert data == expected
    marks = YamlMarks(root, _tag_key)
    lines = text.splitlines()
    for pointer, key in _key_pointers(expected):
        if key.startswith(("Fn::", "Ref", "Condition")) and pointer.rsplit("/", 1)[-1] == key:
            continue  # a tag, not a key in the text
        line, column = marks.locate(pointer)
        assert lines[line - 1][column - 1 :].lstrip("'\"").startswith(key), (pointer, text)


def test_getatt_dotted_short_form_and_dates_stay_strings():
    text = "AWSTemplateFormatVersion: 2010-09-09\nArn: !GetAtt Pipeline.PipelineArn\n"
    data, _root = load_with_marks(text, CfnLoader)
    assert data == {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Arn": {"Fn::GetAtt": ["Pipeline", "PipelineArn"]},
    }


def test_loader_constructs_no_python_objects():
    text = "a: !!python/object/apply:os.system ['true']\n"
    try:
        load_with_marks(text, CfnLoader)
    except yaml.YAMLError:
        return
    raise AssertionError("a python/object tag must not be constructed")


def test_missing_pointer_falls_back_to_parent_and_line_of_policy_keys():
    text = "naming:\n  pipeline:\n    pattern: x\n"
    marks = YamlMarks.from_text(text)
    assert marks.locate("/naming/pipeline/nope") == (2, 3)
    assert line_of(text, ["naming", "pipeline", "pattern"]) == 3


def test_marks_are_bounded_like_the_data():
    """The marks walk the composed nodes recursively: they are only built for a document
    that the safe loader measured (no cycle, bounded aliases and depth)."""
    import pytest

    from mlops_guard.errors import InputError

    recursive = "a: &a\n  b: *a\n"
    deep = "a: " + "[" * 500 + "]" * 500 + "\n"
    for text in (recursive, deep):
        with pytest.raises(InputError):
            YamlMarks.from_text(text)
        with pytest.raises(InputError):
            load_with_marks(text, CfnLoader)
        assert line_of(text, ["a"]) is None  # a policy error message never crashes on it
    shared = "a: &a {x: 1}\nb: *a\n"
    data, root = load_with_marks(shared, CfnLoader)
    assert data == {"a": {"x": 1}, "b": {"x": 1}}
    assert YamlMarks(root).locate("/b/x") == (1, 8)  # the alias's node is the anchor's

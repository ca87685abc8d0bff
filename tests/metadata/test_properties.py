"""Properties of the export format: dump -> load is lossless, junk fails only as input errors."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_guard.metadata import MetadataInputError, dumps_store, load_store
from mlops_guard.metadata.model import (
    Artifact,
    Execution,
    Experiment,
    MetadataStore,
    MetricPoint,
    MetricSummary,
    Notification,
    Pipeline,
    Schedule,
    Trial,
    TrialComponent,
    Unreadable,
)

SETTINGS = settings(
    max_examples=int(os.environ.get("MG_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

names = st.text(min_size=1, max_size=12)
texts = st.none() | st.text(max_size=20)
floats = st.floats(allow_nan=False)
zones = (
    st.none()
    | st.just(UTC)
    | st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
)
moments = st.none() | st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones
)
tags = st.dictionaries(names, st.text(max_size=12), max_size=3)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | floats | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(names, children, max_size=3),
    max_leaves=8,
)

metrics = st.builds(
    MetricSummary,
    last=st.none() | floats,
    min=st.none() | floats,
    max=st.none() | floats,
    avg=st.none() | floats,
    count=st.none() | st.integers(0, 10**9),
    series=st.lists(
        st.builds(
            MetricPoint, step=st.none() | st.integers(0, 10**6), timestamp=moments, value=floats
        ),
        max_size=3,
    ),
)
artifacts = st.dictionaries(
    names, st.builds(Artifact, uri=st.text(max_size=20), media_type=texts), max_size=2
)
components = st.builds(
    TrialComponent,
    name=names,
    display_name=texts,
    description=texts,
    status=texts,
    source_arn=texts,
    start_time=moments,
    end_time=moments,
    tags=tags,
    parameters=st.dictionaries(
        names, st.text(max_size=8) | st.integers() | floats | st.booleans(), max_size=4
    ),
    metrics=st.dictionaries(names, metrics, max_size=2),
    input_artifacts=artifacts,
    output_artifacts=artifacts,
    pipeline_execution_arn=texts,
)
trials = st.builds(
    Trial,
    name=names,
    display_name=texts,
    tags=tags,
    pipeline_execution_arn=texts,
    components=st.lists(components, max_size=2),
)
experiments = st.builds(
    Experiment,
    name=names,
    display_name=texts,
    description=texts,
    tags=tags,
    trials=st.lists(trials, max_size=2),
)
pipelines = st.builds(
    Pipeline,
    name=names,
    arn=texts,
    definition=st.none() | st.dictionaries(names, json_values, max_size=3),
    tags=tags,
    schedules=st.lists(
        st.builds(
            Schedule,
            kind=st.sampled_from(["eventbridge-rule", "scheduler"]),
            name=names,
            expression=texts,
            state=texts,
            passes_parameters=tags,
        ),
        max_size=2,
    ),
    notifications=st.lists(
        st.builds(
            Notification,
            rule_name=names,
            event_pattern=st.dictionaries(names, json_values, max_size=3),
            targets=st.lists(st.text(max_size=10), max_size=2),
        ),
        max_size=2,
    ),
    executions=st.lists(
        st.builds(
            Execution,
            arn=names,
            status=texts,
            start_time=moments,
            end_time=moments,
            failure_reason=texts,
            parameters=tags,
        ),
        max_size=2,
    ),
)
stores = st.builds(
    MetadataStore,
    experiments=st.lists(experiments, max_size=2),
    pipelines=st.lists(pipelines, max_size=2),
    unreadable=st.lists(st.builds(Unreadable, what=names, reason=st.text(max_size=10)), max_size=2),
)


def _load_text(text: str, suffix: str):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"export{suffix}"
        path.write_text(text, encoding="utf-8")
        return load_store(path)


@SETTINGS
@given(stores, st.sampled_from([".json", ".yaml"]))
def test_dump_then_load_is_lossless(store, suffix):
    text = dumps_store(store, yaml=suffix == ".yaml")
    loaded = _load_text(text, suffix)
    assert loaded == store
    assert dumps_store(loaded, yaml=suffix == ".yaml") == text


@SETTINGS
@given(json_values | st.dictionaries(st.text(max_size=10), json_values))
def test_junk_json_fails_only_as_input_error(document):
    with contextlib.suppress(MetadataInputError):
        _load_text(json.dumps(document), ".json")


@SETTINGS
@given(st.data(), stores, json_values)
def test_a_valid_export_with_one_node_replaced_fails_only_as_input_error(data, store, junk):
    document = store.model_dump(mode="json")
    node, steps = document, data.draw(st.integers(0, 6))
    for _ in range(steps):  # walk down to a random container
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        containers = [(key, value) for key, value in children if isinstance(value, dict | list)]
        if not containers:
            break
        key, child = data.draw(st.sampled_from(containers))
        if data.draw(st.booleans()):
            node[key] = junk
            break
        node = child
    else:
        if isinstance(node, dict):
            node[data.draw(st.text(max_size=5))] = junk
    with contextlib.suppress(MetadataInputError):
        _load_text(json.dumps(document), ".json")


@SETTINGS
@given(st.text(max_size=60), st.sampled_from([".json", ".yaml"]))
def test_junk_text_fails_only_as_input_error(text, suffix):
    with contextlib.suppress(MetadataInputError):
        _load_text(text, suffix)

"""The fixtures a rule may ask for by parameter name, and how each is provided.

A fixture either gives one value per target (``definition``, ``policy``) or
parametrises the rule (``step``: the rule runs once per step). A rule may ask for at
most one parametrising fixture; the engine reports every yielded or asserted finding at
the pointer of the current item unless the rule names a more precise one.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator

from mlops_guard.pointer import join


def category_section(category: str) -> str:
    """The policy section of a rule category: its name in snake case
    (``recorded-fields`` -> ``recorded_fields``)."""
    return category.replace("-", "_")


class Item(namedtuple("Item", "value pointer subject", defaults=("", None))):
    """One value of a fixture, with where it is and what to call it in findings."""

    __slots__ = ()


class Fixture(namedtuple("Fixture", "name domain each doc provide constant", defaults=(False,))):
    """A fixture: ``domain`` is ``"definition"``, ``"metadata"`` or ``"any"`` (which
    targets it exists for); ``each`` says whether it parametrises the rule; ``constant``
    that its value is the same for every target of a run (computed once per rule, from
    the policy, with no target)."""

    __slots__ = ()


def _definition_items(target, policy, info) -> Iterator[Item]:
    yield Item(target.definition)


def _steps(target, policy, info) -> Iterator[Item]:
    for step in target.definition.steps:
        yield Item(step, step.pointer, step.name)


def _parameters(target, policy, info) -> Iterator[Item]:
    for parameter in target.definition.parameters:
        yield Item(parameter, parameter.pointer, parameter.name)


def _outputs(target, policy, info) -> Iterator[Item]:
    for output in target.definition.outputs:
        yield Item(output, output.pointer, output.step.name)


def _store(target, policy, info) -> Iterator[Item]:
    yield Item(target.store)


def _experiments(target, policy, info) -> Iterator[Item]:
    for index, experiment in enumerate(target.store.experiments):
        yield Item(experiment, join("/experiments", index), experiment.name)


def _trials(target, policy, info) -> Iterator[Item]:
    for e_index, experiment in enumerate(target.store.experiments):
        for t_index, trial in enumerate(experiment.trials):
            pointer = join("/experiments", e_index, "trials", t_index)
            yield Item(trial, pointer, f"{experiment.name}/{trial.name}")


def _components(target, policy, info) -> Iterator[Item]:
    for e_index, experiment in enumerate(target.store.experiments):
        for t_index, trial in enumerate(experiment.trials):
            for c_index, component in enumerate(trial.components):
                pointer = join("/experiments", e_index, "trials", t_index, "components", c_index)
                yield Item(component, pointer, f"{experiment.name}/{trial.name}/{component.name}")


def _deployed(target, policy, info) -> Iterator[Item]:
    for index, pipeline in enumerate(getattr(target.store, "pipelines", []) or []):
        yield Item(pipeline, join("/pipelines", index), pipeline.name)


def _target(target, policy, info) -> Iterator[Item]:
    yield Item(target)


def _policy(target, policy, info) -> Iterator[Item]:
    yield Item(policy)


def _settings(target, policy, info) -> Iterator[Item]:
    yield Item(policy[category_section(info.category)])


RULE_SETTINGS = "rule_settings"


def _rule_settings(target, policy, info) -> Iterator[Item]:
    yield Item(policy["rules"][info.id])


FIXTURES: dict[str, Fixture] = {
    fixture.name: fixture
    for fixture in (
        Fixture(
            "definition",
            "definition",
            False,
            "The whole pipeline definition: .steps, .parameters, .references, "
            ".references_under(pointer), .used_parameters, .nodes_under_key(key), "
            ".step_at(pointer), .outputs, .upstream, .ancestors(name), .property_files, "
            ".experiment_config, .memo(key, factory), .raw, .name.",
            _definition_items,
        ),
        Fixture(
            "step",
            "definition",
            True,
            "Each step, nested ones (condition branches) included: .name, .type, "
            ".arguments, .pointer, .condition, .branch, .depends_on, .raw.",
            _steps,
        ),
        Fixture(
            "parameter",
            "definition",
            True,
            "Each pipeline parameter: .name, .type, .default, .pointer.",
            _parameters,
        ),
        Fixture(
            "output",
            "definition",
            True,
            "Each data output location of a step: .step, .kind, .name, .pointer, .value.",
            _outputs,
        ),
        Fixture(
            "store",
            "metadata",
            False,
            "The whole metadata store: .experiments, and .pipelines of an audit that reads them.",
            _store,
        ),
        Fixture(
            "experiment", "metadata", True, "Each experiment: .name, .tags, .trials.", _experiments
        ),
        Fixture(
            "trial",
            "metadata",
            True,
            "Each trial of each experiment: .name, .tags, .components.",
            _trials,
        ),
        Fixture(
            "trial_component",
            "metadata",
            True,
            "Each trial component (a run): .name, .display_name, .source_arn, .tags, "
            ".parameters, .metrics, .input_artifacts, .output_artifacts.",
            _components,
        ),
        Fixture("run", "metadata", True, "Alias of trial_component.", _components),
        Fixture(
            "deployed_pipeline",
            "metadata",
            True,
            "Each deployed pipeline: .name, .definition, .tags, .schedules, .notifications, "
            ".executions.",
            _deployed,
        ),
        Fixture(
            "target",
            "any",
            False,
            "Where the checked thing came from: .file, .name, .facts (found beside the "
            "definition).",
            _target,
        ),
        Fixture("policy", "any", False, "The whole policy (read-only).", _policy, True),
        Fixture(
            "settings",
            "any",
            False,
            "The policy section of the rule's category (read-only), e.g. policy.naming "
            "for a naming rule.",
            _settings,
            True,
        ),
        Fixture(
            RULE_SETTINGS,
            "any",
            False,
            "The rule's own policy section, rules.<ID>, with its declared defaults applied "
            "(read-only); only for a rule that declares @rule(..., settings={...}).",
            _rule_settings,
            True,
        ),
    )
}


DOMAIN_TITLES = {
    "definition": "Rules that check pipeline definitions (mlops-guard check)",
    "metadata": "Rules that check recorded metadata (mlops-guard audit)",
    "any": "Any rule",
}


def listing(declaring_rules: list, *, as_json: bool = False):
    """What ``mlops-guard fixtures`` shows: every fixture with its doc, by the targets it
    exists for, then the policy section of each rule in ``declaring_rules`` (the loaded
    rules that declare one, the values their ``rule_settings`` holds)."""
    from mlops_guard.policy.rule_sections import describe

    if as_json:
        return {
            "fixtures": [
                {"name": f.name, "domain": f.domain, "each": f.each, "doc": f.doc}
                for f in FIXTURES.values()
            ],
            "rule_settings": {
                rule.id: {
                    key: {"type": setting.type_name, "required": setting.required}
                    | ({} if setting.required else {"default": setting.default})
                    | {"doc": setting.doc}
                    for key, setting in rule.settings.items()
                }
                for rule in declaring_rules
            },
        }
    import textwrap

    blocks = []
    for domain, title in DOMAIN_TITLES.items():
        lines = [f"{title}:"]
        for fixture in FIXTURES.values():
            if fixture.domain != domain:
                continue
            if fixture.constant:
                per = "the same for the whole run"
            else:
                per = "the rule runs once per item" if fixture.each else "one per target"
            indent = " " * 6
            doc = textwrap.fill(fixture.doc, 96, initial_indent=indent, subsequent_indent=indent)
            lines.append(f"  {fixture.name} ({per})\n{doc}")
        blocks.append("\n".join(lines))
    if declaring_rules:
        sections = (describe(rule.id, rule.settings) for rule in declaring_rules)
        indented = ("  " + text.replace("\n", "\n  ") for text in sections)
        blocks.append("Rule settings of the loaded rules:\n" + "\n".join(indented))
    return "\n\n".join(blocks)

"""API rules: step arguments the SageMaker API would reject when the step starts.

A pipeline definition holds, for each job step, the request the pipeline service sends
when the step starts (Processing, QualityCheck and ClarifyCheck -> ``CreateProcessingJob``;
Training, ``@step`` functions and notebook jobs -> ``CreateTrainingJob``; Transform ->
``CreateTransformJob``; Tuning -> ``CreateHyperParameterTuningJob``; Model ->
``CreateModel``; RegisterModel -> ``CreateModelPackage``; AutoML -> ``CreateAutoMLJob``).
``CreatePipeline`` does not validate those requests: a wrong key, instance type or URI
fails the run hours in, when its step is reached. These rules validate them against the
operation's request shape in the SageMaker service model (data generated from botocore,
Apache-2.0, shipped as ``mlops_guard/service_model/sagemaker-requests.json``). The members
the pipeline service fills in itself (the job or model name) are excused; see
``mlops_guard.service_model.validate.FILLED_BY_PIPELINE``.

Expressions are judged by what they can produce: a parameter by its ``Type`` and its
default (a default that breaks a member is reported at the default, naming the member it
flows into), an ``Execution`` variable or ``Std:Join`` as a string, a step property by the
type of the response member its path names; anything else (``Std:JsonGet``, Lambda and
Callback outputs) is accepted, and so is a string holding a ``${...}`` placeholder (what
the CloudFormation and Terraform loaders leave for a value known only at deploy time).
"""

from __future__ import annotations

from mlops_guard import Violation, rule


def _problems(definition, check: str):
    from mlops_guard.service_model.validate import validate  # only when the rules run

    problems = definition.memo("check_api_requests.problems", lambda: validate(definition))
    for problem in problems:
        if problem.check == check:
            yield Violation(problem.message, at=problem.pointer, subject=problem.subject)


@rule(id="ST008", category="structure", summary="Step arguments have the API's members")
def check_request_members(definition):
    """What it checks: every member of a job step's ``Arguments`` (at every depth) is a
    member of the API request the step sends, and every required member is there, except
    the job or model name, which the pipeline service generates per execution
    (``ProcessingJobName``, ``TrainingJobName``, ``TransformJobName``,
    ``HyperParameterTuningJobName``, ``ModelName`` of ``CreateModel``, ``AutoMLJobName``).

    Why it matters: ``CreatePipeline`` accepts any arguments; the API rejects an unknown or
    missing member only when the step starts, after the steps before it have run.

    How to fix: correct the member's name (the finding suggests close ones) or add the
    missing member, e.g. ``"ProcessingResources": {"ClusterConfig": {...}}``; the API
    reference of the operation lists the members.
    """
    yield from _problems(definition, "members")


@rule(id="ST009", category="structure", summary="Step arguments have the API's types")
def check_request_types(definition):
    """What it checks: each value in a job step's ``Arguments`` has the type the API
    request shape gives its member (string, integer, float, boolean, list, object). An
    expression is judged by what it produces: a ``Get Parameters.X`` by the parameter's
    ``Type`` (an ``Integer`` parameter in a string member is a finding; the SDK wraps such
    parameters in ``Std:Join`` for this reason) and by its default's type; an
    ``Execution`` variable or ``Std:Join`` is a string; a step property has the type of
    the response member it names.

    Why it matters: the API rejects a number where it expects a string (hyperparameters
    and environment values are strings) and a string where it expects a number, when the
    step starts.

    How to fix: write the value in the member's type (``"InstanceCount": 1``,
    ``"HyperParameters": {"epochs": "10"}``); for a parameter, declare it with the right
    ``Type`` or wrap it in ``{"Std:Join": {"On": "", "Values": [...]}}`` to make a string.
    """
    yield from _problems(definition, "types")


@rule(id="ST010", category="structure", summary="Step arguments meet the API's constraints")
def check_request_values(definition):
    """What it checks: each value in a job step's ``Arguments`` meets its member's
    constraints in the API model: one of its enum values (``InstanceType``,
    ``S3DataType``...), its minimum and maximum length, count or value, and its pattern
    (matched against the whole value, as the service does). A parameter's default is held
    to the constraints of every member it flows into, and reported at the default.
    Patterns that Python's ``re`` cannot express faithfully (Unicode property classes
    such as ``\\p{L}``) are not checked; the generator lists them.

    Why it matters: an instance type that does not exist, an S3 URI the service's pattern
    rejects or a volume size out of range fails the step when it starts, not when the
    pipeline is deployed.

    How to fix: use a value the API accepts, e.g. ``"S3DataType": "S3Prefix"``,
    ``"InstanceType": "ml.m5.xlarge"``; for a parameter, change its ``DefaultValue``.
    """
    yield from _problems(definition, "values")

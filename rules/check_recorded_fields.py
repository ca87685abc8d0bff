"""Recorded-fields rules: every execution records enough to reproduce and compare it.

An execution is reproducible when its experiment and trial are recorded, and each job
step pins what it ran (image, code), what it read (data version) and how it was
configured (hyperparameters), and the pipeline produces metrics to compare runs by.
"""

from __future__ import annotations

import re

from mlops_guard import Violation, compiled, rule
from mlops_guard.definition import render_expression
from mlops_guard.pointer import join

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}\Z")
CONTENT_HASH = re.compile(r"(?:^|/)(?:[^/{}]*-)?(?:[0-9a-f]{32}|[0-9a-f]{64})(?:/|$)")
"""A path segment that is, or ends in, an MD5 or SHA-256 hex digest of the code: where the
SDK uploads it (``<prefix>/code/<hash>/script.py``; ``<StepName>-<hash>/input/code/...``
for ``ProcessingStep(processor=..., code=...)`` and ``<StepName>-<hash>/source/
sourcedir.tar.gz`` for an estimator-style ``TrainingStep``)."""
RENDER_TIMESTAMP = re.compile(
    r"(?:^|/)(?:[^/{}]*-)?([0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{3})(?:/|$)"
)
"""A path segment that is, or ends in, the time the definition was rendered
(``<job>-YYYY-MM-DD-HH-MM-SS-mmm``, or the bare timestamp of an ``@step`` function's
directory): a key the SDK uses for one upload and never writes again."""
VERSIONED_URI = re.compile(r"[?&]versionId=|/v\d+(?:/|$)")
WHOLE_PARAMETER = re.compile(r"\{Parameters\.[^{}]+\}")
"""A rendered expression that is one parameter reference as a whole."""
CODE_LOCAL_PATHS = ("/opt/ml/processing/input/code", "/opt/ml/processing/input/entrypoint")
CODE_INPUT_NAMES = {"code", "entrypoint"}
"""Processing inputs that carry code: ``code=`` and the ``runproc.sh`` of framework
processors."""
CODE_OBJECT = re.compile(
    r"(?:^|/)(?:sourcedir\.tar\.gz|requirements\.txt|workspace\.zip"
    r"|[^/{}]+\.(?:py|sh|r|R|ipynb|jar|scala))/?$"
)
"""The object names of code, whatever the input is called: the SDK's ``sourcedir.tar.gz``
and ``@step`` ``workspace.zip``, a ``requirements.txt``, or a script."""
USER_CODE_CHANNELS = {
    "code",
    "pre_exec_script_and_dependencies",
    "sm_rf_user_ws",
    "sagemaker_headless_execution_pipelinestep",
}
"""Training channels with the author's code: ModelTrainer ``source_code``; an ``@step``
function's dependencies and its workspace archive (``workspace.zip``); a notebook job's
staged notebook with its initialization script and dependencies."""
SDK_CODE_CHANNELS = {"sm_drivers", "sagemaker_remote_function_bootstrap"}
"""Training channels with the SDK's own driver scripts."""
SDK_HYPERPARAMETERS = re.compile(r"^(?:sagemaker_.*|model_dir)$")
"""Keys the SDK adds to ``HyperParameters`` for its framework containers."""
JOB_STEPS = ("Processing", "Training", "Tuning")


# -- reading the definition ------------------------------------------------------------


def _mapping(value) -> dict:
    """``value`` if it is an object, else empty: hand-edited definitions may hold anything
    anywhere, and a shape SageMaker would reject is the structure rules' business."""
    return value if isinstance(value, dict) else {}


def literal_value(value, definition):
    """``(text, parameter names)`` for a literal or an expression made only of literals
    and parameters (their defaults substituted); None if it depends on a step or the
    execution."""
    if isinstance(value, str):
        return value, []
    if isinstance(value, dict) and isinstance(value.get("Get"), str) and len(value) == 1:
        path = value["Get"]
        if path.startswith("Parameters."):
            parameter = definition.parameters_by_name.get(path.split(".", 1)[1])
            if parameter is not None and isinstance(parameter.default, str):
                return parameter.default, [parameter.name]
        return None
    join_args = value.get("Std:Join") if isinstance(value, dict) else None
    if isinstance(join_args, dict) and isinstance(join_args.get("Values"), list):
        parts, names = [], []
        for item in join_args["Values"]:
            resolved = literal_value(item, definition)
            if resolved is None:
                return None
            parts.append(resolved[0])
            names.extend(resolved[1])
        return str(join_args.get("On", "")).join(parts), names
    return None


def _training_definitions(step):
    """``(pointer, job definition)`` of a Training step or each of a Tuning step's."""
    arguments, base = step.arguments, step.arguments_pointer
    if step.type == "Training":
        yield base, arguments
    elif step.type == "Tuning":
        job = arguments.get("TrainingJobDefinition")
        if isinstance(job, dict):
            yield join(base, "TrainingJobDefinition"), job
        jobs = arguments.get("TrainingJobDefinitions")
        for index, job in enumerate(jobs if isinstance(jobs, list) else []):
            if isinstance(job, dict):
                yield join(base, "TrainingJobDefinitions", index), job


def step_images(step):
    """``(pointer, value)`` of every container image a step runs."""
    arguments, base = step.arguments, step.arguments_pointer
    if step.type in ("Processing", "QualityCheck", "ClarifyCheck"):
        spec = arguments.get("AppSpecification")
        if isinstance(spec, dict) and "ImageUri" in spec:
            yield join(base, "AppSpecification", "ImageUri"), spec["ImageUri"]
    for pointer, job in _training_definitions(step):
        spec = job.get("AlgorithmSpecification")
        if isinstance(spec, dict) and "TrainingImage" in spec:
            yield join(pointer, "AlgorithmSpecification", "TrainingImage"), spec["TrainingImage"]
    if step.type == "Training":
        for key in ("DebugRuleConfigurations", "ProfilerRuleConfigurations"):
            rules = arguments.get(key)
            for index, item in enumerate(rules if isinstance(rules, list) else []):
                if isinstance(item, dict) and "RuleEvaluatorImage" in item:
                    yield join(base, key, index, "RuleEvaluatorImage"), item["RuleEvaluatorImage"]
    containers = []
    if step.type == "Model":
        primary = arguments.get("PrimaryContainer")
        if isinstance(primary, dict):
            containers.append((join(base, "PrimaryContainer"), primary))
        listed = arguments.get("Containers")
        for index, item in enumerate(listed if isinstance(listed, list) else []):
            containers.append((join(base, "Containers", index), item))
    elif step.type == "RegisterModel":
        spec = arguments.get("InferenceSpecification")
        listed = spec.get("Containers") if isinstance(spec, dict) else None
        for index, item in enumerate(listed if isinstance(listed, list) else []):
            containers.append((join(base, "InferenceSpecification", "Containers", index), item))
    for pointer, container in containers:
        if isinstance(container, dict) and "Image" in container:
            yield join(pointer, "Image"), container["Image"]


def image_problem(uri: str, mode: str) -> str | None:
    """Why ``uri`` is not pinned the way ``image_pinning`` asks, or None."""
    if mode == "off" or DIGEST.search(uri):
        return None
    name = uri.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    if mode == "digest":
        detail = f"tag {tag!r}" if tag else "no tag, so it pulls 'latest'"
        return f"is not pinned by digest (@sha256:<64 hex>; it has {detail})"
    if tag is None:
        return "has no tag, so it pulls the mutable 'latest'"
    if tag == "latest":
        return "uses the mutable tag 'latest'"
    return None


def code_uris(step):
    """``(pointer, value)`` of the author's code a step downloads: code inputs and channels
    (by name, local path or object name), ``sagemaker_submit_directory``, an ``@step``
    function's directory, and ``SAGEMAKER_SUBMIT_DIRECTORY`` in a job's or a model
    container's ``Environment`` when it is an S3 location."""
    arguments, base = step.arguments, step.arguments_pointer
    if step.type == "Processing":
        inputs = arguments.get("ProcessingInputs")
        for index, item in enumerate(inputs if isinstance(inputs, list) else []):
            if is_code_input(item):
                yield (
                    join(base, "ProcessingInputs", index, "S3Input", "S3Uri"),
                    item["S3Input"]["S3Uri"],
                )
    for pointer, job in _training_definitions(step):
        key = "HyperParameters" if step.type == "Training" else "StaticHyperParameters"
        hyperparameters = job.get(key)
        if isinstance(hyperparameters, dict) and "sagemaker_submit_directory" in hyperparameters:
            yield (
                join(pointer, key, "sagemaker_submit_directory"),
                hyperparameters["sagemaker_submit_directory"],
            )
        function = _remote_function_dir(job, pointer)
        if function is not None:
            yield function
            continue
        channels = job.get("InputDataConfig")
        for index, channel in enumerate(channels if isinstance(channels, list) else []):
            if isinstance(channel, dict) and is_code_channel(channel):
                yield (
                    join(pointer, "InputDataConfig", index, "DataSource", "S3DataSource", "S3Uri"),
                    channel["DataSource"]["S3DataSource"]["S3Uri"],
                )
    for pointer, environment in _environments(step):
        value = environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
        if value is not None and "s3://" in render_expression(value):
            yield join(pointer, "SAGEMAKER_SUBMIT_DIRECTORY"), value


def _environments(step):
    """``(pointer, Environment)`` of a job step and of a model step's containers."""
    arguments, base = step.arguments, step.arguments_pointer
    holders = []
    if step.type in ("Processing", "Training"):
        holders.append((base, arguments))
    elif step.type == "Model":
        holders.append(
            (join(base, "PrimaryContainer"), _mapping(arguments.get("PrimaryContainer")))
        )
        listed = arguments.get("Containers")
        for index, item in enumerate(listed if isinstance(listed, list) else []):
            holders.append((join(base, "Containers", index), _mapping(item)))
    elif step.type == "RegisterModel":
        listed = _mapping(arguments.get("InferenceSpecification")).get("Containers")
        for index, item in enumerate(listed if isinstance(listed, list) else []):
            holders.append(
                (join(base, "InferenceSpecification", "Containers", index), _mapping(item))
            )
    for pointer, holder in holders:
        environment = holder.get("Environment")
        if isinstance(environment, dict):
            yield join(pointer, "Environment"), environment


def _s3_uri_of_channel(channel) -> object:
    return _mapping(_mapping(_mapping(channel).get("DataSource")).get("S3DataSource")).get("S3Uri")


def is_code_channel(channel) -> bool:
    """A training channel that carries the author's code rather than data."""
    uri = _s3_uri_of_channel(channel)
    if uri is None:
        return False
    if str(channel.get("ChannelName")) in USER_CODE_CHANNELS:
        return True
    return bool(CODE_OBJECT.search(render_expression(uri)))


def _remote_function_dir(job, pointer):
    """``(pointer, URI)`` of the pickled function an ``@step`` training job runs:
    ``<s3_base_uri>/<pipeline_step_name>/<func_step_s3_dir>``, from its arguments."""
    arguments = _mapping(job.get("AlgorithmSpecification")).get("ContainerArguments")
    if not isinstance(arguments, list):
        return None
    flags = {}
    for index, item in enumerate(arguments[:-1]):
        value = arguments[index + 1]
        if isinstance(item, str) and item.startswith("--") and isinstance(value, str):
            flags[item] = (index + 1, value)
    needed = ("--s3_base_uri", "--pipeline_step_name", "--func_step_s3_dir")
    if not all(flag in flags for flag in needed):
        return None
    uri = "/".join(flags[flag][1].strip("/") for flag in needed)
    at = join(pointer, "AlgorithmSpecification", "ContainerArguments", flags[needed[2]][0])
    return at, uri


def is_code_input(item) -> bool:
    """A Processing input that carries code rather than data: by its local path, its
    name, or the object it names (``sourcedir.tar.gz``, ``requirements.txt``, a script)."""
    if not isinstance(item, dict) or not isinstance(item.get("S3Input"), dict):
        return False
    if "S3Uri" not in item["S3Input"]:
        return False
    local = item["S3Input"].get("LocalPath")
    if isinstance(local, str) and local.rstrip("/").startswith(CODE_LOCAL_PATHS):
        return True
    name = item.get("InputName")
    if isinstance(name, str) and name in CODE_INPUT_NAMES:
        return True
    return bool(CODE_OBJECT.search(render_expression(item["S3Input"]["S3Uri"])))


def data_inputs(step):
    """``(pointer, name, value)`` of the data a job step reads (code inputs excluded)."""
    arguments, base = step.arguments, step.arguments_pointer
    if step.type == "Processing":
        inputs = arguments.get("ProcessingInputs")
        for index, item in enumerate(inputs if isinstance(inputs, list) else []):
            if not isinstance(item, dict) or is_code_input(item):
                continue
            s3 = item.get("S3Input")
            if isinstance(s3, dict) and "S3Uri" in s3:
                pointer = join(base, "ProcessingInputs", index, "S3Input", "S3Uri")
                yield pointer, str(item.get("InputName", index)), s3["S3Uri"]
    elif step.type == "Transform":
        data_source = _mapping(_mapping(arguments.get("TransformInput")).get("DataSource"))
        source = _mapping(data_source.get("S3DataSource"))
        if "S3Uri" in source:
            pointer = join(base, "TransformInput", "DataSource", "S3DataSource", "S3Uri")
            yield pointer, "TransformInput", source["S3Uri"]
    for pointer, job in _training_definitions(step):
        channels = job.get("InputDataConfig")
        for index, channel in enumerate(channels if isinstance(channels, list) else []):
            if not isinstance(channel, dict):
                continue
            name = str(channel.get("ChannelName"))
            if name in SDK_CODE_CHANNELS or is_code_channel(channel):
                continue
            source = _mapping(_mapping(channel.get("DataSource")).get("S3DataSource"))
            if "S3Uri" in source:
                at = join(pointer, "InputDataConfig", index, "DataSource", "S3DataSource", "S3Uri")
                yield at, name, source["S3Uri"]


def _describe(uri: str, parameters: list[str]) -> str:
    if not parameters:
        return repr(uri)
    names = ", ".join(parameters)
    return f"{uri!r} (default of parameter {names}, which each execution can override)"


# -- rules -----------------------------------------------------------------------------


@rule(
    id="RF001", category="recorded-fields", summary="Executions are recorded as experiment trials"
)
def check_experiment_config(definition, settings):
    """What it checks: when ``recorded_fields.require_experiment_config`` is set, the
    definition has a ``PipelineExperimentConfig`` whose ``ExperimentName`` is a ``Get`` of
    one of ``experiment_name_source`` (default ``Execution.PipelineName``) and whose
    ``TrialName`` is a ``Get`` of one of ``trial_name_source`` (default
    ``Execution.PipelineExecutionId``). The SDK renders ``"PipelineExperimentConfig":
    null`` when it was disabled with ``pipeline_experiment_config=None``.

    Why it matters: with one experiment per pipeline and one trial per execution, every
    job of a run is found under its execution; a literal name merges all runs (or all
    pipelines) into one trial, and no config records nothing.

    How to fix: ``PipelineExperimentConfig(ExecutionVariables.PIPELINE_NAME,
    ExecutionVariables.PIPELINE_EXECUTION_ID)`` (the SDK's default), or drop the
    ``pipeline_experiment_config=None`` argument.
    """
    if not settings.require_experiment_config:
        return
    raw = definition.raw
    config = definition.experiment_config
    if config is None:
        if "PipelineExperimentConfig" in raw:
            yield Violation(
                f"PipelineExperimentConfig is {render_expression(raw['PipelineExperimentConfig'])}"
                ": executions are not recorded as experiment trials",
                at="/PipelineExperimentConfig",
            )
        else:
            yield Violation(
                "the definition has no PipelineExperimentConfig: executions are not recorded "
                "as experiment trials"
            )
        return
    for field, sources in (
        ("ExperimentName", list(settings.experiment_name_source)),
        ("TrialName", list(settings.trial_name_source)),
    ):
        wanted = " or ".join(sources)
        at = f"/PipelineExperimentConfig/{field}"
        if field not in config:
            yield Violation(
                f"PipelineExperimentConfig has no {field}; expected {wanted}",
                at="/PipelineExperimentConfig",
            )
            continue
        value = config[field]
        source = value.get("Get") if isinstance(value, dict) and len(value) == 1 else None
        if source in sources:
            continue
        shown = f"the literal {value!r}" if isinstance(value, str) else render_expression(value)
        yield Violation(f"{field} is {shown}; the policy wants it from {wanted}", at=at)


@rule(id="RF002", category="recorded-fields", summary="Training steps record their hyperparameters")
def check_hyperparameters(step, definition, settings):
    """What it checks: when ``recorded_fields.hyperparameters_required`` is set, every
    Training step has ``HyperParameters`` and every Tuning job definition has
    ``StaticHyperParameters`` or ``HyperParameterRanges``, beyond the keys the SDK adds
    for its framework containers (``sagemaker_program``, ``sagemaker_submit_directory``,
    ``model_dir``, ...).

    ``@step`` functions and notebook jobs are Training steps that run any code (prepare
    data, evaluate, register, deploy, clean up): only those whose step or function name
    says they train (a word starting with ``train``, ``fit`` or ``tun``:
    ``TrainModel``, ``steps.training.train``) are judged. An ``@step`` function never has
    ``HyperParameters``: its arguments are pickled to S3, except pipeline parameters,
    which the function runner receives by name and each execution records, so one such
    parameter is its evidence. A notebook job's ``HyperParameters`` are the notebook's
    parameters.

    Why it matters: SageMaker records a training job's hyperparameters with the job and
    its trial component, and a pipeline's parameters with each execution. Values
    hard-coded in the training script (or pickled with an ``@step`` function's arguments)
    are not recorded, so two runs cannot be compared or reproduced.

    How to fix: pass them to the estimator/ModelTrainer (``hyperparameters={...}``) and
    read them in the script from ``/opt/ml/input/config/hyperparameters.json`` or argv;
    give a training ``@step`` function its hyperparameters as pipeline parameters.
    """
    if not settings.hyperparameters_required or step.type not in ("Training", "Tuning"):
        return
    kind = step.sdk_runner
    if kind is not None:
        yield from _function_hyperparameters(step, definition, kind)
        return
    for pointer, job in _training_definitions(step):
        key = "HyperParameters" if step.type == "Training" else "StaticHyperParameters"
        values = job.get(key)
        values = values if isinstance(values, dict) else {}
        own = [name for name in values if not SDK_HYPERPARAMETERS.match(str(name))]
        if own:
            continue
        if step.type == "Tuning" and any(_mapping(job.get("HyperParameterRanges")).values()):
            continue
        what = "training" if step.type == "Training" else "tuning"
        at = join(pointer, key) if key in job else pointer
        if values:
            listed = ", ".join(sorted(values))
            detail = f"has only the SDK's own keys ({listed})"
        else:
            detail = f"has no {key}"
        yield Violation(f"{what} step {step.name!r} {detail}", at=at)


def _function_hyperparameters(step, definition, kind):
    """RF002 for an ``@step`` function or a notebook job (see the rule's docs)."""
    if not step.trains:
        return
    if kind == "notebook" and _mapping(step.arguments.get("HyperParameters")):
        return
    spec = join(step.arguments_pointer, "AlgorithmSpecification")
    if any(ref.parameter_name for ref in definition.references_under(spec)):
        return
    if kind == "function":
        what = "an @step function"
        evidence = (
            "takes no pipeline parameter: whatever hyperparameters it uses are pickled with "
            "its arguments or hard-coded, and no execution records them"
        )
    else:
        what = "a notebook job"
        evidence = "passes the notebook no parameters (HyperParameters), so none are recorded"
    yield Violation(
        f"training step {step.name!r} ({what} that trains, by its name) {evidence}",
        at=step.arguments_pointer,
    )


@rule(id="RF003", category="recorded-fields", summary="Container images are pinned")
def check_image_pinning(step, definition, settings):
    """What it checks: every container image of a step (Processing, QualityCheck and
    ClarifyCheck ``AppSpecification.ImageUri``, Training and Tuning ``TrainingImage``,
    Model and RegisterModel container ``Image``) is pinned as
    ``recorded_fields.image_pinning`` asks: ``digest`` needs ``@sha256:<64 hex>``,
    ``tag`` any explicit tag except ``latest`` (a digest also passes), ``off`` nothing.
    An image given by a parameter is judged by the parameter's default; images computed
    from step properties are not judged.

    Why it matters: a tag can be moved to a new image at any time; only the digest says
    which environment a past run used, and makes a re-run use the same one.

    How to fix: use ``<repo>:<tag>@sha256:<digest>`` as your registry reports it
    (``docker buildx imagetools inspect`` or ``aws ecr describe-images``).
    """
    mode = settings.image_pinning
    if mode == "off":
        return
    for pointer, value in step_images(step):
        resolved = literal_value(value, definition)
        if resolved is None:
            continue
        uri, parameters = resolved
        problem = image_problem(uri, mode)
        if problem:
            yield Violation(f"image {_describe(uri, parameters)} {problem}", at=pointer)


@rule(
    id="RF004", category="recorded-fields", summary="The code version of each job step is traceable"
)
def check_code_version(step, definition, settings):
    """What it checks: each Processing, Training and Tuning step's code version can be
    told from the definition, by the evidence ``recorded_fields.code_version`` accepts:
    ``code-uri-hash`` (every code URI has a path segment that is or ends in a content
    hash, as the SDK uploads ``code=`` to ``<prefix>/code/<sha256>/`` and the code of
    ``ProcessingStep(processor=..., code=...)`` or an estimator-style ``TrainingStep`` to
    ``<StepName>-<md5 or sha256>/``; or an S3 ``versionId``/``/v<n>/``),
    ``image-digest`` (a step without code URIs runs code baked into its image, pinned by
    digest), ``parameter`` (the step uses one of ``code_version_parameters``). Model and
    RegisterModel steps are judged only for an S3 ``SAGEMAKER_SUBMIT_DIRECTORY`` in a
    container's ``Environment`` (their images are RF003's).

    What counts as code: inputs named ``code``/``entrypoint`` or mounted under
    ``/opt/ml/processing/input/code``, any input or channel naming a
    ``sourcedir.tar.gz``, ``requirements.txt``, ``workspace.zip`` or a script, the
    ``sagemaker_submit_directory`` hyperparameter, ``SAGEMAKER_SUBMIT_DIRECTORY``, an
    ``@step`` function's directory (``<s3_base_uri>/<step>/<build time>/``: its pickled
    function, dependencies and workspace archive) and a notebook job's staged inputs
    (the notebook and its dependencies).

    A key stamped with the render time (``<job>-YYYY-MM-DD-HH-MM-SS-mmm/``, the SDK's
    default for code it uploads without hashing, and the directory of ``@step``
    functions and notebook jobs) is not accepted: that upload is never overwritten, so
    the object itself survives, but the key says nothing about the code in it. Every
    render uploads again under a new key whether the code changed or not, and nothing
    ties the object to a commit, so nobody can tell from two definitions whether they
    ran the same code. The finding says which of the two kinds of key it saw.

    Why it matters: a code URI at a fixed path is overwritten by the next upload, and a
    tagged image can be rebuilt; then nobody can say which code produced a model or a
    prediction.

    How to fix: let the SDK upload the code by content (``code="scripts/x.py"`` in a
    pipeline session hashes it), pin the image by digest, or pass a ``GitCommit``
    parameter the step uses (e.g. in its ``Environment``).
    """
    if step.type not in (*JOB_STEPS, "Model", "RegisterModel"):
        return
    accepted = set(settings.code_version)
    if "parameter" in accepted:
        names = set(settings.code_version_parameters)
        used = {ref.parameter_name for ref in definition.references_under(step.pointer)}
        if names & used:
            return
    uris = list(code_uris(step))
    if uris or step.type not in JOB_STEPS:
        for pointer, value in uris:
            text = render_expression(value).strip('"')
            if "code-uri-hash" in accepted and (
                CONTENT_HASH.search(text) or VERSIONED_URI.search(text)
            ):
                continue
            yield Violation(
                f"step {step.name!r} runs code from {text!r}, which "
                f"{_unversioned_code(text, accepted, settings)}",
                at=pointer,
            )
        return
    images = [
        (pointer, literal_value(value, definition))
        for pointer, value in step_images(step)
        if "RuleConfigurations" not in pointer  # the debugger's rules, not the author's code
    ]
    if (
        "image-digest" in accepted
        and images
        and all(resolved is None or DIGEST.search(resolved[0]) for _, resolved in images)
    ):
        return
    pointer = images[0][0] if images else step.arguments_pointer
    if "image-digest" not in accepted:
        detail = "the policy does not accept an image digest as code version"
    elif not images:
        detail = "no image is given"
    else:
        detail = "the image is not pinned by digest"
    if "parameter" in accepted:
        detail += "; it uses none of the parameters " + ", ".join(settings.code_version_parameters)
    yield Violation(
        f"step {step.name!r} runs the code in its image (it downloads none), but {detail}",
        at=pointer,
    )


def _unversioned_code(text: str, accepted: set, settings) -> str:
    """Why the code at ``text`` carries no version the policy accepts (true for the key
    it has: a render timestamp is never overwritten, a fixed path is)."""
    if "code-uri-hash" not in accepted:
        reason = "is not accepted as a code version (code-uri-hash is not in the policy)"
    else:
        stamp = RENDER_TIMESTAMP.search(text)
        if stamp:
            reason = (
                f"is keyed by the time the definition was rendered ({stamp.group(1)}): that "
                "upload is never overwritten, but its key says nothing about the code in it, "
                "so nothing tells whether another render ran the same code or which commit "
                "it came from"
            )
        else:
            reason = (
                "has no content hash or version in its URI: the next upload to that path "
                "overwrites the code a past run used"
            )
    if "parameter" in accepted:
        reason += "; the step uses none of the parameters " + ", ".join(
            settings.code_version_parameters
        )
    return reason


@rule(id="RF005", category="recorded-fields", summary="The data version of each input is traceable")
def check_data_version(step, definition, settings, policy):
    """What it checks: every data input of a Processing, Training, Tuning and Transform
    step (code inputs excluded: what RF004 counts as code, whatever the input is called,
    and the SDK's own driver channels) is versioned by evidence ``recorded_fields.data_version``
    accepts: ``step-output`` (the URI is or contains a step property), ``date-partition``
    (the URI has a ``<partition_key>=`` segment or uses the run-date parameter, both
    from ``idempotent_outputs``), ``versioned-uri`` (``?versionId=`` or ``/v<digits>/``),
    ``parameter`` (the URI is a pipeline parameter, recorded with each execution).

    Why it matters: a model trained on ``s3://bucket/data/latest/`` cannot be reproduced
    once the prefix is rewritten; nobody can say which data a past run read.

    How to fix: read the upstream step's output property, or a dated partition, e.g.
    ``Join(on="/", values=[base, Join(on="", values=["dt=", ExecutionDate])])``.
    """
    if step.type not in ("Processing", "Training", "Tuning", "Transform"):
        return
    accepted = set(settings.data_version)
    partition = f"{policy.idempotent_outputs.partition_key}="
    run_date = f"{{Parameters.{policy.idempotent_outputs.run_date_parameter}}}"
    for pointer, name, value in data_inputs(step):
        text = render_expression(value)
        refs = [ref.path for ref in definition.references_under(pointer)]
        if isinstance(value, dict) and isinstance(value.get("Get"), str):
            refs.append(value["Get"])
        if "step-output" in accepted and any(path.startswith("Steps.") for path in refs):
            continue
        if "date-partition" in accepted and (
            compiled(r"(?:^|/)" + re.escape(partition)).search(text) or run_date in text
        ):
            continue
        if "versioned-uri" in accepted and VERSIONED_URI.search(text):
            continue
        if "parameter" in accepted and WHOLE_PARAMETER.fullmatch(text):
            continue
        default = ""
        parameter = _whole_parameter(value, definition)
        if parameter is not None and parameter.has_default:
            default = f" (default {parameter.default!r})"
        yield Violation(
            f"input {name!r} of step {step.name!r} reads {text}{default}, which carries no "
            f"version (accepted: {', '.join(sorted(accepted))})",
            at=pointer,
        )


def _whole_parameter(value, definition):
    if isinstance(value, dict) and isinstance(value.get("Get"), str) and len(value) == 1:
        path = value["Get"]
        if path.startswith("Parameters."):
            return definition.parameters_by_name.get(path.split(".", 1)[1])
    return None


@rule(id="RF006", category="recorded-fields", summary="A training pipeline declares metrics")
def check_metrics(definition, settings):
    """What it checks: a pipeline that trains (a Tuning step, a Training step that runs a
    training job, or an ``@step`` function or notebook job whose name says it trains, as
    RF002 tells) declares metrics, by evidence ``recorded_fields.metrics`` accepts:
    ``metric-definitions`` (a training job with ``AlgorithmSpecification.MetricDefinitions``,
    or a tuning job, which always has an objective metric) or ``property-file`` (an
    evaluation step declaring a ``PropertyFiles`` entry, or a condition step comparing a
    value another step produced: a ``Std:JsonGet`` of the JSON an ``@step`` function
    returned, a Lambda's ``OutputParameters``, a QualityCheck's or any step's property).
    Reported once per definition.

    Why it matters: without declared metrics a run records no number to compare with the
    previous one or to gate promotion on. (Built-in algorithms emit their own metrics,
    but the definition then says nothing about which.)

    How to fix: add ``metric_definitions`` to the estimator, or an evaluation step with
    a ``PropertyFile`` (``evaluation.json``) as the reference pipeline does.
    """
    training = [step for step in definition.steps if step.trains]
    if not training:
        return
    accepted = set(settings.metrics)
    if "property-file" in accepted and (
        definition.property_files or _gated_step_values(definition)
    ):
        return
    if "metric-definitions" in accepted:
        for step in training:
            if step.type == "Tuning":
                return
            spec = step.arguments.get("AlgorithmSpecification")
            if isinstance(spec, dict) and spec.get("MetricDefinitions"):
                return
    names = ", ".join(repr(step.name) for step in training)
    looked = []
    if "metric-definitions" in accepted:
        looked.append("no training step has MetricDefinitions")
    if "property-file" in accepted:
        looked.append("no step declares a property file and no condition compares a step's value")
    detail = " and ".join(looked) or "the policy accepts no evidence of metrics"
    yield Violation(f"the pipeline trains ({names}) but declares no metrics: {detail}", at="/Steps")


def _gated_step_values(definition) -> bool:
    """Whether some condition step compares a value a step produced (a step property or a
    ``Std:JsonGet``), the metric of a gate."""
    for step in definition.steps:
        if step.type != "Condition":
            continue
        conditions = join(step.arguments_pointer, "Conditions")
        if any(
            ref.step_name and ".PropertyFiles." not in ref.path  # those count if declared
            for ref in definition.references_under(conditions)
        ):
            return True
    return False

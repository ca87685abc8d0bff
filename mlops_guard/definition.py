"""A read-only view of a SageMaker pipeline definition, shaped for rules.

The definition JSON nests steps inside condition branches and spreads references over
``Get``/``Std:Join``/``Std:JsonGet`` expressions. This module flattens both once per
definition so every rule sees the same steps, parameters, references, outputs and DAG,
each with the JSON pointer it came from.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Iterator
from functools import cached_property

from mlops_guard.pointer import escape, join

EXECUTION_VARIABLES = (
    "Execution.PipelineExecutionId",
    "Execution.PipelineExecutionArn",
    "Execution.PipelineName",
    "Execution.PipelineArn",
    "Execution.StartDateTime",
    "Execution.CurrentDateTime",
)
_STEP_REFERENCE = re.compile(r"^Steps\.([^.\[]+)")


class Reference(namedtuple("Reference", "path pointer kind step_name parameter_name")):
    """One ``{"Get": "..."}`` expression found somewhere in the definition: its ``path``
    (``Parameters.X``, ``Steps.Y.Properties...``), its ``pointer``, and the parts rules
    ask for, split once: ``kind`` (the path's first part), ``step_name`` and
    ``parameter_name`` (None unless the path names one)."""

    __slots__ = ()

    @classmethod
    def of(cls, path: str, pointer: str) -> Reference:
        kind, dot, rest = path.partition(".")
        step_name = parameter_name = None
        if kind == "Parameters":
            parameter_name = rest if dot else None
        elif kind == "Steps":
            match = _STEP_REFERENCE.match(path)
            step_name = match.group(1) if match else None
        return cls(path, pointer, kind, step_name, parameter_name)


class Parameter(namedtuple("Parameter", "name type default pointer raw")):
    """A declared pipeline parameter and where it is declared."""

    __slots__ = ()

    @property
    def has_default(self) -> bool:
        return "DefaultValue" in self.raw


# -- step kinds: what a step is beyond its Type, for every rule that asks ----------------

SDK_FUNCTION_CHANNEL = "sagemaker_remote_function_bootstrap"
"""The training channel (and job driver) of an ``@step`` function's bootstrap."""
NOTEBOOK_CHANNEL = "sagemaker_headless_execution_pipelinestep"
"""The training channel of a ``NotebookJobStep``'s staged notebook."""
NOTEBOOK_ENTRYPOINT = ["amazon_sagemaker_scheduler"]
"""The container entry point of a ``NotebookJobStep``."""
TRAINING_WORDS = re.compile(r"^(?:train|fit|tun(?:e|ing))")
"""A word of a step or function name that says the step trains (``TrainModel``,
``steps.training.train``, ``fit_model``, ``tune``)."""
_NAME_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def name_words(*texts) -> list[str]:
    """The lower-case words of names, split at case changes, digits and punctuation
    (``TrainModel`` -> train, model; ``steps.fit_xgb`` -> steps, fit, xgb); what is not a
    string has none."""
    return [
        word.lower() for text in texts if isinstance(text, str) for word in _NAME_WORD.findall(text)
    ]


class Step(namedtuple("Step", "name type pointer raw condition branch", defaults=(None, None))):
    """A step, wherever it sits. ``condition`` names the condition step whose branch
    holds it and ``branch`` is ``"IfSteps"`` or ``"ElseSteps"`` (both None at top level)."""

    __slots__ = ()

    @property
    def arguments(self) -> dict:
        arguments = self.raw.get("Arguments")
        return arguments if isinstance(arguments, dict) else {}

    @property
    def arguments_pointer(self) -> str:
        return join(self.pointer, "Arguments")

    @property
    def depends_on(self) -> list[str]:
        value = self.raw.get("DependsOn")
        return [name for name in value if isinstance(name, str)] if isinstance(value, list) else []

    @property
    def property_files(self) -> list[dict]:
        value = self.raw.get("PropertyFiles")
        return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []

    @property
    def jobs(self) -> list[Job]:
        """The SageMaker jobs this step runs (see ``step_jobs``)."""
        return list(step_jobs(self))

    @property
    def images(self) -> list[tuple[str, object]]:
        """``(pointer, value)`` of the images this step runs or registers."""
        return step_images(self)

    @property
    def outputs(self) -> list[Output]:
        """The data output locations this step writes (see ``step_outputs``)."""
        return list(step_outputs(self))

    # Step kinds (computed on each access: a Step is a tuple without a ``__dict__``).

    @property
    def sdk_runner(self) -> str | None:
        """What SDK machinery a Training step runs instead of an estimator: ``"function"``
        for an ``@step`` function (SDK v2 and v3: the bootstrap channel or its job driver
        in the entry point), ``"notebook"`` for a ``NotebookJobStep`` (the staged-notebook
        channel or the scheduler entry point), None for an ordinary training job and any
        other step. Such a job runs any code, so its name says what it does."""
        if self.type != "Training":
            return None
        arguments = self.arguments
        channels = arguments.get("InputDataConfig")
        names = {
            str(channel.get("ChannelName"))
            for channel in (channels if isinstance(channels, list) else ())
            if isinstance(channel, dict)
        }
        spec = arguments.get("AlgorithmSpecification")
        entrypoint = spec.get("ContainerEntrypoint") if isinstance(spec, dict) else None
        entrypoint = [str(item) for item in entrypoint] if isinstance(entrypoint, list) else []
        if SDK_FUNCTION_CHANNEL in names or any(
            SDK_FUNCTION_CHANNEL in item for item in entrypoint
        ):
            return "function"
        if NOTEBOOK_CHANNEL in names or entrypoint == NOTEBOOK_ENTRYPOINT:
            return "notebook"
        return None

    @property
    def name_words(self) -> list[str]:
        """The lower-case words of the step's name and display name (an ``@step``
        function's display name is its qualified name: ``pipelines.abalone.steps.train``)."""
        return name_words(self.name, self.raw.get("DisplayName"))

    @property
    def trains(self) -> bool:
        """Whether the step trains a model: a tuning job, or a training job except an
        ``@step`` function or notebook job, which trains only when its name says so
        (:data:`TRAINING_WORDS`: ``TrainModel``, ``steps.training.train``)."""
        if self.type == "Tuning":
            return True
        if self.type != "Training":
            return False
        if self.sdk_runner is None:
            return True
        return any(TRAINING_WORDS.match(word) for word in self.name_words)


class Definition:
    """A pipeline definition and what rules derive from it.

    ``raw`` is the parsed JSON; ``base_pointer`` is where the definition sits inside the
    file it was read from (empty for a bare definition file), so findings can point into
    wrapping documents such as ``describe-pipeline`` output.
    """

    def __init__(self, raw: dict, name: str | None = None, tags: dict | None = None):
        self.raw = raw
        self.name = name
        self.tags = tags or {}
        self._memo: dict = {}

    def memo(self, key, factory):
        """A value derived once per definition and shared by every rule that asks with
        the same ``key``: rules of one concern share an analysis (the outputs the policy
        covers, the gates around promotion steps) instead of each recomputing it. Put
        everything the value depends on (e.g. ``id(settings)``) into the key."""
        memo = self._memo
        if key not in memo:
            memo[key] = factory()
        return memo[key]

    @cached_property
    def steps(self) -> list[Step]:
        """Every step, including those nested in condition branches, in document order."""
        found: list[Step] = []
        self._collect(self.raw.get("Steps"), "/Steps", None, None, found)
        return found

    def _collect(self, items, pointer, condition, branch, found) -> None:
        if not isinstance(items, list):
            return
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            step_pointer = join(pointer, index)
            step = Step(
                name=str(item.get("Name", "")),
                type=str(item.get("Type", "")),
                pointer=step_pointer,
                raw=item,
                condition=condition,
                branch=branch,
            )
            found.append(step)
            if step.type == "Condition":
                for key in ("IfSteps", "ElseSteps"):
                    nested = step.arguments.get(key)
                    self._collect(
                        nested, join(step_pointer, "Arguments", key), step.name, key, found
                    )

    @cached_property
    def steps_by_name(self) -> dict[str, Step]:
        by_name: dict[str, Step] = {}
        for step in self.steps:
            by_name.setdefault(step.name, step)
        return by_name

    @cached_property
    def steps_by_pointer(self) -> dict[str, Step]:
        return {step.pointer: step for step in self.steps}

    def step_at(self, pointer: str) -> Step | None:
        """The innermost step whose JSON holds ``pointer`` (a step nested in a condition
        branch, not the condition), or None outside every step."""
        by_pointer = self.steps_by_pointer
        parts = pointer.split("/")
        if len(parts) < 3 or parts[1] != "Steps":
            return None
        found, end = None, 3
        while True:
            step = by_pointer.get("/".join(parts[:end]))
            if step is None:
                return found
            found = step
            if len(parts) < end + 3 or parts[end] != "Arguments":
                return found
            if parts[end + 1] not in ("IfSteps", "ElseSteps"):
                return found
            end += 3

    @cached_property
    def parameters(self) -> list[Parameter]:
        items = self.raw.get("Parameters")
        if not isinstance(items, list):
            return []
        return [
            Parameter(
                name=str(item.get("Name", "")),
                type=str(item.get("Type", "")),
                default=item.get("DefaultValue"),
                pointer=join("/Parameters", index),
                raw=item,
            )
            for index, item in enumerate(items)
            if isinstance(item, dict)
        ]

    @cached_property
    def parameters_by_name(self) -> dict[str, Parameter]:
        return {parameter.name: parameter for parameter in self.parameters}

    @property
    def experiment_config(self) -> dict | None:
        value = self.raw.get("PipelineExperimentConfig")
        return value if isinstance(value, dict) else None

    @cached_property
    def _index(self) -> _Index:
        return _Index(self.raw)

    @property
    def references(self) -> list[Reference]:
        """Every ``Get`` expression, with its pointer, in document order."""
        return self._index.references

    @cached_property
    def used_parameters(self) -> frozenset[str]:
        """Names of the parameters some ``Get`` refers to."""
        return frozenset(
            reference.parameter_name for reference in self.references if reference.parameter_name
        )

    def references_under(self, pointer: str) -> list[Reference]:
        """References at or inside the node at ``pointer``, in document order."""
        return self._index.references_under(pointer)

    def nodes_under_key(self, key: str) -> list[tuple[str, dict | list]]:
        """``(pointer, node)`` of every object or array stored under ``key`` anywhere in
        the definition, in document order (e.g. every ``Environment`` map). The keys in
        ``INDEXED_KEYS`` come from the shared walk; any other key costs a walk of its own
        (once per definition)."""
        if key in INDEXED_KEYS:
            return self._index.keyed.get(key, [])
        return self.memo(("nodes_under_key", key), lambda: _nodes_under(self.raw, key))

    @cached_property
    def property_files(self) -> dict[tuple[str, str], dict]:
        """``(step name, property file name) -> declaration``."""
        return {
            (step.name, str(item.get("PropertyFileName"))): item
            for step in self.steps
            for item in step.property_files
        }

    @cached_property
    def upstream(self) -> dict[str, set[str]]:
        """Step name -> names of the steps it waits for (DependsOn, data references, and
        the condition whose branch it sits in)."""
        graph: dict[str, set[str]] = {step.name: set() for step in self.steps}
        for step in self.steps:
            needs = graph[step.name]
            needs.update(step.depends_on)
            if step.condition:
                needs.add(step.condition)
            branches = ("IfSteps", "ElseSteps") if step.type == "Condition" else ()
            skip = tuple(join(step.arguments_pointer, key) + "/" for key in branches)
            for ref in self.references_under(step.pointer):
                if skip and ref.pointer.startswith(skip):
                    continue
                if ref.step_name and ref.step_name != step.name:
                    needs.add(ref.step_name)
        return graph

    def ancestors(self, name: str) -> set[str]:
        """Every step that must run before ``name``."""
        seen: set[str] = set()
        stack = list(self.upstream.get(name, ()))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(self.upstream.get(current, ()))
        return seen

    @cached_property
    def outputs(self) -> list[Output]:
        """Every step's data output locations, in document order."""
        return [output for step in self.steps for output in step_outputs(step)]


class _Index:
    """What one walk over the whole definition finds, for every rule to share: each
    ``Get`` reference, and each object or array by the key it is stored under.

    Walking the parsed tree in Python costs about as much as parsing it, so the
    definition is walked once; rules look things up here instead of walking again.
    """

    __slots__ = ("_groups", "_under", "keyed", "references")

    def __init__(self, raw: dict):
        self.references: list[Reference] = []
        self.keyed: dict[str, list] = {}
        _walk(raw, "", self.references, self.keyed)
        self._groups = None
        self._under: dict[str, list[Reference]] = {}

    def references_under(self, pointer: str) -> list[Reference]:
        """References at ``pointer`` or below it, in document order (memoised: rules ask
        per step and per output, many times over). Rules ask about places inside one
        step, so only that top-level step's references are scanned."""
        found = self._under.get(pointer)
        if found is None:
            found = self._under[pointer] = self._scan(pointer)
        return found

    def _scan(self, pointer: str) -> list[Reference]:
        groups = self._groups
        if groups is None:
            groups = self._groups = {}
            for reference in self.references:
                groups.setdefault(_group(reference.pointer), []).append(reference)
        key = _group(pointer)
        candidates = self.references if key in ("", "/Steps") else groups.get(key, ())
        if key == pointer and key not in ("", "/Steps"):
            return list(candidates)  # a top-level step (or section): all of its group
        prefix = pointer + "/"
        return [r for r in candidates if r.pointer == pointer or r.pointer.startswith(prefix)]


def _group(pointer: str) -> str:
    """``/Steps/3/Arguments/...`` -> ``/Steps/3``; ``/Parameters/0`` -> ``/Parameters``;
    ``/Steps`` -> ``/Steps``; ``""`` -> ``""``."""
    parts = pointer.split("/", 3)
    if len(parts) < 2:
        return ""
    if parts[1] == "Steps" and len(parts) > 2:
        return "/Steps/" + parts[2]
    return "/" + parts[1]


INDEXED_KEYS = frozenset(
    {
        "Environment",
        "HyperParameters",
        "StaticHyperParameters",
        "ContainerArguments",
        "ContainerEntrypoint",
    }
)
"""Keys whose objects and arrays the shared walk records (where secrets and settings
are passed to containers). Recording every key would cost the walk a third more."""


def _nodes_under(raw, key: str) -> list[tuple[str, dict | list]]:
    found: dict[str, list] = {}
    if type(raw) is dict or type(raw) is list:
        _walk(raw, "", [], found, frozenset({key}))
    return found.get(key, [])


def _walk(node, pointer: str, references: list, keyed: dict, keys=INDEXED_KEYS) -> None:
    """Collect references and containers under ``keys`` below ``node``, building pointer
    strings as it descends (only for objects and arrays; leaves need none)."""
    if type(node) is dict:
        if len(node) == 1:
            path = node.get("Get")
            if type(path) is str:
                references.append(Reference.of(path, pointer))
                return
        for key, child in node.items():
            kind = type(child)
            if kind is dict or kind is list:
                at = pointer + "/" + (escape(key) if "/" in key or "~" in key else key)
                if key in keys:
                    keyed.setdefault(key, []).append((at, child))
                _walk(child, at, references, keyed, keys)
    else:
        for index, child in enumerate(node):
            kind = type(child)
            if kind is dict or kind is list:
                _walk(child, pointer + "/" + str(index), references, keyed, keys)


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _objects(value) -> Iterator[tuple[int, dict]]:
    """``(index, item)`` for the objects of a list (nothing for anything else)."""
    for index, item in enumerate(value if isinstance(value, list) else ()):
        if isinstance(item, dict):
            yield index, item


# -- step shapes -------------------------------------------------------------------------
#
# Where each step type keeps its jobs, and where each kind of job keeps its images, its
# inputs and its outputs, in one place: the security, output, provenance and API rules all
# read steps through these, so a step kind added here is seen by every family at once.

PROCESSING_STEP_TYPES = ("Processing", "QualityCheck", "ClarifyCheck")
"""Step types whose ``Arguments`` are a ``CreateProcessingJob`` request: the check steps
run SageMaker's model-monitor and Clarify containers as processing jobs."""

JOB_KINDS = {
    "Processing": "processing",
    "QualityCheck": "processing",
    "ClarifyCheck": "processing",
    "Training": "training",
    "Transform": "transform",
    "Model": "model",
    "AutoML": "automl",
}
"""Step type -> the kind of job its ``Arguments`` describe as a whole (Tuning steps hold
their training jobs one level down)."""

JOB_STEP_TYPES = frozenset({*JOB_KINDS, "Tuning"})
"""The step types whose steps can run a job (those ``step_jobs`` reads)."""


class Job(namedtuple("Job", "step kind pointer raw")):
    """A job a step runs: its ``kind`` (processing, training, transform, model, automl),
    the ``pointer`` of the object that describes it and that object (``raw``). A Tuning
    step runs training jobs described by ``TrainingJobDefinition(s)``."""

    __slots__ = ()

    @property
    def images(self) -> list[tuple[str, object]]:
        """``(pointer, value)`` of each container image the job runs."""
        return list(_located(self, _IMAGE_PLACES.get(self.kind, ())))

    @property
    def inputs(self) -> list[tuple[str, str, object]]:
        """``(name, pointer, value)`` of each S3 location the job reads: processing
        inputs, training and AutoML channels, a transform job's input, a model's
        artifacts."""
        found = list(_named_locations(self, _INPUT_PLACES.get(self.kind, ())))
        for name, path in _SINGLE_INPUTS.get(self.kind, ()):
            found.extend((name, pointer, value) for pointer, value in _located(self, (path,)))
        return found


class Output(namedtuple("Output", "step kind name pointer value")):
    """A place a step writes data to, with the expression that builds its URI."""

    __slots__ = ()


_IMAGE_PLACES = {
    "processing": (("AppSpecification", "ImageUri"),),
    "training": (
        ("AlgorithmSpecification", "TrainingImage"),
        ("DebugRuleConfigurations", "*", "RuleEvaluatorImage"),
        ("ProfilerRuleConfigurations", "*", "RuleEvaluatorImage"),
    ),
    "model": (("PrimaryContainer", "Image"), ("Containers", "*", "Image")),
}
"""Job kind -> paths of its image URIs (``*`` is every item of a list)."""

_INPUT_PLACES = {
    "processing": (("ProcessingInputs", "InputName", ("S3Input", "S3Uri")),),
    "training": (("InputDataConfig", "ChannelName", ("DataSource", "S3DataSource", "S3Uri")),),
    "automl": (("InputDataConfig", "ChannelType", ("DataSource", "S3DataSource", "S3Uri")),),
}
"""Job kind -> ``(list, item's name member, path of the URI in an item)`` of its inputs."""

_SINGLE_INPUTS = {
    "transform": (("input", ("TransformInput", "DataSource", "S3DataSource", "S3Uri")),),
    "model": (
        ("model data", ("PrimaryContainer", "ModelDataUrl")),
        ("model data", ("Containers", "*", "ModelDataUrl")),
    ),
}
"""Job kind -> ``(name, path)`` of the inputs it has outside a list of named inputs."""


def _located(job: Job, places) -> Iterator[tuple[str, object]]:
    for path in places:
        yield from _walk_path(job.raw, job.pointer, path)


def _walk_path(node, pointer: str, path: tuple) -> list[tuple[str, object]]:
    """``(pointer, value)`` at ``path`` below ``node`` (``*`` is every object of a list).
    Pointers are joined only for what is found."""
    found = [(pointer, node)]
    for head in path:
        step = []
        for at, value in found:
            if head == "*":
                if type(value) is list:
                    step.extend(
                        (join(at, index), item)
                        for index, item in enumerate(value)
                        if type(item) is dict
                    )
            elif type(value) is dict and head in value:
                step.append((join(at, head), value[head]))
        if not step:
            return step
        found = step
    return found


def _named_locations(job: Job, places) -> Iterator[tuple[str, str, object]]:
    for key, name_key, path in places:
        for index, item in _objects(job.raw.get(key)):
            for pointer, value in _walk_path(item, join(job.pointer, key, index), path):
                yield str(item.get(name_key, index)), pointer, value


def step_jobs(step: Step) -> Iterator[Job]:
    """The jobs a step runs, by the step types SageMaker defines (none for steps that run
    no SageMaker job: Condition, Lambda, Callback, Fail, EMR, RegisterModel...)."""
    arguments = step.arguments
    base = step.arguments_pointer
    kind = JOB_KINDS.get(step.type)
    if kind is not None:
        yield Job(step, kind, base, arguments)
    elif step.type == "Tuning":
        single = arguments.get("TrainingJobDefinition")
        if isinstance(single, dict):
            yield Job(step, "training", join(base, "TrainingJobDefinition"), single)
        for index, item in _objects(arguments.get("TrainingJobDefinitions")):
            yield Job(step, "training", join(base, "TrainingJobDefinitions", index), item)


def step_images(step: Step) -> list[tuple[str, object]]:
    """``(pointer, value)`` of every image a step runs or registers (a RegisterModel
    step's inference containers included)."""
    found = [image for job in step_jobs(step) for image in job.images]
    if step.type == "RegisterModel":
        spec = _mapping(step.arguments.get("InferenceSpecification"))
        pointer = join(step.arguments_pointer, "InferenceSpecification")
        found.extend(_walk_path(spec, pointer, ("Containers", "*", "Image")))
    return found


def step_outputs(step: Step) -> Iterator[Output]:
    """The data output locations of a step: a processing job's S3 outputs (check steps
    included), a training job's ``OutputDataConfig.S3OutputPath`` (kind ``tuning`` for the
    training jobs of a Tuning step, named by their ``DefinitionName``), a transform job's
    ``TransformOutput.S3OutputPath`` and an AutoML job's ``OutputDataConfig.S3OutputPath``.

    Hand-edited definitions may hold anything anywhere; shapes that are not what
    SageMaker expects simply hold no output (structure rules report the shape).
    """
    for job in step_jobs(step):
        raw, base = job.raw, job.pointer
        if job.kind == "processing":
            outputs = _mapping(raw.get("ProcessingOutputConfig")).get("Outputs")
            for index, item in _objects(outputs):
                s3 = item.get("S3Output")
                if isinstance(s3, dict) and "S3Uri" in s3:
                    pointer = join(
                        base, "ProcessingOutputConfig", "Outputs", index, "S3Output", "S3Uri"
                    )
                    name = str(item.get("OutputName", index))
                    yield Output(step, "processing", name, pointer, s3["S3Uri"])
        elif job.kind in ("training", "automl"):
            config = _mapping(raw.get("OutputDataConfig"))
            if "S3OutputPath" in config:
                pointer = join(base, "OutputDataConfig", "S3OutputPath")
                if step.type == "Tuning":
                    kind, name = "tuning", raw.get("DefinitionName", "model")
                else:
                    kind, name = job.kind, "model" if job.kind == "training" else "output"
                yield Output(step, kind, str(name), pointer, config["S3OutputPath"])
        elif job.kind == "transform":
            config = _mapping(raw.get("TransformOutput"))
            if "S3OutputPath" in config:
                pointer = join(base, "TransformOutput", "S3OutputPath")
                yield Output(step, "transform", "output", pointer, config["S3OutputPath"])


def render_expression(value) -> str:
    """A readable template of an expression: literals as text, references as
    ``{Parameters.X}``, ``{Execution.Y}``, ``{Steps.Z...}``, joins flattened.

    Rules match patterns (partition segments, execution variables) on this text.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        if isinstance(value.get("Get"), str):
            return "{" + value["Get"] + "}"
        join_args = value.get("Std:Join")
        if isinstance(join_args, dict):
            separator = join_args.get("On", "")
            values = join_args.get("Values") or []
            values = values if isinstance(values, list) else [values]
            return str(separator).join(render_expression(item) for item in values)
        json_get = value.get("Std:JsonGet")
        if isinstance(json_get, dict):
            source = render_expression(json_get.get("PropertyFile"))
            return "{JsonGet " + source + " " + str(json_get.get("Path")) + "}"
    return "{?}"

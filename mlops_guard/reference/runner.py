"""Run the reference pipeline locally, driven by its definition JSON.

Each job step runs its real script as a subprocess with the inputs, arguments and outputs
the definition gives it on SageMaker: parameters are substituted, container paths
(``/opt/ml/...``) map to a per-step sandbox, inputs are downloaded from (and outputs
published to) the resolved locations, which live under ``--output`` (``OutputBaseUri``).
Condition steps are evaluated as the pipeline would (``Std:JsonGet`` on the property file),
a Fail step ends the run with exit code 1.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_guard import conditions
from mlops_guard.reference import graph
from mlops_guard.reference.storage import Storage, StorageError, is_s3, join_uri

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CODE_URI_RE = re.compile(r"/code/(?P<hash>[0-9a-f]{64})/(?P<name>[A-Za-z0-9_.-]+\.py)$")
ECR_RE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/")
ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/")

#: Training images the runner knows the code of (the code lives in the image).
TRAINING_CODE = {"mlops-guard-reference": "train.py"}

#: ``--bad-model``: a model that learned nothing (one tiny boosting stage: the mean).
BAD_MODEL_HYPERPARAMETERS = {"n_estimators": "1", "max_depth": "1", "learning_rate": "0.01"}

EXIT_OK, EXIT_EVALUATION_FAILED, EXIT_BAD_INPUT, EXIT_STEP_FAILED = 0, 1, 2, 3


class RunError(Exception):
    """Ends a run with ``exit_code`` and a one-line ``message``."""

    def __init__(self, exit_code: int, message: str):
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message


@dataclass
class StepRecord:
    """What a job step did: for the experiment metadata."""

    name: str
    type: str
    status: str
    description: str | None
    job_name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    inputs: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)


@dataclass
class RunResult:
    exit_code: int
    message: str
    execution_id: str
    executed: list[str]
    metadata_uri: str | None


def execution_id_for(pipeline_name: str, date: str) -> str:
    """``execution-<12 lowercase alnum>``, the same for the same pipeline and date."""
    digest = hashlib.sha256(f"{pipeline_name}/{date}".encode()).hexdigest()
    return f"execution-{digest[:12]}"


def validate_date(value: str) -> str:
    if not DATE_RE.match(value or ""):
        raise RunError(EXIT_BAD_INPUT, f"malformed date {value!r}: expected YYYY-MM-DD")
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        raise RunError(EXIT_BAD_INPUT, f"malformed date {value!r}: not a calendar date") from None
    return value


def _get_path(data: Any, path: str) -> Any:
    """``metrics.mape.value`` / ``a[0].b`` on parsed JSON (the JsonGet path syntax)."""
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        data = data[int(token[1:-1])] if token.startswith("[") else data[token]
    return data


def deterministic_tar_gz(source: Path, archive: Path) -> None:
    """``model.tar.gz`` of ``source`` whose bytes only depend on the files' content."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(path.relative_to(source).as_posix())
            info.size = path.stat().st_size
            info.mode, info.mtime, info.uid, info.gid = 0o644, 0, 0, 0
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with archive.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
        packed.write(buffer.getvalue())


class LocalRun:
    """One run of a definition for one date."""

    def __init__(
        self,
        definition: dict,
        *,
        date: str,
        output: str,
        pipeline_name: str,
        threshold: float | None = None,
        bad_model: bool = False,
        input_uri: str | None = None,
        log: Callable[[str], None] = print,
    ):
        self.definition = definition
        self.date = validate_date(date)
        self.output = output if is_s3(output) else str(Path(output).resolve())
        self.pipeline_name = pipeline_name
        self.threshold = threshold
        self.bad_model = bad_model
        self.log = log
        self.storage = Storage()
        self.execution_id = execution_id_for(pipeline_name, self.date)
        self.parameters = {
            item["Name"]: item.get("DefaultValue") for item in definition.get("Parameters", [])
        }
        self.parameters["ExecutionDate"] = self.date
        self.parameters["OutputBaseUri"] = self.output
        if input_uri is not None:
            self.parameters["InputDataUri"] = input_uri
        self.steps = {step.name: step for step in graph.iter_steps(definition)}
        self.resolved_outputs: dict[str, dict[str, str]] = {}
        self.model_artifacts: dict[str, str] = {}
        self.records: list[StepRecord] = []
        self.account, self.region = self._account_and_region()

    # -- expressions ----------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "Get" in value and len(value) == 1:
            return self._get(value["Get"])
        if "Std:Join" in value:
            join = value["Std:Join"]
            return join["On"].join(str(self.resolve(item)) for item in join["Values"])
        if "Std:JsonGet" in value:
            return self._json_get(value["Std:JsonGet"])
        return {key: self.resolve(item) for key, item in value.items()}

    def _get(self, reference: str) -> Any:
        if reference.startswith("Parameters."):
            return self.parameters[reference.split(".", 1)[1]]
        if reference == "Execution.PipelineName":
            return self.pipeline_name
        if reference == "Execution.PipelineExecutionId":
            return self.execution_id
        match = re.match(
            r"^Steps\.([^.]+)\.ProcessingOutputConfig\.Outputs\['([^']+)'\]", reference
        )
        if match and reference.endswith(".S3Output.S3Uri"):
            return self.resolved_outputs[match.group(1)][match.group(2)]
        match = re.match(r"^Steps\.([^.]+)\.ModelArtifacts\.S3ModelArtifacts$", reference)
        if match:
            return self.model_artifacts[match.group(1)]
        raise RunError(EXIT_STEP_FAILED, f"the local runner cannot resolve {reference!r}")

    def _json_get(self, spec: dict) -> Any:
        reference = spec["PropertyFile"]["Get"]
        match = re.match(r"^Steps\.([^.]+)\.PropertyFiles\.(.+)$", reference)
        if not match:
            raise RunError(EXIT_STEP_FAILED, f"unsupported property file {reference!r}")
        step_name, file_name = match.groups()
        files = self.steps[step_name].body.get("PropertyFiles", [])
        entry = next(item for item in files if item["PropertyFileName"] == file_name)
        uri = join_uri(self.resolved_outputs[step_name][entry["OutputName"]], entry["FilePath"])
        try:
            return _get_path(json.loads(self.storage.read_bytes(uri)), spec["Path"])
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise RunError(
                EXIT_STEP_FAILED, f"{uri} has no value at {spec['Path']!r}: {error}"
            ) from None

    # -- helpers ----------------------------------------------------------------------------
    def _account_and_region(self) -> tuple[str | None, str | None]:
        account = region = None
        for step in graph.iter_steps(self.definition):
            arguments = step.body.get("Arguments") or {}
            role = ROLE_RE.match(str(arguments.get("RoleArn", "")))
            image = ECR_RE.match(str(self._image_of(arguments) or ""))
            account = account or (role and role.group("account"))
            region = region or (image and image.group("region"))
        return account, region

    @staticmethod
    def _image_of(arguments: dict) -> str | None:
        return (arguments.get("AppSpecification") or {}).get("ImageUri") or (
            arguments.get("AlgorithmSpecification") or {}
        ).get("TrainingImage")

    def job_name(self, step: str) -> str:
        return f"pipelines-{self.execution_id}-{step}"

    def execution_arn(self) -> str | None:
        if not (self.account and self.region):
            return None
        return (
            f"arn:aws:sagemaker:{self.region}:{self.account}:pipeline/{self.pipeline_name}"
            f"/execution/{self.execution_id}"
        )

    def _job_arn(self, kind: str, step: str) -> str | None:
        if not (self.account and self.region):
            return None
        return (
            f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{self.job_name(step).lower()}"
        )

    @staticmethod
    def _container_path(sandbox: Path, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("/opt/ml/"):
            return str(sandbox / value.lstrip("/"))
        return value

    def _subprocess(self, step: str, command: list[str], env: dict[str, str]) -> str:
        self.log(f"[{step}] running {Path(command[1]).name}")
        # As in the reference image, the scripts' shared module is on PYTHONPATH.
        path = os.pathsep.join(filter(None, [str(SCRIPTS_DIR), os.environ.get("PYTHONPATH")]))
        environment = {
            **os.environ, **env, "PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1", "PYTHONPATH": path,
        }  # fmt: skip
        process = subprocess.run(command, env=environment, capture_output=True, text=True)
        for line in process.stdout.splitlines():
            self.log(f"[{step}]   {line}")
        if process.returncode == 2:
            lines = [line for line in process.stderr.splitlines() if line.strip()]
            message = lines[-1].replace(f"{step}: error: ", f"{step}: ") if lines else "bad input"
            raise RunError(
                EXIT_BAD_INPUT, message if message.startswith(step) else f"{step}: {message}"
            )
        if process.returncode != 0:
            tail = " | ".join(process.stderr.strip().splitlines()[-3:])
            raise RunError(EXIT_STEP_FAILED, f"{step} failed (exit {process.returncode}): {tail}")
        return process.stdout

    def _fetch(self, step: str, name: str, uri: str, destination: Path) -> None:
        try:
            self.storage.download(uri, destination)
        except StorageError as error:
            raise RunError(EXIT_BAD_INPUT, f"{step} input {name!r}: {error}") from None

    def _publish(self, step: str, source: Path, uri: str) -> None:
        try:
            self.storage.publish(source, uri, label=step)
        except StorageError as error:
            raise RunError(EXIT_BAD_INPUT, f"{step} output: {error}") from None

    # -- steps ------------------------------------------------------------------------------
    def run_processing(self, info: graph.StepInfo, sandbox: Path) -> StepRecord:
        arguments = self.resolve(info.body["Arguments"])
        app = arguments["AppSpecification"]
        record = StepRecord(
            info.name, info.type, "Completed", info.body.get("Description"),
            self.job_name(info.name),
        )  # fmt: skip
        script = None
        code_version = None
        data_uris = []
        for item in arguments.get("ProcessingInputs", []):
            name, s3_input = item["InputName"], item["S3Input"]
            local = Path(self._container_path(sandbox, s3_input["LocalPath"]))
            code = CODE_URI_RE.search(str(s3_input["S3Uri"]))
            if name == "code" and code:
                script = SCRIPTS_DIR / code.group("name")
                if not script.is_file():
                    raise RunError(EXIT_STEP_FAILED, f"{info.name}: no local script {script.name}")
                actual = hashlib.sha256(
                    f"scripts/{script.name}".encode() + script.read_bytes()
                ).hexdigest()
                if actual != code.group("hash"):
                    self.log(f"[{info.name}] warning: {script.name} differs from the definition")
                code_version = f"sha256:{code.group('hash')}"
                local.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(script, local / script.name)
                record.inputs[name] = {"uri": s3_input["S3Uri"], "media_type": "text/x-python"}
                continue
            self._fetch(info.name, name, s3_input["S3Uri"], local)
            data_uris.append(s3_input["S3Uri"])
            record.inputs[name] = {"uri": s3_input["S3Uri"], "media_type": None}
        if script is None:
            raise RunError(EXIT_STEP_FAILED, f"{info.name}: no code input the runner knows")
        entrypoint = [self._container_path(sandbox, part) for part in app["ContainerEntrypoint"]]
        if entrypoint and entrypoint[0] in ("python", "python3"):
            entrypoint[0] = sys.executable
        container_args = [
            str(self._container_path(sandbox, arg)) for arg in app.get("ContainerArguments", [])
        ]
        outputs = arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
        for item in outputs:
            Path(self._container_path(sandbox, item["S3Output"]["LocalPath"])).mkdir(
                parents=True, exist_ok=True
            )
        env = {key: str(value) for key, value in (arguments.get("Environment") or {}).items()}
        self._subprocess(info.name, entrypoint + container_args, env)
        self.resolved_outputs[info.name] = {}
        for item in outputs:
            uri = item["S3Output"]["S3Uri"]
            self._publish(
                info.name, Path(self._container_path(sandbox, item["S3Output"]["LocalPath"])), uri
            )
            self.resolved_outputs[info.name][item["OutputName"]] = uri
            record.outputs[item["OutputName"]] = {"uri": uri, "media_type": None}
        if not data_uris and "InputDataUri" in self.parameters:
            data_uris.append(join_uri(str(self.parameters["InputDataUri"]), f"dt={self.date}"))
        image = app["ImageUri"]
        record.parameters.update(
            {
                "code_version": code_version,
                "data_version": ",".join(data_uris),
                "image_uri": image,
                "instance_type": arguments["ProcessingResources"]["ClusterConfig"]["InstanceType"],
            }
        )
        for property_file in info.body.get("PropertyFiles", []):
            uri = join_uri(
                self.resolved_outputs[info.name][property_file["OutputName"]],
                property_file["FilePath"],
            )
            report = json.loads(self.storage.read_bytes(uri))
            for metric, content in (report.get("metrics") or {}).items():
                if isinstance(content, dict) and isinstance(content.get("value"), int | float):
                    record.metrics[metric] = [float(content["value"])]
        return record

    def run_training(self, info: graph.StepInfo, sandbox: Path) -> StepRecord:
        body = info.body["Arguments"]
        if self.bad_model:
            body = json.loads(json.dumps(body))
            body["HyperParameters"] = {
                **body.get("HyperParameters", {}),
                **BAD_MODEL_HYPERPARAMETERS,
            }
        arguments = self.resolve(body)
        algorithm = arguments["AlgorithmSpecification"]
        image = algorithm["TrainingImage"]
        repository = image.split("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
        if repository not in TRAINING_CODE:
            raise RunError(EXIT_STEP_FAILED, f"{info.name}: no local code for image {image}")
        script = SCRIPTS_DIR / TRAINING_CODE[repository]
        record = StepRecord(
            info.name, info.type, "Completed", info.body.get("Description"),
            self.job_name(info.name),
        )  # fmt: skip
        root = sandbox / "opt" / "ml"
        env = {
            "SM_MODEL_DIR": str(root / "model"),
            "SM_INPUT_CONFIG_DIR": str(root / "input" / "config"),
            "SM_OUTPUT_DATA_DIR": str(root / "output" / "data"),
        }
        data_uris = []
        for channel in arguments.get("InputDataConfig", []):
            name = channel["ChannelName"]
            uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
            local = root / "input" / "data" / name
            self._fetch(info.name, name, uri, local)
            env[f"SM_CHANNEL_{name.upper()}"] = str(local)
            data_uris.append(uri)
            record.inputs[name] = {"uri": uri, "media_type": None}
        record.inputs["SageMaker.ImageUri"] = {"uri": image, "media_type": None}
        hyperparameters = {key: str(value) for key, value in arguments["HyperParameters"].items()}
        config = root / "input" / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "hyperparameters.json").write_text(json.dumps(hyperparameters, indent=2))
        (root / "model").mkdir(parents=True, exist_ok=True)
        stdout = self._subprocess(info.name, [sys.executable, str(script)], env)
        for definition in algorithm.get("MetricDefinitions", []):
            values = [float(v) for v in re.findall(definition["Regex"], stdout)]
            if values:
                record.metrics[definition["Name"]] = values
        output_path = arguments["OutputDataConfig"]["S3OutputPath"]
        packed = sandbox / "packed"
        deterministic_tar_gz(
            root / "model", packed / self.job_name(info.name) / "output" / "model.tar.gz"
        )
        self._publish(info.name, packed, output_path)
        model_uri = join_uri(output_path, self.job_name(info.name), "output", "model.tar.gz")
        self.model_artifacts[info.name] = model_uri
        record.outputs["SageMaker.ModelArtifact"] = {"uri": model_uri, "media_type": None}
        record.parameters.update(
            {f"hp.{key}": _number(value) for key, value in hyperparameters.items()}
        )
        record.parameters.update(
            {
                "code_version": image.rsplit("@", 1)[-1] if "@" in image else image,
                "code_sha256": hashlib.sha256(script.read_bytes()).hexdigest(),
                "data_version": ",".join(data_uris),
                "image_uri": image,
                "instance_type": arguments["ResourceConfig"]["InstanceType"],
            }
        )
        return record

    def evaluate_condition(self, info: graph.StepInfo) -> tuple[bool, str]:
        """All conditions hold -> if branch. Returns the outcome and a one-line reason.

        The conditions mean what they mean to the rules (:mod:`mlops_guard.conditions`);
        only their operands' values are this execution's."""
        formula = conditions.all_conditions(
            info.body["Arguments"]["Conditions"], "/Arguments/Conditions", info.name
        )
        unknown, kind = conditions.unsupported(formula)
        if unknown:
            raise RunError(EXIT_STEP_FAILED, f"unsupported condition type {kind}")
        reasons: dict[str, str] = {}
        outcome = conditions.truth(formula, lambda atom: self._atom_holds(atom, reasons))
        return bool(outcome), _explained(formula, reasons)

    def _atom_holds(self, atom: conditions.Atom, reasons: dict[str, str]) -> bool:
        """One comparison on this execution's values (``--threshold`` replacing a number
        on its right), with its reason under the atom's pointer."""
        left_raw = atom.left.expression
        label = (
            left_raw["Std:JsonGet"]["Path"]
            if isinstance(left_raw, dict) and "Std:JsonGet" in left_raw
            else str(left_raw)
        )
        left = self.resolve(left_raw)
        if atom.type == "In":
            values = [self.resolve(operand.expression) for operand in atom.values]
            holds = conditions.compare(atom, left, values)
            verdict = "holds" if holds else "fails"
            reasons[atom.pointer] = f"{label} = {left} in {values}: {verdict}"
            return holds
        right_raw = atom.right.expression
        if self.threshold is not None and isinstance(right_raw, int | float):
            right_raw = self.threshold
        right = self.resolve(right_raw)
        try:
            holds = conditions.compare(atom, left, right)
        except TypeError:
            raise RunError(
                EXIT_STEP_FAILED, f"{atom.condition}: cannot compare {left!r} with {right!r}"
            ) from None
        verdict = "holds" if holds else "fails"
        symbol = conditions.COMPARISONS[atom.type][0]
        reasons[atom.pointer] = f"{label} = {left} {symbol} threshold {right}: {verdict}"
        return holds

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> RunResult:
        self.storage.check_writable(self.output)
        order = graph.topological_order(self.definition)
        taken: dict[str, str] = {}
        executed: list[str] = []
        failure: RunError | None = None
        with tempfile.TemporaryDirectory(prefix="mlops-guard-reference-") as scratch:
            for name in order:
                info = self.steps[name]
                if info.branch and taken.get(info.branch[0]) != info.branch[1]:
                    continue
                if info.type == "Condition":
                    holds, reason = self.evaluate_condition(info)
                    taken[name] = "if" if holds else "else"
                    self.log(f"[{name}] {reason} -> {taken[name]} branch")
                    executed.append(name)
                    if not holds:
                        failure = RunError(EXIT_EVALUATION_FAILED, f"{name}: {reason}")
                    continue
                if info.type == "Fail":
                    message = self.resolve(info.body["Arguments"].get("ErrorMessage", ""))
                    executed.append(name)
                    detail = failure.message if failure else ""
                    text = f"{name}: {message} ({detail})" if detail else f"{name}: {message}"
                    self._write_metadata()
                    return RunResult(
                        EXIT_EVALUATION_FAILED, text, self.execution_id, executed,
                        self.metadata_uri,
                    )  # fmt: skip
                sandbox = Path(scratch) / name
                if info.type == "Processing":
                    record = self.run_processing(info, sandbox)
                elif info.type == "Training":
                    record = self.run_training(info, sandbox)
                else:
                    raise RunError(EXIT_STEP_FAILED, f"step type {info.type} is not supported")
                shutil.rmtree(sandbox, ignore_errors=True)
                self.records.append(record)
                executed.append(name)
                self.log(f"[{name}] done")
        self._write_metadata()
        if failure is not None:
            return RunResult(
                failure.exit_code, failure.message, self.execution_id, executed,
                self.metadata_uri,
            )  # fmt: skip
        return RunResult(
            EXIT_OK, f"{self.pipeline_name} {self.date}: {len(executed)} steps completed",
            self.execution_id, executed, self.metadata_uri,
        )  # fmt: skip

    # -- metadata ---------------------------------------------------------------------------
    @property
    def metadata_uri(self) -> str:
        return join_uri(self.output, "_metadata", f"dt={self.date}", "metadata.json")

    def metadata(self) -> dict:
        """The experiment, trial and trial components the pipeline would record."""
        midnight = datetime.datetime.fromisoformat(f"{self.date}T00:00:00+00:00")
        arn = self.execution_arn()
        components = []
        for index, record in enumerate(self.records):
            # Nominal, deterministic times: step i runs in minute i of the run date.
            start = midnight + datetime.timedelta(minutes=index)
            end = start + datetime.timedelta(seconds=59)
            kind = "training" if record.type == "Training" else "processing"
            parameters = {"ExecutionDate": self.date, **record.parameters}
            parameters["note"] = record.description or f"{record.name} step"
            components.append(
                {
                    "name": f"{record.job_name}-aws-{kind}-job",
                    "display_name": record.name,
                    "description": record.description,
                    "status": record.status,
                    "source_arn": self._job_arn(f"{kind}-job", record.name),
                    "start_time": _iso(start),
                    "end_time": _iso(end),
                    "tags": {},
                    "parameters": {k: v for k, v in parameters.items() if v is not None},
                    "metrics": {
                        name: _metric(values, end) for name, values in record.metrics.items()
                    },
                    "input_artifacts": record.inputs,
                    "output_artifacts": record.outputs,
                    "pipeline_execution_arn": arn,
                }
            )
        return {
            "format": "mlops-guard-metadata",
            "version": 1,
            "experiments": [
                {
                    "name": self.pipeline_name,
                    "display_name": self.pipeline_name,
                    "description": "Reference daily train-and-predict pipeline (mlops-guard).",
                    "tags": {},
                    "trials": [
                        {
                            "name": self.execution_id,
                            "display_name": None,
                            "tags": {},
                            "pipeline_execution_arn": arn,
                            "components": components,
                        }
                    ],
                }
            ],
        }

    def _write_metadata(self) -> None:
        text = json.dumps(self.metadata(), indent=2) + "\n"
        with tempfile.TemporaryDirectory(prefix="mlops-guard-metadata-") as scratch:
            (Path(scratch) / "metadata.json").write_text(text, encoding="utf-8")
            self._publish("_metadata", Path(scratch), self.metadata_uri.rsplit("/", 1)[0])


def _explained(formula, reasons: dict[str, str]) -> str:
    """The reasons of a formula's comparisons in one line: ``;`` between the conditions of
    the step, ``or`` between alternatives, ``not (...)`` around a negation."""
    kind = formula[0]
    if kind == "atom":
        return reasons[formula[1].pointer]
    if kind == "not":
        return f"not ({_explained(formula[1], reasons)})"
    separator = " or " if kind == "or" else "; "
    return separator.join(_explained(child, reasons) for child in formula[1])


def _iso(moment: datetime.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _number(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def _metric(values: list[float], when: datetime.datetime) -> dict:
    return {
        "last": values[-1],
        "min": min(values),
        "max": max(values),
        "avg": sum(values) / len(values),
        "count": len(values),
        "series": [
            {"step": index, "timestamp": _iso(when), "value": value}
            for index, value in enumerate(values)
        ],
    }


def run_reference(
    date: str,
    output: str,
    *,
    threshold: float | None = None,
    bad_model: bool = False,
    input_uri: str | None = None,
    definition: dict | None = None,
    pipeline_name: str | None = None,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Run the (committed) reference definition locally for ``date``; never raises RunError:
    the result carries the exit code (0 ok, 1 evaluation failed, 2 bad input, 3 step failed).
    """
    from mlops_guard.reference import load_definition
    from mlops_guard.reference.pipeline import PIPELINE_NAME

    try:
        run = LocalRun(
            definition if definition is not None else load_definition(),
            date=date,
            output=output,
            pipeline_name=pipeline_name or PIPELINE_NAME,
            threshold=threshold,
            bad_model=bad_model,
            input_uri=input_uri,
            log=log,
        )
        return run.run()
    except (RunError, StorageError) as error:
        code = error.exit_code if isinstance(error, RunError) else EXIT_BAD_INPUT
        execution_id = execution_id_for(pipeline_name or PIPELINE_NAME, date)
        return RunResult(code, str(error), execution_id, [], None)

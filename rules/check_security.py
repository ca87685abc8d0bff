"""Security rules: no secrets in the definition, and encryption and isolation where the
policy asks for them.

A pipeline definition is stored by SageMaker and shown to everyone who can describe the
pipeline, so a credential written into it is disclosed. The encryption and network
rules are off by default (``security.require_*: false``); a team turns on what its
data classification needs.
"""

from __future__ import annotations

import re

from mlops_guard import Violation, compiled, rule
from mlops_guard.pointer import join

# -- secret detection ------------------------------------------------------------------

ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
SECRET_ACCESS_KEY = re.compile(r"^[A-Za-z0-9/+=]{40}$")
SECRET_KEY_NAME = re.compile(r"(?i)secret|aws.?key|access.?key|credential")
PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
GITHUB_TOKEN = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")
SLACK_TOKEN = re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")
SLACK_WEBHOOK = re.compile(r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/\w+")
JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
URL_PASSWORD = re.compile(
    r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:(?!\$\{|\{\{|<)[^/\s@]+@", re.IGNORECASE
)

PATTERNS = (
    ("an AWS access key id", ACCESS_KEY_ID, 4),
    ("a private key", PRIVATE_KEY, 0),
    ("a GitHub token", GITHUB_TOKEN, 4),
    ("a Slack token", SLACK_TOKEN, 5),
    ("a Slack webhook URL", SLACK_WEBHOOK, 0),
    ("a JSON Web Token", JWT, 3),
    ("a URL with an embedded password", URL_PASSWORD, 0),
)
"""``(what, pattern, characters of the match safe to show)``."""
ANY_PATTERN = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern, _ in PATTERNS))
"""One pass over a value first: most values match none of the patterns."""


def may_hold_token(text: str) -> bool:
    """False only when no pattern of ``PATTERNS`` can match: each needs one of these
    substrings. Substring tests cost a fraction of a regex search with look-arounds at
    every position, and nearly every value fails them all."""
    return (
        "AKIA" in text
        or "ASIA" in text
        or "-----BEGIN" in text
        or "xox" in text
        or "eyJ" in text
        or "hooks.slack.com" in text
        or ("@" in text and "://" in text)
        or ("_" in text and ("gh" in text or "github_pat_" in text))
    )


SECRET_STORE_ARN = re.compile(r"^arn:aws[a-z-]*:(?:secretsmanager|ssm|kms):")
PLACEHOLDER = re.compile(
    r"^(?:\$\{[^}]*\}|\$\(.*\)|\{\{.*\}\}|<[^<>]*>|%\([^)]*\)s|[*xX.#-]{3,}"
    r"|(?i:none|null|nil|undefined|placeholder|redacted|replace[-_ ]?me|todo|tbd|dummy|"
    r"example|your[-_ ].*|\w*example\w*))$"
)
"""Values that stand for a secret supplied elsewhere: ``${VAR}``, ``{{ x }}``,
``<token>``, ``****``, ``REPLACE_ME``, ``your-token-here``..."""
SECRET_LOCATION = re.compile(r"^(?:/?[\w+=.@-]+(?:/[\w+=.@-]+)+/?|[a-z][a-z0-9+.-]*://\S+)$")
"""A path (``prod/Gretel/ApiKey``, ``/prod/db/password``) or URL: the name of a Secrets
Manager secret or SSM parameter, or a file, that holds the secret."""
NOT_SECRET = re.compile(r"^(?:-?\d+(?:\.\d+)?|(?i:true|false))$")
PUBLIC_MATERIAL = re.compile(r"^-----BEGIN (?:PUBLIC KEY|CERTIFICATE|RSA PUBLIC KEY)-----")
POINTER_WORDS = {
    "arn", "name", "names", "id", "path", "file", "dir", "url", "uri", "type", "kind",
    "length", "len", "size", "count", "limit", "max", "min", "num", "ttl", "expiry",
    "region", "header", "field", "env", "location", "prefix", "version", "enabled",
}  # fmt: skip
"""Last words of names that hold where a secret is or about it, not the secret itself
(``DB_PASSWORD_SECRET_ARN``, ``TOKEN_URL``, ``API_KEY_HEADER``)."""
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def name_words(name: str) -> list[str]:
    """``"dbPassword_FILE"`` -> ``["db", "password", "file"]``."""
    return [word.lower() for word in _WORD.findall(name)]


def _boundaries(name: str) -> set[int]:
    """Offsets in ``name`` where a word starts or ends."""
    bounds = {0, len(name)}
    for match in _WORD.finditer(name):
        bounds.update((match.start(), match.end()))
    return bounds


def is_secret_name(name: str, pattern: str) -> bool:
    """The policy's ``secret_name_pattern`` matches whole words of ``name`` (so ``token``
    matches ``GITHUB_TOKEN`` but not ``tokenizer`` or ``max_tokens``), and the name does
    not end in a word that says it holds a pointer to the secret (``_ARN``, ``_FILE``)."""
    words = name_words(name)
    if not words or words[-1] in POINTER_WORDS:
        return False
    bounds = _boundaries(name)
    return any(
        match.start() in bounds and match.end() in bounds and match.end() > match.start()
        for match in compiled(pattern).finditer(name)
    )


def mask(value: str, keep: int) -> str:
    shown = value[:keep] if keep and len(value) > keep * 3 else ""
    return f"{shown}{'*' * 4} ({len(value)} characters)"


def find_secrets(name: str | None, value, settings):
    """``(what, masked)`` for each secret in one literal string ``value`` stored under
    ``name`` (None for positional arguments). References and expressions are never
    secrets here: only literal strings are judged."""
    if not isinstance(value, str) or not value.strip():
        return
    text = value.strip().strip('"')
    if text in settings.allowed_secret_values:
        return
    found = False
    screened = may_hold_token(text) and ANY_PATTERN.search(text)
    for what, pattern, keep in PATTERNS if screened else ():
        for match in pattern.finditer(text):
            if "EXAMPLE" in match.group(0):
                continue
            found = True
            yield what, mask(match.group(0), keep)
    if found or PUBLIC_MATERIAL.match(text):
        return
    if name is None or not _says_secret(name, settings.secret_name_pattern):
        return  # the common case: a name that says nothing secret
    if SECRET_STORE_ARN.match(text) or PLACEHOLDER.match(text):
        return
    if SECRET_KEY_NAME.search(name) and SECRET_ACCESS_KEY.match(text) and _mixed(text):
        yield "an AWS secret access key", mask(text, 0)
        return
    if SECRET_LOCATION.match(text) and not any(map(_random_looking, text.split("/"))):
        return
    if is_secret_name(name, settings.secret_name_pattern) and not NOT_SECRET.match(text):
        yield "a literal value under a secret-like name", mask(text, 0)


_NAMES: dict[tuple[str, str], bool] = {}


def _says_secret(name: str, pattern: str) -> bool:
    """Whether ``name`` looks like it holds a secret, by our words or the policy's
    pattern: names repeat across steps and pipelines, so each is judged once per run."""
    key = (name, pattern)
    found = _NAMES.get(key)
    if found is None:
        if len(_NAMES) > 100_000:
            _NAMES.clear()
        found = _NAMES[key] = bool(SECRET_KEY_NAME.search(name) or compiled(pattern).search(name))
    return found


def _random_looking(segment: str) -> bool:
    """A path segment that looks like key material rather than a name."""
    return len(segment) >= 12 and _mixed(segment)


def _mixed(text: str) -> bool:
    return bool(re.search(r"[A-Z]", text) and re.search(r"[a-z]", text) and re.search(r"\d", text))


def _places(step, definition):
    """``(base, token, name, value)`` of every literal a step passes to its container:
    maps named ``Environment``, ``HyperParameters`` or ``StaticHyperParameters`` anywhere
    in its arguments, and ``ContainerArguments``/``ContainerEntrypoint`` lists (a value's
    name there is the ``--flag`` before it, or the part before ``=``). Steps nested in a
    condition's branches are their own steps, not the condition's. The pointer stays in
    two parts: values are many and findings rare, so it is joined only for a finding."""
    for pointer, kind, node in _places_by_step(definition).get(step.pointer, ()):
        if kind == "map":
            for name, value in node.items():
                yield pointer, name, str(name), value
        else:
            yield from _arguments(node, pointer)


_MAPS = ("Environment", "HyperParameters", "StaticHyperParameters")
_ARGUMENT_LISTS = ("ContainerArguments", "ContainerEntrypoint")


def _places_by_step(definition) -> dict[str, list]:
    """Step pointer -> ``(pointer, "map" | "list", node)``, from the definition's shared
    index of keyed nodes (one walk for every rule) rather than a walk per step."""
    return definition.memo("check_security.places", lambda: _collect_places(definition))


def _collect_places(definition) -> dict[str, list]:
    places: dict[str, list] = {}
    for keys, kind, wanted in ((_MAPS, "map", dict), (_ARGUMENT_LISTS, "list", list)):
        for key in keys:
            for pointer, node in definition.nodes_under_key(key):
                if type(node) is not wanted:
                    continue
                step = definition.step_at(pointer)
                if step is not None and pointer.startswith(step.arguments_pointer + "/"):
                    places.setdefault(step.pointer, []).append((pointer, kind, node))
    return places


_FLAG = re.compile(r"--?[A-Za-z]")


def _arguments(items: list, pointer: str):
    previous = None
    for index, item in enumerate(items):
        if isinstance(item, str) and item.startswith("-") and "=" in item:
            flag, _, value = item.partition("=")
            yield pointer, index, flag.lstrip("-"), value
            previous = None
            continue
        name = previous.lstrip("-") if previous else None
        yield pointer, index, name, item
        is_flag = isinstance(item, str) and _FLAG.match(item)
        previous = item if is_flag else None


@rule(id="SC001", category="security", summary="No secrets are written into the definition")
def check_secrets(step, definition, settings):
    """What it checks: the literal strings a step passes to its containers
    (``Environment`` maps, ``HyperParameters``, ``StaticHyperParameters``,
    ``ContainerArguments``, ``ContainerEntrypoint``) contain no AWS access key id
    (``AKIA``/``ASIA``), no 40-character AWS secret key under a secret-like name, no
    private key, GitHub or Slack token, Slack webhook or JWT, and no literal value under
    a name matching ``security.secret_name_pattern`` (whole words; names ending in
    ``_ARN``, ``_NAME``, ``_FILE``... are pointers, not secrets). References, Secrets
    Manager/SSM ARNs, ``security.allowed_secret_values``, public keys and placeholders
    such as ``${TOKEN}`` are accepted. Findings never show the value.

    Why it matters: SageMaker stores the definition and returns it to anyone allowed to
    describe the pipeline; environment and hyperparameters are also copied into every
    job description and trial component.

    How to fix: rotate the credential now, then pass a Secrets Manager ARN (or an SSM
    parameter name) and read the secret in the container with the execution role.
    """
    for base, token, name, value in _places(step, definition):
        if type(value) is not str:
            continue  # references and expressions: only literals are judged
        for what, masked in find_secrets(name, value, settings):
            where = f" in {name!r}" if name else ""
            yield Violation(
                f"step {step.name!r} passes {what}{where}: {masked}", at=join(base, token)
            )


# -- encryption and isolation ----------------------------------------------------------

_LOCAL_STORAGE = re.compile(
    r"^ml\.(?:[a-z]+\d+[a-z]*d[a-z]*|g5|g6|g6e|p5|p5e|p5en|trn1|trn1n|trn2)\."
)
"""Instance families with NVMe instance storage: SageMaker encrypts it with a hardware
module and rejects a ``VolumeKmsKeyId`` for them."""


def _jobs(step):
    """``(pointer, job arguments, kind)`` for each job a step runs (the definition model
    knows where each step type keeps its jobs; AutoML jobs have no settings judged here)."""
    for job in step.jobs:
        if job.kind != "automl":
            yield job.pointer, job.raw, job.kind


def _get(node, *keys):
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _parameter_value(value, definition):
    """A ``Get Parameters.X`` resolved to the parameter's default; other values as is."""
    if isinstance(value, dict) and isinstance(value.get("Get"), str):
        path = value["Get"]
        if path.startswith("Parameters."):
            parameter = definition.parameters_by_name.get(path.split(".", 1)[1])
            return parameter.default if parameter is not None else None
        return value
    return value


def _is_set(value) -> bool:
    """A key id or ARN is given (a literal non-empty string, or any expression)."""
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, dict)


def _describe_default(value) -> str:
    if isinstance(value, dict) and isinstance(value.get("Get"), str):
        return f" (parameter {value['Get'].split('.', 1)[-1]} defaults to it)"
    return ""


@rule(id="SC002", category="security", summary="Job storage volumes are encrypted with a KMS key")
def check_volume_kms_key(step, definition, settings):
    """What it checks: when ``security.require_volume_kms_key`` is set, Processing (and
    QualityCheck/ClarifyCheck) jobs set ``ProcessingResources.ClusterConfig.VolumeKmsKeyId``,
    Training and Tuning jobs ``ResourceConfig.VolumeKmsKeyId``, Transform jobs
    ``TransformResources.VolumeKmsKeyId``. Instance types with NVMe instance storage
    (``ml.g4dn``, ``ml.m5d``, ``ml.p4d``, ``ml.g5``...) are exempt: SageMaker encrypts
    their storage in hardware and rejects a key for them.

    Why it matters: the attached EBS volume holds the job's data and model copies; a
    customer managed key lets the team control and audit access to it.

    How to fix: pass ``volume_kms_key=`` to the processor, estimator or transformer.
    """
    if not settings.require_volume_kms_key:
        return
    places = {
        "processing": ("ProcessingResources", "ClusterConfig"),
        "training": ("ResourceConfig",),
        "transform": ("TransformResources",),
    }
    for pointer, job, kind in _jobs(step):
        if kind not in places:
            continue
        resources = _get(job, *places[kind])
        instance = _parameter_value(_get(resources, "InstanceType"), definition)
        if isinstance(instance, str) and _LOCAL_STORAGE.match(instance):
            continue
        if _is_set(_get(resources, "VolumeKmsKeyId")):
            continue
        at = join(pointer, *places[kind]) if isinstance(resources, dict) else pointer
        yield Violation(
            f"{kind} job of step {step.name!r} has no VolumeKmsKeyId in {'.'.join(places[kind])}",
            at=at,
        )


@rule(id="SC003", category="security", summary="Job outputs are encrypted with a KMS key")
def check_output_kms_key(step, settings):
    """What it checks: when ``security.require_output_kms_key`` is set, Processing (and
    QualityCheck/ClarifyCheck) jobs with outputs set ``ProcessingOutputConfig.KmsKeyId``,
    Training and Tuning jobs ``OutputDataConfig.KmsKeyId``, Transform jobs
    ``TransformOutput.KmsKeyId``.

    Why it matters: without it, outputs are written with the bucket's default
    encryption, which may not be the key the data's classification requires.

    How to fix: pass ``output_kms_key=`` to the processor, estimator or transformer.
    """
    if not settings.require_output_kms_key:
        return
    places = {
        "processing": "ProcessingOutputConfig",
        "training": "OutputDataConfig",
        "transform": "TransformOutput",
    }
    for pointer, job, kind in _jobs(step):
        if kind not in places:
            continue
        config = job.get(places[kind])
        if not isinstance(config, dict):
            continue  # no outputs: nothing is written
        if _is_set(config.get("KmsKeyId")):
            continue
        yield Violation(
            f"{kind} job of step {step.name!r} has no KmsKeyId in {places[kind]}",
            at=join(pointer, places[kind]),
        )


def _network(job, kind):
    """``(pointer suffix, settings dict)`` where a job keeps its network settings."""
    if kind == "processing":
        config = job.get("NetworkConfig")
        return ("NetworkConfig",), config if isinstance(config, dict) else {}
    return (), job


def _closest(job, pointer, keys):
    """The pointer of the deepest of ``keys`` (a path under ``job``) that exists."""
    node, at = job, pointer
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            break
        node, at = node[key], join(at, key)
    return at


def _flag_problem(job, kind, key, definition):
    suffix, config = _network(job, kind)
    raw = config.get(key)
    value = _parameter_value(raw, definition)
    if value is True:
        return None
    where = ".".join((*suffix, key))
    if raw is None:
        return suffix, f"does not set {where}"
    return suffix, f"sets {where} to {str(value).lower()}{_describe_default(raw)}"


@rule(id="SC004", category="security", summary="Jobs run with network isolation")
def check_network_isolation(step, definition, settings):
    """What it checks: when ``security.require_network_isolation`` is set, Processing
    (and QualityCheck/ClarifyCheck) jobs set ``NetworkConfig.EnableNetworkIsolation``,
    Training and Tuning jobs and Model steps ``EnableNetworkIsolation`` to true (a Boolean
    parameter is judged by its default). Transform jobs take it from their model.

    Why it matters: an isolated container cannot call out, so a compromised dependency
    cannot exfiltrate the training data or the model.

    How to fix: ``enable_network_isolation=True`` on the processor, estimator or model
    (inputs and outputs still move through SageMaker).
    """
    if not settings.require_network_isolation:
        return
    for pointer, job, kind in _jobs(step):
        if kind not in ("processing", "training", "model"):
            continue
        problem = _flag_problem(job, kind, "EnableNetworkIsolation", definition)
        if problem:
            suffix, detail = problem
            at = _closest(job, pointer, (*suffix, "EnableNetworkIsolation"))
            yield Violation(f"{kind} job of step {step.name!r} {detail}", at=at)


@rule(
    id="SC005",
    category="security",
    summary="Traffic between job containers is encrypted",
)
def check_inter_container_encryption(step, definition, settings):
    """What it checks: when ``security.require_inter_container_encryption`` is set,
    Processing (and QualityCheck/ClarifyCheck) jobs set
    ``NetworkConfig.EnableInterContainerTrafficEncryption``, Training and Tuning jobs
    ``EnableInterContainerTrafficEncryption`` to true.

    Why it matters: distributed jobs exchange data and gradients between instances;
    without it that traffic is unencrypted inside the VPC.

    How to fix: ``encrypt_inter_container_traffic=True`` on the processor or estimator.
    """
    if not settings.require_inter_container_encryption:
        return
    for pointer, job, kind in _jobs(step):
        if kind not in ("processing", "training"):
            continue
        problem = _flag_problem(job, kind, "EnableInterContainerTrafficEncryption", definition)
        if problem:
            suffix, detail = problem
            at = _closest(job, pointer, (*suffix, "EnableInterContainerTrafficEncryption"))
            yield Violation(f"{kind} job of step {step.name!r} {detail}", at=at)


@rule(id="SC006", category="security", summary="Jobs run in the team's VPC")
def check_vpc(step, settings):
    """What it checks: when ``security.require_vpc`` is set, Processing (and
    QualityCheck/ClarifyCheck) jobs have ``NetworkConfig.VpcConfig``, Training and Tuning
    jobs and Model steps ``VpcConfig``, each with ``Subnets`` and ``SecurityGroupIds``.
    Transform jobs take it from their model.

    Why it matters: outside a VPC, job traffic to S3 and other services leaves the
    team's network controls (endpoints policies, flow logs).

    How to fix: pass ``subnets=`` and ``security_group_ids=`` (or a ``NetworkConfig``)
    to the processor, estimator or model.
    """
    if not settings.require_vpc:
        return
    for pointer, job, kind in _jobs(step):
        if kind not in ("processing", "training", "model"):
            continue
        suffix, config = _network(job, kind)
        vpc = config.get("VpcConfig")
        where = ".".join((*suffix, "VpcConfig"))
        if not isinstance(vpc, dict):
            at = join(pointer, *suffix) if suffix and suffix[0] in job else pointer
            yield Violation(f"{kind} job of step {step.name!r} has no {where}", at=at)
            continue
        missing = [key for key in ("Subnets", "SecurityGroupIds") if not vpc.get(key)]
        if missing:
            yield Violation(
                f"{kind} job of step {step.name!r} has a {where} without {' or '.join(missing)}",
                at=join(pointer, *suffix, "VpcConfig"),
            )

"""Regenerate ``sagemaker-requests.json`` from the SageMaker service model botocore ships.

    python -m mlops_guard.service_model.generate [--check]

The service model (``botocore/data/sagemaker/<version>/service-2.json``, Apache-2.0) is
read as data; only the shapes that step arguments and step properties can reach are kept,
in a compact form the API rules read without importing botocore. ``--check`` exits 1
when the shipped file differs from what the installed botocore would generate.

The model's patterns are written in the service's regular-expression dialect (Java's,
matched against the whole value). Each is translated to Python's ``re`` here, once: a
pattern that uses what ``re`` cannot express the same way (Unicode property classes such
as ``\\p{L}``, POSIX classes, class intersections) is not guessed at but left out and
listed under ``untranslated_patterns``, so the rules skip it and a test counts it.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

OUTPUT = Path(__file__).with_name("sagemaker-requests.json")

OPERATIONS = (
    "CreateProcessingJob",
    "CreateTrainingJob",
    "CreateTransformJob",
    "CreateHyperParameterTuningJob",
    "CreateModel",
    "CreateModelPackage",
    "CreateAutoMLJob",
)
"""The operations whose requests pipeline steps carry as ``Arguments``."""

PROPERTY_SHAPES = (
    "DescribeProcessingJob",
    "DescribeTrainingJob",
    "DescribeTransformJob",
    "DescribeHyperParameterTuningJob",
    "ListTrainingJobsForHyperParameterTuningJob",
    "DescribeModel",
    "DescribeModelPackage",
    "DescribeAutoMLJob",
)
"""The operations whose responses are the ``Properties`` steps expose to later steps."""

_UNSUPPORTED = re.compile(r"\\[pP]\{|\[\[:|&&|\\[QEzZGRXhHvV]|\\[0-9]")
"""Java constructs ``re`` reads differently or not at all: Unicode and POSIX property
classes, POSIX bracket classes, class intersection, quoting, and anchors, line breaks,
graphemes, horizontal/vertical space classes and back-references it spells otherwise."""
_SURROGATE_PAIR = re.compile(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", re.IGNORECASE)
_ALNUM = re.compile(r"\\p\{Alnum\}")


def translate(pattern: str) -> str | None:
    """The service's ``pattern`` as a Python regular expression for ``re.fullmatch``, or
    None when it cannot be translated faithfully.

    Java and the service's JSON model spell supplementary characters as UTF-16 surrogate
    pairs (``\\uD800\\uDC00-\\uDBFF\\uDFFF``); Python's strings hold code points, so each
    pair becomes the code point it encodes. ``\\p{Alnum}`` is ASCII letters and digits in
    Java and is spelled out; every other property class is left untranslated.
    """

    def code_point(match: re.Match) -> str:
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"

    def alnum(match: re.Match) -> str:
        return "a-zA-Z0-9" if _inside_class(match.string, match.start()) else "[a-zA-Z0-9]"

    text = _ALNUM.sub(alnum, _SURROGATE_PAIR.sub(code_point, pattern))
    if _UNSUPPORTED.search(text):
        return None
    try:
        re.compile(text)
    except re.error:
        return None
    return text


def _inside_class(text: str, position: int) -> bool:
    """Whether ``position`` of ``text`` is inside a ``[...]`` character class."""
    depth, index = 0, 0
    while index < position:
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        index += 1
    return depth > 0


def service_model_path() -> Path:
    import botocore  # the generator alone needs botocore; the rules never import it

    root = Path(botocore.__file__).parent / "data" / "sagemaker"
    versions = sorted(path for path in root.iterdir() if path.is_dir())
    return versions[-1]


def load_service_model(directory: Path) -> dict:
    plain = directory / "service-2.json"
    if plain.exists():
        return json.loads(plain.read_text(encoding="utf-8"))
    with gzip.open(directory / "service-2.json.gz", "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _compact(shape: dict, untranslated: dict, name: str) -> dict:
    """One shape in the shipped form: ``t`` type, ``m`` members, ``r`` required, ``l``
    list member, ``k``/``v`` map key and value, ``e`` enum, ``n``/``x`` min and max,
    ``p`` pattern (Python), ``u`` union."""
    kind = shape["type"]
    out: dict = {"t": kind}
    if kind == "structure":
        out["m"] = {member: spec["shape"] for member, spec in shape.get("members", {}).items()}
        if shape.get("required"):
            out["r"] = list(shape["required"])
        if shape.get("union"):
            out["u"] = True
    elif kind == "list":
        out["l"] = shape["member"]["shape"]
    elif kind == "map":
        out["k"], out["v"] = shape["key"]["shape"], shape["value"]["shape"]
    if "enum" in shape:
        out["e"] = list(shape["enum"])
    if "min" in shape:
        out["n"] = shape["min"]
    if "max" in shape:
        out["x"] = shape["max"]
    if "pattern" in shape:
        translated = translate(shape["pattern"])
        if translated is None:
            untranslated[name] = shape["pattern"]
        else:
            out["p"] = translated
    return out


def generate(model: dict, botocore_version: str) -> dict:
    shapes = model["shapes"]
    operations = model["operations"]
    kept: dict[str, dict] = {}
    untranslated: dict[str, str] = {}

    def keep(name: str) -> None:
        if name in kept:
            return
        shape = shapes[name]
        kept[name] = _compact(shape, untranslated, name)
        for key in ("member", "key", "value"):
            if key in shape:
                keep(shape[key]["shape"])
        for spec in shape.get("members", {}).values():
            keep(spec["shape"])

    requests, responses = {}, {}
    for operation in OPERATIONS:
        requests[operation] = operations[operation]["input"]["shape"]
        keep(requests[operation])
    for operation in PROPERTY_SHAPES:
        responses[operation] = operations[operation]["output"]["shape"]
        keep(responses[operation])
    return {
        "source": "botocore/data/sagemaker/*/service-2.json (Apache-2.0), generated by "
        "python -m mlops_guard.service_model.generate",
        "botocore_version": botocore_version,
        "api_version": model["metadata"]["apiVersion"],
        "requests": requests,
        "responses": responses,
        "untranslated_patterns": dict(sorted(untranslated.items())),
        "shapes": dict(sorted(kept.items())),
    }


def render(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True) + "\n"


def current() -> str:
    """What the installed botocore generates, as the file's text."""
    import botocore

    return render(generate(load_service_model(service_model_path()), botocore.__version__))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = current()
    if "--check" in argv:
        shipped = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if shipped != text:
            print(f"{OUTPUT.name} is stale: run python -m mlops_guard.service_model.generate")
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

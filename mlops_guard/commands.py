"""The built-in subcommands: check, rules, explain, fixtures, demo."""

from __future__ import annotations

import json

from mlops_guard.errors import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT, InputError


def check(args) -> int:
    import itertools

    from mlops_guard.resources import caching, disable_caching
    from mlops_guard.session import prepare, require_code_opt_in

    if args.no_cache:
        disable_caching()  # every cache, read and write: the policy's and the rules' too
    session = prepare(
        args.policy,
        args.rules_dir,
        args.select,
        args.ignore,
        domains=("definition",),
        allow_code=args.allow_code,
        isolated=args.isolated,
    )
    if not args.no_modules:
        require_code_opt_in(session.loaded, "modules", args.allow_code)
    if args.modules_only and args.paths:
        raise InputError("--modules-only takes no paths")
    paths = args.paths or (["."] if not (args.module or args.modules_only) else [])
    cache = None
    if not (args.no_cache or args.debug) and caching():
        from mlops_guard.result_cache import ResultCache

        cache = ResultCache.open(session)
    from mlops_guard.parallel import file_targets  # on every core when the run is big

    strict = not args.skip_unrecognized
    files = file_targets(
        paths, strict=strict, cache=cache, session=session, jobs=args.jobs, debug=args.debug
    )
    # Files stream through the engine one at a time; modules render after them.
    module_errors: list[InputError] = []
    targets = itertools.chain(files, _module_targets(args, session, module_errors))
    result = session.run(
        targets,
        debug=args.debug,
        record=cache.record if cache else None,
    )
    if cache:
        cache.save()
    if args.baseline or args.write_baseline:
        from mlops_guard import baseline

        result = baseline.apply(result, args.baseline, args.write_baseline)
    result.add(session.policy_findings)
    from mlops_guard.reporters import render, report_context, write_report

    context = report_context("check", session.rules, result)
    write_report(render(args.format, result, context), args.output)
    if module_errors:
        return _module_failures(module_errors, args.debug)
    fail_on = args.fail_on or session.policy["fail_on"]
    return EXIT_FINDINGS if result.failed(fail_on) else EXIT_CLEAN


def _module_failures(errors: list[InputError], debug: bool) -> int:
    """After the report of what could be checked: one line per module that could not be
    rendered, and exit 2 (what was not read never passes)."""
    import sys

    if debug:
        raise errors[0]
    for error in errors:
        print(f"mlops-guard: error: {error}", file=sys.stderr)
    return EXIT_INPUT


def _module_targets(args, session, errors):
    """Module targets, rendered only when the engine reaches them (a generator); a module
    that cannot be rendered goes to ``errors`` and the others are still checked."""
    specs = [{"entry": entry, "kwargs": _kwargs(args.kwargs), "path": "."} for entry in args.module]
    if not args.no_modules:
        base = session.loaded.base_dir
        for module in session.policy["modules"]:
            specs.append({**module.to_dict(), "path": str(base / module["path"])})
    if not specs:
        return
    from mlops_guard.loaders.python_module import render_modules

    yield from render_modules(specs, debug=args.debug, jobs=args.jobs, errors=errors)


def _kwargs(text: str) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        from mlops_guard.errors import invalid_json

        raise invalid_json(error, "--kwargs is not valid JSON", within="the value") from None
    if not isinstance(value, dict):
        raise InputError("--kwargs must be a JSON object of keyword arguments")
    return value


def rules(args) -> int:
    from mlops_guard.registry import all_rule_infos
    from mlops_guard.session import prepare

    session = prepare(
        args.policy, args.rules_dir, allow_code=args.allow_code, isolated=args.isolated
    )
    infos = all_rule_infos(session.rules)
    if args.format == "json":
        items = [
            {"id": i.id, "category": i.category, "severity": i.severity, "summary": i.summary}
            for i in infos
        ]
        print(json.dumps(items, indent=2))
        return EXIT_CLEAN
    width = max(len(i.category) for i in infos)
    for info in infos:
        print(f"{info.id}  {info.category:<{width}}  {info.severity:<7}  {info.summary}")
    return EXIT_CLEAN


def explain(args) -> int:
    from mlops_guard.meta_rules import META_RULE_DOCS, META_RULES
    from mlops_guard.session import prepare

    session = prepare(
        args.policy, args.rules_dir, allow_code=args.allow_code, isolated=args.isolated
    )
    wanted = args.rule_id.upper()
    for rule in session.rules:
        if rule.id == wanted:
            from mlops_guard.policy.rule_sections import documented

            print(_explanation(rule.info, documented(rule)))
            return EXIT_CLEAN
    for info in META_RULES:
        if info.id == wanted:
            print(_explanation(info, META_RULE_DOCS[info.id]))
            return EXIT_CLEAN
    raise InputError(f"no rule with id {args.rule_id!r} (see `mlops-guard rules`)")


def _explanation(info, doc: str) -> str:
    header = (
        f"{info.id}: {info.summary}\ncategory: {info.category}; default severity: {info.severity}"
    )
    return f"{header}\n\n{doc.strip()}\n"


def demo(args) -> int:
    """Check the bundled reference definition (must pass) and non-compliant examples."""
    from mlops_guard.examples import example_paths, reference_definition_path
    from mlops_guard.loaders import load_paths
    from mlops_guard.reporters import render, report_context
    from mlops_guard.session import prepare

    session = prepare(str(_default_policy()))
    ok = True
    for title, paths, expect_clean in (
        ("Reference pipeline (compliant)", [str(reference_definition_path())], True),
        ("Bundled non-compliant examples", [str(p) for p in example_paths()], False),
    ):
        result = session.run(
            load_paths(paths),
        )
        context = report_context("demo", session.rules, result)
        print(f"== {title}")
        print(render(args.format, result, context), end="")
        clean = not result.findings
        ok = ok and clean == expect_clean
    if not ok:  # the bundled files are ours: an unexpected verdict is the tool's fault
        raise InputError(
            "unexpected result (see above): the reference must pass and every example "
            "must show findings",
            where="demo",
        )
    print("demo: the reference passes and every example shows findings.")
    return EXIT_CLEAN


def _default_policy():
    from mlops_guard.resources import default_policy_path

    return default_policy_path()


__all__ = ["check", "demo", "explain", "fixtures", "rules"]


def fixtures(args) -> int:
    """The fixtures a rule may ask for, with their docs (like ``pytest --fixtures``), and
    the policy section of each loaded rule that declares one."""
    from mlops_guard.fixtures import listing
    from mlops_guard.session import prepare

    session = prepare(
        args.policy, args.rules_dir, allow_code=args.allow_code, isolated=args.isolated
    )
    declaring = [rule for rule in session.rules if rule.settings is not None]
    if args.format == "json":
        print(json.dumps(listing(declaring, as_json=True), indent=2))
    else:
        print(listing(declaring))
    return EXIT_CLEAN

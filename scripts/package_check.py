"""Check the Salesforce package with the Salesforce CLI itself, no org needed (R-OPS-6).

python scripts/package_check.py [--cache DIR] [--no-tests]      (`make package-check`)

1. The schema and cross-reference checks of every file: pytest over
   tests/unit/salesforce_metadata (the interpreter running this script must have pytest).
2. Node.js 22 and the Salesforce CLI, at the exact versions of scripts/sfcli/package-lock.json,
   installed with `npm ci` into DIR (default .cache/sfcli, ignored by git); skipped when DIR's
   stamp says those versions are there. The CLI's source conversion needs Node.js 22: it crashes
   on Node.js 20, so the CLI always runs on the installed Node.js, never on the machine's.
3. `sf project convert source --root-dir force-app`: the package.xml it writes lists exactly the
   members of manifest/package.xml, and the converted files hold every component of force-app.
4. `sf project convert source --manifest manifest/package.xml`: every member the manifest lists
   converts (the CLI lists a member in its package.xml even when no file holds it).
5. The page-layout path an administrator takes: `python -m sfqb salesforce layouts` over a fresh
   org's standard layouts (the sandbox's stock layouts, standing in for a retrieve), then
   `sf project convert source --root-dir` its output: exactly those five Layout components, and
   nothing else a deploy would touch.

The CLI runs with its home, configuration and caches in DIR/home, telemetry, update checks and
log files off, so it writes nothing to the user's home. Standard library only; each step prints
how long it took. Exit status 1 when any step fails.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "include" / "salesforce"
PINS = ROOT / "scripts" / "sfcli"
TESTS = "tests/unit/salesforce_metadata"
NS = "{http://soap.sforce.com/2006/04/metadata}"
MIN_NODE = 22

# Metadata type -> member names, as in a package.xml.
Members = dict[str, set[str]]

# SFDX source file suffix -> (Metadata type, whether the member is "<Object>.<name>").
SOURCE_TYPES = {
    ".field-meta.xml": ("CustomField", True),
    ".validationRule-meta.xml": ("ValidationRule", True),
    ".object-meta.xml": ("CustomObject", False),
    ".layout-meta.xml": ("Layout", False),
    ".flow-meta.xml": ("Flow", False),
    ".permissionset-meta.xml": ("PermissionSet", False),
    ".standardValueSet-meta.xml": ("StandardValueSet", False),
}
# Metadata API format: folder -> (file suffix, Metadata type) for one component per file.
CONVERTED_TYPES = {
    "layouts": (".layout", "Layout"),
    "flows": (".flow", "Flow"),
    "permissionsets": (".permissionset", "PermissionSet"),
    "standardValueSets": (".standardValueSet", "StandardValueSet"),
}
# Components an objects/<Object>.object file holds inside it; any other element of the file
# belongs to the object itself, which is then a CustomObject member of the package.
OBJECT_CHILDREN = {"fields": "CustomField", "validationRules": "ValidationRule"}
# The CLI's environment: no telemetry, no update check or autoupdate, no release notes, no log
# file (names from the CLI's documentation and its sources; SF_DISABLE_AUTOUPDATE is the one
# its update hook reads, SF_AUTOUPDATE_DISABLE the documented one).
CLI_ENV = {
    "SF_DISABLE_TELEMETRY": "true",
    "SF_TELEMETRY_DISABLE_ACKNOWLEDGEMENT": "true",
    "SF_AUTOUPDATE_DISABLE": "true",
    "SF_DISABLE_AUTOUPDATE": "true",
    "SF_SKIP_NEW_VERSION_CHECK": "true",
    "SF_HIDE_RELEASE_NOTES": "true",
    "SF_HIDE_RELEASE_NOTES_FOOTER": "true",
    "SF_DISABLE_LOG_FILE": "true",
    "SF_CONTENT_TYPE": "JSON",
}


class CheckFailed(Exception):
    """A step found a problem; the message says which."""


# ------------------------------------------------------------------ pure: packages and members


def read_package_xml(path: Path) -> tuple[Members, str | None]:
    """The members of a package.xml by type, and its API version."""
    root = ET.parse(path).getroot()
    members: Members = {}
    for types in root.findall(NS + "types"):
        name = (types.findtext(NS + "name") or "").strip()
        members.setdefault(name, set()).update(
            (m.text or "").strip() for m in types.findall(NS + "members")
        )
    version = root.findtext(NS + "version")
    return members, None if version is None else version.strip()


def source_members(package_dir: Path) -> tuple[Members, list[str]]:
    """The components of an SFDX package directory (force-app), named as package.xml names
    them, and the files of no type this check knows (each would be a component it misses)."""
    members: Members = {}
    unknown = []
    for path in sorted(p for p in package_dir.rglob("*") if p.is_file()):
        for suffix, (kind, qualified) in SOURCE_TYPES.items():
            if path.name.endswith(suffix):
                name = path.name.removesuffix(suffix)
                if qualified:  # objects/<Object>/fields/<name>.field-meta.xml
                    name = f"{path.parent.parent.name}.{name}"
                members.setdefault(kind, set()).add(name)
                break
        else:
            unknown.append(path.relative_to(package_dir).as_posix())
    return members, unknown


def converted_members(output_dir: Path) -> tuple[Members, list[str]]:
    """The components the files of a Metadata API format folder (the CLI's output) hold, and
    its files of no type this check knows or not well-formed; package.xml is not read here."""
    members: Members = {}
    unknown = []
    for path in sorted(p for p in output_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(output_dir)
        folder = relative.parts[0] if len(relative.parts) == 2 else ""
        if relative.as_posix() == "package.xml":
            continue
        if folder == "objects" and path.suffix == ".object":
            obj = path.stem
            try:
                root = ET.parse(path).getroot()
            except ET.ParseError as error:
                unknown.append(f"{relative.as_posix()} ({error})")
                continue
            for child in root:
                tag = child.tag.removeprefix(NS)
                if tag in OBJECT_CHILDREN:
                    name = (child.findtext(NS + "fullName") or "").strip()
                    members.setdefault(OBJECT_CHILDREN[tag], set()).add(f"{obj}.{name}")
                else:
                    members.setdefault("CustomObject", set()).add(obj)
            continue
        suffix, kind = CONVERTED_TYPES.get(folder, ("", ""))
        if kind and path.name.endswith(suffix):
            members.setdefault(kind, set()).add(path.name.removesuffix(suffix))
        else:
            unknown.append(relative.as_posix())
    return members, unknown


def compare(expected: Members, actual: Members, expected_in: str, actual_in: str) -> list[str]:
    """One line per member in one and not the other, by type and name."""
    problems = []
    for kind in sorted(set(expected) | set(actual)):
        want, got = expected.get(kind, set()), actual.get(kind, set())
        problems += [
            f"{kind} {m}: in {expected_in}, not in {actual_in}" for m in sorted(want - got)
        ]
        problems += [
            f"{kind} {m}: in {actual_in}, not in {expected_in}" for m in sorted(got - want)
        ]
    return problems


def count(members: Members) -> int:
    return sum(len(names) for names in members.values())


# ------------------------------------------------------------------ the steps


def run_tests() -> str:
    """Step 1: pytest over tests/unit/salesforce_metadata."""
    if importlib.util.find_spec("pytest") is None:
        raise CheckFailed(
            f"{sys.executable} has no pytest: run `make install` first (the Makefile then uses "
            ".venv/bin/python)"
        )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TESTS]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0:
        print(done.stdout + done.stderr, end="")
        raise CheckFailed(f"{TESTS} failed (output above)")
    return lines[-1].strip("= ") if lines else "pytest said nothing"


def pins_digest() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((PINS / name).read_bytes())
    return digest.hexdigest()


def tools(cache: Path) -> tuple[Path, Path]:
    """Node.js and the CLI's entry point inside the cache."""
    return cache / "node_modules" / "node" / "bin" / "node", (
        cache / "node_modules" / "@salesforce" / "cli" / "bin" / "run.js"
    )


def install(cache: Path) -> str:
    """Step 2: Node.js 22 and the CLI in the cache, unless its stamp names the pinned versions."""
    stamp = cache / ".installed"
    node, sf = tools(cache)
    want = pins_digest()
    installed = stamp.exists() and stamp.read_text().strip() == want
    if not (installed and node.exists() and sf.exists()):
        npm = shutil.which("npm")
        if npm is None:
            raise CheckFailed("npm is not on PATH: install Node.js and npm (any version from 18)")
        cache.mkdir(parents=True, exist_ok=True)
        stamp.unlink(missing_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(PINS / name, cache / name)
        # npm's own download cache goes in the folder too, and away once installed: nothing
        # lands in the user's home, and only node_modules stays on disk.
        downloads = cache / "npm-download-cache"
        env = dict(os.environ, npm_config_cache=str(downloads), npm_config_update_notifier="false")
        command = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        done = subprocess.run(
            command, cwd=cache, env=env, capture_output=True, text=True, check=False
        )
        shutil.rmtree(downloads, ignore_errors=True)
        if done.returncode != 0 or not (node.exists() and sf.exists()):
            print(done.stdout + done.stderr, end="")
            raise CheckFailed(f"npm ci in {cache} failed (output above)")
        stamp.write_text(want + "\n")
    version = subprocess.run(
        [str(node), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < MIN_NODE:
        raise CheckFailed(f"{node} is Node.js {version}; the CLI's conversion needs {MIN_NODE}+")
    cli = json.loads((sf.parent.parent / "package.json").read_text())["version"]
    what = "already installed" if installed else f"installed ({size_mb(cache)} MB)"
    return f"Node.js {version}, Salesforce CLI {cli}: {what} in {cache}"


def size_mb(folder: Path) -> int:
    seen, total = set(), 0
    for path in folder.rglob("*"):
        st = path.lstat()
        if path.is_file() and (st.st_dev, st.st_ino) not in seen:  # node is a hard link
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return round(total / 1e6)


def cli_env(cache: Path) -> dict[str, str]:
    """The environment the CLI runs in: home and XDG folders in the cache, CLI_ENV, and the
    cache's Node.js first on PATH (for anything the CLI starts)."""
    home = cache / "home"
    env = dict(os.environ, HOME=str(home), **CLI_ENV)
    for xdg in ("CONFIG", "CACHE", "DATA", "STATE"):
        env[f"XDG_{xdg}_HOME"] = str(home / xdg.lower())
    env["PATH"] = f"{tools(cache)[0].parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def convert(cache: Path, source: list[str], output: Path) -> None:
    """Run `sf project convert source` in include/salesforce; fail on any error or warning."""
    node, sf = tools(cache)
    command = [str(node), str(sf), "project", "convert", "source", *source]
    command += ["--output-dir", str(output), "--json"]
    (cache / "home").mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        command, cwd=PROJECT, env=cli_env(cache), capture_output=True, text=True, check=False
    )
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError:
        result = {}
    if done.returncode != 0 or result.get("status") != 0 or result.get("warnings"):
        print(done.stdout + done.stderr, end="")
        raise CheckFailed(f"sf project convert source {' '.join(source)} failed (output above)")


def check_source_conversion(cache: Path, output: Path) -> str:
    """Step 3: convert force-app; compare its package.xml and files with the manifest and
    with force-app."""
    convert(cache, ["--root-dir", "force-app"], output)
    manifest, manifest_version = read_package_xml(PROJECT / "manifest" / "package.xml")
    written, written_version = read_package_xml(output / "package.xml")
    sources, unknown_sources = source_members(PROJECT / "force-app")
    files, unknown_files = converted_members(output)
    problems = compare(manifest, written, "manifest/package.xml", "the converted package.xml")
    problems += compare(sources, files, "force-app", "the converted files")
    problems += [f"{p}: a file of no type this check knows" for p in unknown_sources]
    problems += [f"converted {p}: not a component file this check can read" for p in unknown_files]
    if manifest_version != written_version:
        problems.append(f"API version {written_version}, manifest says {manifest_version}")
    if problems:
        raise CheckFailed("\n".join(problems))
    return f"{count(written)} members as in manifest/package.xml, API {written_version}"


def check_manifest_conversion(cache: Path, output: Path) -> str:
    """Step 4: convert through the manifest; every member it lists must be in the files."""
    convert(cache, ["--manifest", "manifest/package.xml"], output)
    manifest, _ = read_package_xml(PROJECT / "manifest" / "package.xml")
    files, unknown_files = converted_members(output)
    problems = compare(manifest, files, "manifest/package.xml", "the converted files")
    problems += [f"converted {p}: not a component file this check can read" for p in unknown_files]
    if problems:
        raise CheckFailed("\n".join(problems))
    return f"{count(files)} members converted"


STOCK_LAYOUTS = ROOT / "include" / "sfqb_sandbox" / "salesforce" / "stock_layouts"


def check_layouts_command(cache: Path, work: Path) -> str:
    """Step 5: the layouts command's output converts to the retrieved layouts and nothing else."""
    retrieved = work / "retrieved" / "main" / "default" / "layouts"
    retrieved.mkdir(parents=True)
    for layout in STOCK_LAYOUTS.glob("*.layout-meta.xml"):
        shutil.copy(layout, retrieved)
    merged = work / "with-sfqb"
    command = [sys.executable, "-m", "sfqb", "salesforce", "layouts"]
    command += ["--retrieved", str(work / "retrieved"), "--output", str(merged)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "include"), str(ROOT)]))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CheckFailed(f"{' '.join(command[1:5])} failed:\n{done.stdout}{done.stderr}")
    convert(cache, ["--root-dir", str(merged)], work / "converted")
    files, unknown = converted_members(work / "converted")
    wanted = {"Layout": {p.name.removesuffix(".layout-meta.xml") for p in retrieved.iterdir()}}
    problems = compare(wanted, files, "the retrieved layouts", "the converted command output")
    problems += [f"converted {p}: not a component file this check can read" for p in unknown]
    if problems:
        raise CheckFailed("\n".join(problems))
    return f"{count(files)} Layout components, as retrieved"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "sfcli")
    parser.add_argument("--no-tests", action="store_true", help="skip step 1 (pytest)")
    args = parser.parse_args(argv)
    cache = args.cache.resolve()
    started = time.monotonic()
    failed = []
    with tempfile.TemporaryDirectory(prefix="sfqb-package-check-") as tmp:
        source_out, manifest_out = Path(tmp) / "source", Path(tmp) / "manifest"
        layouts_work = Path(tmp) / "layouts"
        # (title, needs the CLI, what it does)
        steps = [
            ("schema and reference tests", False, run_tests),
            ("Node.js and Salesforce CLI", False, lambda: install(cache)),
            ("convert force-app", True, lambda: check_source_conversion(cache, source_out)),
            ("convert the manifest", True, lambda: check_manifest_conversion(cache, manifest_out)),
            ("layouts command", True, lambda: check_layouts_command(cache, layouts_work)),
        ]
        for title, needs_cli, step in steps[1:] if args.no_tests else steps:
            if needs_cli and "Node.js and Salesforce CLI" in failed:
                print(f"package-check: {title}: skipped (no CLI)")
                continue
            began = time.monotonic()
            try:
                said = step()
            except (CheckFailed, ET.ParseError) as problem:  # ParseError: a package.xml
                failed.append(title)
                print(f"package-check: {title}: FAILED ({time.monotonic() - began:.1f} s)")
                print("  " + str(problem).replace("\n", "\n  "))
            else:
                print(f"package-check: {title}: ok ({time.monotonic() - began:.1f} s): {said}")
    total = time.monotonic() - started
    if failed:
        print(f"package-check: FAILED ({', '.join(failed)}) in {total:.1f} s")
        return 1
    print(f"package-check: ok in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

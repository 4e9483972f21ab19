"""llama.cpp's GGUF converter, unpacked from the llama-cpp-python sdist into the cache.

The llama-cpp-python wheel holds only shared libraries. The converter scripts, the
``conversion/`` package they import and the ``gguf-py`` that matches the runtime exist only in
the sdist, so ``prepare_converter`` downloads it once per version with pip and keeps about 3 MB
of it in ``cache_dir()/llama.cpp-VERSION``. The registry's ``gguf`` package does not match these
scripts, which is why the sdist's ``gguf-py`` is kept beside them and put first on the path.

``python -m studio.registry.converter prepare`` does this from the command line (the setup step).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from studio.errors import StudioError
from studio.paths import cache_dir

DIST_NAME = "llama-cpp-python"
VENDOR_DIR = "vendor/llama.cpp"
VERSION_MARKER = "VERSION"
CONVERT_SCRIPT = "convert_hf_to_gguf.py"
CONVERT_LORA_SCRIPT = "convert_lora_to_gguf.py"

# What the two scripts read from the vendor tree. ``models/templates`` holds the chat templates a
# few architectures fall back on (0.6 MB); the 75 MB of ``models/ggml-vocab-*.gguf`` are left out,
# as only Mamba and OpenELM checkpoints without a tokenizer use them.
WANTED = (
    CONVERT_SCRIPT,
    CONVERT_LORA_SCRIPT,
    "conversion/",
    "gguf-py/",
    "models/templates/",
    "LICENSE",
)
REQUIRED = (
    CONVERT_SCRIPT,
    CONVERT_LORA_SCRIPT,
    "conversion/__init__.py",
    "gguf-py/gguf/__init__.py",
)

MODEL_OUTTYPES = ("f32", "f16", "bf16", "q8_0", "tq1_0", "tq2_0", "auto")
LORA_OUTTYPES = ("f32", "f16", "bf16", "q8_0", "auto")


class ConverterError(StudioError):
    """Base class for converter failures."""


class ConverterUnavailableError(ConverterError):
    """The converter is not prepared and could not be fetched (pip failed, offline, no package)."""


class ConverterArchiveError(ConverterError):
    """The sdist lacks a file the converter needs, or holds an unsafe member."""


def installed_llama_cpp_version() -> str:
    """The installed llama-cpp-python version, read from metadata so llama_cpp isn't imported."""
    try:
        return importlib.metadata.version(DIST_NAME)
    except importlib.metadata.PackageNotFoundError as err:
        raise ConverterUnavailableError(
            f"{DIST_NAME} is not installed in {sys.prefix}; install it before preparing the "
            "GGUF converter"
        ) from err


def converter_dir(version: str | None = None) -> Path:
    """Where the converter for ``version`` (default: the installed one) lives."""
    return cache_dir() / f"llama.cpp-{version or installed_llama_cpp_version()}"


def is_prepared(version: str | None = None) -> bool:
    """Whether the converter for ``version`` is complete in the cache."""
    version = version or installed_llama_cpp_version()
    folder = converter_dir(version)
    marker = folder / VERSION_MARKER
    if not marker.is_file() or marker.read_text(encoding="utf-8").strip() != version:
        return False
    return all((folder / name).is_file() for name in REQUIRED)


def prepare_converter(
    version: str | None = None, force: bool = False, sdist: Path | None = None
) -> Path:
    """Make sure the converter for ``version`` is in the cache and return its folder.

    ``sdist`` is an already downloaded ``llama_cpp_python-VERSION.tar.gz`` (offline installs);
    without it pip downloads one. The folder appears whole or not at all: it is unpacked into a
    staging folder beside it and renamed into place.
    """
    version = version or installed_llama_cpp_version()
    target = converter_dir(version)
    if is_prepared(version) and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # The 76 MB download goes to the system temp folder; only the staging folder sits beside
    # the target, on the same file system, so the final rename is atomic.
    with contextlib.ExitStack() as stack:
        if sdist is None:
            download = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sdist-")))
            sdist = download_sdist(version, download)
        work = Path(
            stack.enter_context(
                tempfile.TemporaryDirectory(prefix=f".{target.name}-", dir=target.parent)
            )
        )
        staging = work / "staging"
        extract_converter(sdist, staging, version)
        (staging / VERSION_MARKER).write_text(version + "\n", encoding="utf-8")
        _move_into_place(staging, target, work / "old", version)
    return target


def download_sdist(version: str, dest: Path) -> Path:
    """Download the llama-cpp-python sdist for ``version`` into ``dest`` with pip."""
    # pip also prepares the sdist's metadata (an isolated build env): about 5 s with a warm index.
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-binary",
        ":all:",
        "--no-deps",
        f"{DIST_NAME}=={version}",
        "-d",
        str(dest),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ConverterUnavailableError(
            f"pip could not download the {DIST_NAME}=={version} sdist (offline? no package index "
            "reachable? pip missing from this environment?). Download it elsewhere and run "
            f"`python -m studio.registry.converter prepare --sdist FILE`. pip said:\n{tail}"
        )
    archives = sorted(dest.glob("*.tar.gz"))
    if not archives:
        raise ConverterUnavailableError(f"pip saved no sdist for {DIST_NAME}=={version}")
    return archives[0]


def extract_converter(sdist: Path, dest: Path, version: str | None = None) -> None:
    """Unpack the converter's files from ``sdist`` into ``dest``, which must not exist yet.

    With ``version``, the sdist must be that version's (its top folder says which).
    """
    try:
        tar = tarfile.open(sdist, "r:*")
    except (OSError, tarfile.TarError) as err:
        raise ConverterArchiveError(f"cannot read {sdist}: {err}") from err
    with tar:
        members = tar.getmembers()
        prefix = _vendor_prefix(members, sdist)
        top = prefix.split("/", 1)[0]
        if version is not None and top != f"{DIST_NAME.replace('-', '_')}-{version}":
            raise ConverterArchiveError(f"{sdist} holds {top}, not {DIST_NAME} {version}")
        dest.mkdir(parents=True)
        for member in members:
            relative = _wanted_path(member.name, prefix)
            if relative is None or member.isdir():
                continue
            if not member.isfile():
                # Links could point outside ``dest``; the converter never needs one.
                raise ConverterArchiveError(f"unexpected link or device in {sdist}: {member.name}")
            _copy_member(tar, member, _safe_destination(dest, relative))
    missing = [name for name in REQUIRED if not (dest / name).is_file()]
    if missing:
        raise ConverterArchiveError(f"{sdist} lacks {', '.join(missing)} under {VENDOR_DIR}")


def _vendor_prefix(members: Sequence[tarfile.TarInfo], sdist: Path) -> str:
    suffix = f"/{VENDOR_DIR}/{CONVERT_SCRIPT}"
    for member in members:
        if member.name.endswith(suffix) and member.name.count("/") == suffix.count("/"):
            return member.name[: -len(CONVERT_SCRIPT)]
    raise ConverterArchiveError(f"{sdist} has no {VENDOR_DIR}/{CONVERT_SCRIPT}")


def _wanted_path(name: str, prefix: str) -> PurePosixPath | None:
    if not name.startswith(prefix):
        return None
    relative = name[len(prefix) :]
    if not any(relative == w or (w.endswith("/") and relative.startswith(w)) for w in WANTED):
        return None
    path = PurePosixPath(relative)
    if "__pycache__" in path.parts or path.suffix == ".pyc":
        return None
    return path


def _safe_destination(root: Path, relative: PurePosixPath) -> Path:
    if relative.is_absolute() or ".." in relative.parts:
        raise ConverterArchiveError(f"unsafe path in sdist: {relative}")
    destination = root.joinpath(*relative.parts)
    if not destination.resolve().is_relative_to(root.resolve()):
        raise ConverterArchiveError(f"unsafe path in sdist: {relative}")
    return destination


def _copy_member(tar: tarfile.TarFile, member: tarfile.TarInfo, destination: Path) -> None:
    source = tar.extractfile(member)
    if source is None:
        raise ConverterArchiveError(f"cannot read {member.name} from the sdist")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with source, destination.open("wb") as out:
        shutil.copyfileobj(source, out)


def _move_into_place(staging: Path, target: Path, trash: Path, version: str) -> None:
    if target.exists():
        target.rename(trash)
    try:
        staging.rename(target)
    except OSError:
        # Another process may have put a complete converter there in the meantime.
        if not is_prepared(version):
            raise


def converter_env(version: str | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for running the converter scripts with the sdist's gguf-py first."""
    env = dict(os.environ if base is None else base)
    gguf_py = str(converter_dir(version) / "gguf-py")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (gguf_py, env.get("PYTHONPATH")) if p)
    env.pop("NO_LOCAL_GGUF", None)
    # The converter logs token text; without UTF-8 mode Windows consoles fail on it.
    env["PYTHONUTF8"] = "1"
    return env


def convert_command(
    model_dir: Path | str, outfile: Path | str, outtype: str = "f16", version: str | None = None
) -> list[str]:
    """The argument list that converts a saved Hugging Face model to one GGUF file."""
    _check_outtype(outtype, MODEL_OUTTYPES)
    script = _script(CONVERT_SCRIPT, version)
    return [
        sys.executable,
        str(script),
        str(model_dir),
        "--outtype",
        outtype,
        "--outfile",
        str(outfile),
    ]


def convert_lora_command(
    base_dir: Path | str,
    adapter_dir: Path | str,
    outfile: Path | str,
    outtype: str = "f16",
    version: str | None = None,
) -> list[str]:
    """The argument list that converts a PEFT LoRA adapter to a GGUF adapter file.

    ``--base`` is always passed: without it the script fetches the base config from the hub.
    """
    _check_outtype(outtype, LORA_OUTTYPES)
    script = _script(CONVERT_LORA_SCRIPT, version)
    return [
        sys.executable,
        str(script),
        "--base",
        str(base_dir),
        "--outtype",
        outtype,
        "--outfile",
        str(outfile),
        str(adapter_dir),
    ]


def _check_outtype(outtype: str, allowed: Sequence[str]) -> None:
    if outtype not in allowed:
        raise ValueError(f"outtype must be one of {', '.join(allowed)}, not {outtype!r}")


def _script(name: str, version: str | None) -> Path:
    script = converter_dir(version) / name
    if not script.is_file():
        raise ConverterUnavailableError(
            f"the GGUF converter is not prepared ({script} is missing); "
            "run `python -m studio.registry.converter prepare`"
        )
    return script


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m studio.registry.converter",
        description="Manage llama.cpp's GGUF converter, kept in the cache folder.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser(
        "prepare", help="Download the llama-cpp-python sdist and unpack the converter."
    )
    prepare.add_argument("--version", help="llama-cpp-python version (default: the installed one).")
    prepare.add_argument("--force", action="store_true", help="Unpack again even if present.")
    prepare.add_argument(
        "--sdist", type=Path, help="Use this downloaded sdist instead of running pip download."
    )
    path = commands.add_parser("path", help="Print the converter folder and whether it is ready.")
    path.add_argument("--version", help="llama-cpp-python version (default: the installed one).")
    return parser


def main(args: argparse.Namespace) -> int:
    try:
        if args.command == "prepare":
            folder = prepare_converter(args.version, force=args.force, sdist=args.sdist)
            sys.stdout.write(f"{folder}\n")
            return 0
        ready = is_prepared(args.version)
        sys.stdout.write(f"{converter_dir(args.version)} {'ready' if ready else 'missing'}\n")
        return 0 if ready else 1
    except ConverterError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))

#!/usr/bin/env bash
# Tuning Studio installer for Linux and macOS: one command, each step timed, safe to re-run.
#
#   installers/install.sh              install or upgrade in place
#   installers/install.sh --dry-run    show the hardware, the plan and what would run
#   installers/install.sh --uninstall  remove the environment and the launcher, keep your data
#
# Kept to bash 3.2 (macOS's /bin/bash): no associative arrays, no ${var,,}, no EPOCHREALTIME.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OS="$(uname -s)"
if [ "$OS" = "Darwin" ]; then
  DATA_HOME="$HOME/Library/Application Support"
  CACHE_HOME="$HOME/Library/Caches"
  APPS_DIR="$HOME/Applications"
else
  DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
  CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}"
  APPS_DIR="$DATA_HOME/applications"
fi
PREFIX="$DATA_HOME/tuning-studio"
BIN_DIR="$HOME/.local/bin"
PYTHON="${PYTHON:-}"
DRY_RUN=0 FORCE=0 UNINSTALL=0 PURGE=0
CHILD_PID=""

usage() {
  cat <<EOF
Usage: installers/install.sh [options]

Installs Tuning Studio into its own virtual environment with the torch and llama.cpp builds
that match this machine (NVIDIA CUDA, Apple Metal/MPS or CPU), prepares llama.cpp's GGUF
converter and adds a launcher. Re-running upgrades in place and skips finished steps.

Options:
  --prefix DIR            install folder; the environment goes to DIR/venv
                          (default: $PREFIX)
  --applications-dir DIR  where the launcher goes (default: $APPS_DIR)
  --bin-dir DIR           where the 'tuning-studio' command is linked (default: $BIN_DIR;
                          'none' to skip)
  --python PATH           the Python (3.10+) to build the environment from
  --dry-run               check, detect and print the plan; change nothing
  --force                 redo every step, ignoring what earlier runs left
  --uninstall             remove the environment and the launcher; your data stays
  --purge                 with --uninstall: also delete your data folder and caches
  -h, --help              this help

Environment: TUNING_STUDIO_TORCH_SPEC (default torch==2.13.0), TUNING_STUDIO_TORCH_INDEX_URL
(empty: pip's configured index), TUNING_STUDIO_LLAMA_CMAKE_ARGS, TUNING_STUDIO_MIN_FREE_GB.
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --applications-dir) APPS_DIR="$2"; shift 2 ;;
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    --python) PYTHON="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --force) FORCE=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; UNINSTALL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

VENV="$PREFIX/venv"
VENV_PY="$VENV/bin/python"
STAMPS="$VENV/.install-stamps"
LOG="$PREFIX/install.log"
SHARE="$VENV/share/tuning-studio"
DESKTOP_FILE="$APPS_DIR/tuning-studio.desktop"
MAC_APP="$APPS_DIR/Tuning Studio.app"
LLAMA_PIN="$(grep -o 'llama-cpp-python==[0-9][0-9.]*' "$REPO/pyproject.toml" | head -n 1)"
STEP=0
TOTAL=10
STEP_START=0

# --- output --------------------------------------------------------------------------------
die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }
info() { printf '      %s\n' "$*"; }
duration() {
  local s=$1
  if [ "$s" -lt 1 ]; then echo "<1 s"; elif [ "$s" -lt 60 ]; then echo "$s s"
  else echo "$((s / 60)) min $((s % 60)) s"; fi
}
begin() {
  STEP=$((STEP + 1))
  STEP_START=$SECONDS
  printf '[%d/%d] %s\n' "$STEP" "$TOTAL" "$1"
}
finish() { info "$1 ($(duration $((SECONDS - STEP_START))))"; }

cleanup() { if [ -n "$CHILD_PID" ]; then kill "$CHILD_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs a command in the background and prints a line every 30 s, so a long build or download
# never looks hung (pip prints nothing while it compiles).
run_long() {
  "$@" &
  CHILD_PID=$!
  local waited=0
  while kill -0 "$CHILD_PID" 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
    if [ $((waited % 30)) -eq 0 ]; then info "... still working ($(duration "$waited"))"; fi
  done
  local status=0
  wait "$CHILD_PID" || status=$?
  CHILD_PID=""
  return "$status"
}

# pip with its full output in the log and a short progress view on screen; on failure the
# caller shows the log's tail.
pip_quiet() {
  "$VENV_PY" -m pip "$@" --progress-bar off 2>&1 | tee -a "$LOG" | awk '
    /^(Collecting|Processing|  Downloading|  Building wheel)/ {print "      | " $0; fflush()}
    /^Successfully installed/ {print "      | installed " NF - 2 " packages"; fflush()}'
}

log_tail() { printf '\n--- last lines of %s ---\n' "$LOG" >&2; tail -n 30 "$LOG" >&2 || true; }

# --- stamps: each step writes the key of its inputs; an equal key means nothing to do ------
stamp_ok() { [ "$FORCE" = 0 ] && [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_write() { mkdir -p "$STAMPS"; printf '%s' "$2" > "$STAMPS/$1"; }

source_hash() { "$PY" "$REPO/installers/source_hash.py" "$REPO"; }

# --- checks ----------------------------------------------------------------------------------
python_version() { "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null; }

python_ok() {
  local version
  version="$(python_version "$1")" || return 1
  case "$version" in
    2.*|3.[0-9].*) return 1 ;;
  esac
  return 0
}

python_fix() {
  if [ "$OS" = "Darwin" ]; then echo "brew install python@3.12 (or the installer from python.org)"
  elif command -v apt-get >/dev/null 2>&1; then echo "sudo apt-get install python3.11 python3.11-venv"
  elif command -v dnf >/dev/null 2>&1; then echo "sudo dnf install python3.11"
  else echo "install Python 3.10 or newer with your package manager"; fi
}

# The interpreter itself, not a wrapper such as a pyenv shim that may resolve differently later.
real_python() { "$1" -c 'import sys; print(sys.executable)'; }

find_python() {
  local candidate seen=""
  if [ -n "$PYTHON" ]; then
    command -v "$PYTHON" >/dev/null 2>&1 || die "--python $PYTHON: no such program"
    if python_ok "$PYTHON"; then PY="$(real_python "$PYTHON")"; return; fi
    die "Tuning Studio needs Python 3.10 or newer; $PYTHON is $(python_version "$PYTHON" \
|| echo 'not a working Python'). Install a newer one: $(python_fix)"
  fi
  for candidate in python3.13 python3.12 python3.11 python3.10 python3 python; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    if python_ok "$candidate"; then PY="$(real_python "$candidate")"; return; fi
    seen="$seen $candidate=$(python_version "$candidate" || echo '?')"
  done
  die "Tuning Studio needs Python 3.10 or newer; found:${seen:- none}. Install it: $(python_fix)"
}

check_python() {
  begin "Checking Python"
  find_python
  if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    local minor
    minor="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    die "$PY cannot create virtual environments (no venv/ensurepip module). \
Install it: sudo apt-get install python$minor-venv"
  fi
  finish "Python $(python_version "$PY") at $PY"
}

detect_hardware() {
  begin "Detecting hardware"
  local fields
  fields="$(PYTHONPATH="$REPO" "$PY" -m studio.system.hardware --shell)" || die "hardware detection failed"
  eval "$fields"
  info "$TS_DESCRIPTION"
  info "torch: $TS_TORCH_SPEC ($TS_TORCH_VARIANT build) from ${TS_TORCH_INDEX_URL:-the default index}"
  info "llama.cpp: $TS_LLAMA_BACKEND build, CMAKE_ARGS=\"$TS_LLAMA_CMAKE_ARGS\""
  if [ -n "$TS_NOTES" ]; then printf '%s\n' "$TS_NOTES" | while IFS= read -r line; do
    info "note: $line"; done; fi
  LLAMA_KEY="$LLAMA_PIN $TS_LLAMA_CMAKE_ARGS"
  if ! stamp_ok llama "$LLAMA_KEY"; then
    if [ -n "$TS_TOOLCHAIN_FATAL" ]; then
      die "llama-cpp-python is built from source, and build tools are missing. Install them:
$TS_TOOLCHAIN_FATAL
then run this installer again."
    fi
    if [ -n "$TS_TOOLCHAIN_WARN" ]; then info "note: $TS_TOOLCHAIN_WARN"; fi
  fi
  finish "done"
}

check_disk() {
  begin "Checking free disk space"
  local dir="$PREFIX" need="$TS_MIN_FREE_GB" free_kb
  while [ ! -d "$dir" ]; do dir="$(dirname "$dir")"; done
  # An existing environment is upgraded in place and needs much less.
  if [ -x "$VENV_PY" ] && [ -z "${TUNING_STUDIO_MIN_FREE_GB:-}" ]; then need=1; fi
  free_kb="$(df -Pk "$dir" | awk 'NR == 2 {print $4}')"
  if awk -v f="$free_kb" -v n="$need" 'BEGIN {exit !(f < n * 1048576)}'; then
    die "not enough disk space: $(awk -v f="$free_kb" 'BEGIN {printf "%.1f", f / 1048576}') GiB \
free on the disk holding $dir, $need GiB needed. Free some space, or install elsewhere \
with --prefix DIR."
  fi
  finish "$(awk -v f="$free_kb" 'BEGIN {printf "%.1f", f / 1048576}') GiB free at $dir \
(needs $need GiB)"
}

# --- install steps ---------------------------------------------------------------------------
make_venv() {
  begin "Creating the environment in $VENV"
  local key
  key="$PY $(python_version "$PY")"
  if stamp_ok venv "$key" && [ -x "$VENV_PY" ]; then finish "already there"; return; fi
  if [ "$DRY_RUN" = 1 ]; then finish "would create it"; return; fi
  rm -rf "$VENV"
  mkdir -p "$PREFIX"
  echo "=== $(date) install.sh $(python_version "$PY")" >> "$LOG"
  "$PY" -m venv "$VENV"
  run_long pip_quiet install --upgrade pip || { log_tail; die "could not upgrade pip in $VENV"; }
  stamp_write venv "$key"
  finish "created"
}

installed() { [ -x "$VENV_PY" ] && "$VENV_PY" -c "import importlib.metadata as m; m.version('$1')" \
  >/dev/null 2>&1; }

install_torch() {
  begin "Installing torch ($TS_TORCH_VARIANT)"
  local key="$TS_TORCH_SPEC ${TS_TORCH_INDEX_URL}"
  if stamp_ok torch "$key" && installed torch; then finish "already installed"; return; fi
  if [ "$DRY_RUN" = 1 ]; then finish "would run: pip install $TS_TORCH_SPEC"; return; fi
  local args=(install "$TS_TORCH_SPEC")
  if [ -n "$TS_TORCH_INDEX_URL" ]; then args+=(--index-url "$TS_TORCH_INDEX_URL"); fi
  run_long pip_quiet "${args[@]}" || { log_tail; die "pip could not install $TS_TORCH_SPEC (see above)"; }
  stamp_write torch "$key"
  finish "installed $("$VENV_PY" -c 'import importlib.metadata as m; print(m.version("torch"))')"
}

# Whether the installed llama_cpp can offload to a GPU (a CUDA or Metal build).
llama_gpu() { "$VENV_PY" -c 'import sys, llama_cpp
sys.exit(0 if llama_cpp.llama_supports_gpu_offload() else 1)' >/dev/null 2>&1; }

install_llama() {
  begin "Installing $LLAMA_PIN (llama.cpp for $TS_LLAMA_BACKEND)"
  if stamp_ok llama "$LLAMA_KEY" && installed llama-cpp-python; then
    finish "already built"; return
  fi
  if [ "$DRY_RUN" = 1 ]; then finish "would build it with CMAKE_ARGS=\"$TS_LLAMA_CMAKE_ARGS\""
    return; fi
  info "the first build compiles llama.cpp (5-10 min); pip caches the wheel for later installs"
  export CMAKE_ARGS="$TS_LLAMA_CMAKE_ARGS"
  run_long pip_quiet install "$LLAMA_PIN" \
    || { log_tail; die "building llama-cpp-python failed (see the log above)"; }
  # pip's wheel cache is keyed by version, not by CMAKE_ARGS: a wheel cached by an earlier CPU
  # build would come back here. Build again without the cache when the backend is wrong.
  if [ "$TS_LLAMA_BACKEND" != cpu ] && ! llama_gpu; then
    info "the cached wheel has no $TS_LLAMA_BACKEND support; building it again"
    run_long pip_quiet install --force-reinstall --no-deps \
      --no-cache-dir "$LLAMA_PIN" || { log_tail; die "rebuilding llama-cpp-python failed"; }
  fi
  "$VENV_PY" -c 'import llama_cpp' || die "llama_cpp was installed but cannot be imported"
  stamp_write llama "$LLAMA_KEY"
  finish "installed"
}

install_app() {
  begin "Installing Tuning Studio from $REPO"
  local key stage
  key="$(source_hash)"
  if stamp_ok app "$key" && installed tuning-studio; then finish "already up to date"; return; fi
  if [ "$DRY_RUN" = 1 ]; then finish "would install it"; return; fi
  # Build from a clean copy: an in-tree build would leave build/ and egg-info in the checkout.
  stage="$(mktemp -d)"
  (cd "$REPO" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - pyproject.toml README.md \
    studio backends ui resources) | (cd "$stage" && tar -xf -)
  run_long pip_quiet install --upgrade "$stage" || { rm -rf "$stage"; log_tail
    die "pip could not install the app (see above)"; }
  rm -rf "$stage"
  mkdir -p "$SHARE"
  cp "$REPO/resources/icons/tuning-studio.png" "$REPO/resources/icons/tuning-studio.svg" "$SHARE/"
  stamp_write app "$key"
  finish "installed $("$VENV_PY" -c 'import studio; print(studio.__version__)')"
}

install_extras() {
  # The CUDA extras: bitsandbytes (QLoRA's 4-bit base) and Liger's kernels. LoRA trains without
  # them; pre-flight refuses QLoRA where bitsandbytes is missing, and doctor reports both.
  [ -n "${TS_EXTRA_PACKAGES:-}" ] || return 0
  begin "Installing the CUDA extras: $TS_EXTRA_PACKAGES"
  if stamp_ok extras "$TS_EXTRA_PACKAGES"; then finish "already installed"; return; fi
  if [ "$DRY_RUN" = 1 ]; then finish "would run: pip install $TS_EXTRA_PACKAGES"; return; fi
  # shellcheck disable=SC2086  # a space-separated list of package names
  if run_long pip_quiet install $TS_EXTRA_PACKAGES; then
    stamp_write extras "$TS_EXTRA_PACKAGES"
    finish "installed"
  else
    finish "skipped: pip could not install them; LoRA trains without them, QLoRA cannot"
  fi
}

prepare_converter() {
  begin "Preparing llama.cpp's GGUF converter"
  if [ "$DRY_RUN" = 1 ]; then finish "would run: python -m studio.registry.converter prepare"; return; fi
  if "$VENV_PY" -m studio.registry.converter path >/dev/null 2>&1 && [ "$FORCE" = 0 ]; then
    finish "already prepared"; return
  fi
  local where
  info "downloading the llama-cpp-python sdist (76 MB) to take the converter from"
  where="$("$VENV_PY" -m studio.registry.converter prepare)" \
    || die "could not prepare the converter (see above); GGUF export needs it. Re-run when online."
  finish "ready in $where"
}

write_if_changed() {  # write stdin to $1 unless it already holds exactly that
  local tmp
  tmp="$(mktemp)"
  cat > "$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
  mkdir -p "$(dirname "$1")"
  mv "$tmp" "$1"
  chmod 644 "$1"
}

desktop_quote() {  # Exec values with spaces need double quotes (Desktop Entry spec)
  case "$1" in *" "*) printf '"%s"' "$1" ;; *) printf '%s' "$1" ;; esac
}

linux_launcher() {
  local exe="$VENV/bin/tuning-studio" changed=unchanged
  if sed -e "s|@EXEC@|$(desktop_quote "$exe")|" -e "s|@TRYEXEC@|$exe|" \
      -e "s|@ICON@|$SHARE/tuning-studio.png|" "$REPO/resources/tuning-studio.desktop" \
      | write_if_changed "$DESKTOP_FILE"; then
    changed=written
    if command -v update-desktop-database >/dev/null 2>&1; then
      update-desktop-database "$APPS_DIR" >/dev/null 2>&1 || true
    fi
  fi
  info "menu entry $DESKTOP_FILE ($changed)"
}

mac_launcher() {
  local changed=unchanged
  mkdir -p "$MAC_APP/Contents/MacOS" "$MAC_APP/Contents/Resources"
  if printf '#!/bin/sh\nexec "%s" "$@"\n' "$VENV/bin/tuning-studio" \
      | write_if_changed "$MAC_APP/Contents/MacOS/tuning-studio"; then changed=written; fi
  chmod 755 "$MAC_APP/Contents/MacOS/tuning-studio"
  cp "$REPO/resources/icons/tuning-studio.icns" "$MAC_APP/Contents/Resources/" 2>/dev/null || true
  cat <<EOF | write_if_changed "$MAC_APP/Contents/Info.plist" || true
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
  <key>CFBundleName</key><string>Tuning Studio</string>
  <key>CFBundleIdentifier</key><string>org.tuning-studio.app</string>
  <key>CFBundleExecutable</key><string>tuning-studio</string>
  <key>CFBundleIconFile</key><string>tuning-studio.icns</string>
  <key>CFBundlePackageType</key><string>APPL</string>
  <key>NSHighResolutionCapable</key><true/>
</dict></plist>
EOF
  info "app $MAC_APP ($changed)"
}

add_launcher() {
  begin "Adding the launcher"
  if [ "$DRY_RUN" = 1 ]; then finish "would write it to $APPS_DIR"; return; fi
  if [ "$OS" = "Darwin" ]; then mac_launcher; else linux_launcher; fi
  if [ "$BIN_DIR" != none ]; then
    local link="$BIN_DIR/tuning-studio"
    if [ -e "$link" ] && [ ! -L "$link" ]; then
      info "note: $link exists and is not ours; left alone"
    elif [ "$(readlink "$link" 2>/dev/null)" != "$VENV/bin/tuning-studio" ]; then
      mkdir -p "$BIN_DIR"
      ln -sf "$VENV/bin/tuning-studio" "$link"
      info "command $link (linked)"
    fi
    case ":$PATH:" in *":$BIN_DIR:"*) ;; *) info "note: $BIN_DIR is not on your PATH";; esac
  fi
  finish "done"
}

run_doctor() {
  begin "Checking the installation (tuning-studio doctor)"
  if [ "$DRY_RUN" = 1 ]; then finish "would run it"; return; fi
  local status=0
  "$VENV_PY" -m studio.cli.doctor | sed 's/^/      /' || status=$?
  if [ "$status" = 0 ]; then finish "healthy"; else finish "installed, with the problems above"; fi
}

# --- uninstall -------------------------------------------------------------------------------
uninstall() {
  local data="${TUNING_STUDIO_DATA_DIR:-$DATA_HOME/tuning-studio}"
  local cache="${TUNING_STUDIO_CACHE_DIR:-$CACHE_HOME/tuning-studio}"
  if [ -x "$VENV_PY" ]; then  # ask the app itself where its folders are
    data="$("$VENV_PY" -c 'from studio.paths import default_data_dir as d; print(d())' \
      2>/dev/null || echo "$data")"
    cache="$("$VENV_PY" -c 'from studio.paths import cache_dir as c; print(c())' \
      2>/dev/null || echo "$cache")"
  fi
  echo "Removing Tuning Studio"
  rm -rf "$VENV" && rm -f "$LOG" && echo "  removed $VENV"
  if [ "$OS" = "Darwin" ]; then rm -rf "$MAC_APP"; else rm -f "$DESKTOP_FILE"; fi
  echo "  removed the launcher"
  if [ "$BIN_DIR" != none ] && [ -L "$BIN_DIR/tuning-studio" ]; then
    rm -f "$BIN_DIR/tuning-studio" && echo "  removed $BIN_DIR/tuning-studio"
  fi
  if [ "$PURGE" = 1 ]; then
    rm -rf "$data" "$cache" && echo "  deleted your data ($data) and caches ($cache)"
  else
    echo "  kept your data in $data (delete it with --purge)"
  fi
  rmdir "$PREFIX" 2>/dev/null || true
}

main() {
  if [ "$UNINSTALL" = 1 ]; then uninstall; return; fi
  local started=$SECONDS
  echo "Tuning Studio installer$([ "$DRY_RUN" = 1 ] && echo ' (dry run: nothing is changed)')"
  check_python
  detect_hardware
  check_disk
  make_venv
  install_torch
  install_llama
  install_app
  install_extras
  prepare_converter
  add_launcher
  run_doctor
  echo "Done in $(duration $((SECONDS - started)))."
  if [ "$DRY_RUN" = 0 ]; then
    echo "Start it from your applications menu, or run: $VENV/bin/tuning-studio"
  fi
}

main

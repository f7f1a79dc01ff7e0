# shellcheck shell=bash
# .ci/libtorch.sh: provide libtorch for the `tch` feature of runboard-sdk.
#
# Usage (from anywhere):  source .ci/libtorch.sh && cargo test -p runboard-sdk --features tch
#
# libtorch comes from the PyPI wheel torch==2.13.0 (the version tch 0.26 is built
# for), installed with --no-deps into a virtualenv at $REPO/target/libtorch-venv
# together with the only two CUDA wheels that libtorch_cpu.so needs at load time
# (libcudart.so.13 and libcupti.so.13). None of the other CUDA wheels (cuBLAS, cuDNN,
# NCCL, ...) are installed: that is fine on CPU because rustc links with
# --as-needed, so libtorch_cuda.so is not loaded by our binaries (and CUDA is
# never available with this setup, even on a GPU machine).
#
# Exports:
#   LIBTORCH         the wheel's torch/ folder (has lib/ and include/), read by torch-sys
#   LD_LIBRARY_PATH  prepended with $LIBTORCH/lib and site-packages/nvidia/*/lib
# Unsets LIBTORCH_USE_PYTORCH, LIBTORCH_INCLUDE and LIBTORCH_LIB if set, since
# they would make torch-sys ignore LIBTORCH.
# No LIBTORCH_BYPASS_VERSION_CHECK: the wheel has no build-version file, so
# torch-sys does not check the version; no LIBTORCH_CXX11_ABI: the wheel uses the
# C++11 ABI, which is torch-sys's default.
#
# Knobs: RUNBOARD_PYTHON (interpreter the venv is made from; default python3),
# and pip's own environment, e.g. PIP_FIND_LINKS=/dir/with/wheels to install
# from already-downloaded wheels. Idempotent: a second run only checks versions.
# Touches nothing outside $REPO/target/ except pip's cache. Returns non-zero
# (never exits your shell) on failure.

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    echo "libtorch.sh: source this script (source ${0}), do not execute it" >&2
    exit 2
fi

_runboard_libtorch_setup() {
    local torch_version="2.13.0"
    local cudart_version="13.0.96"
    local cupti_version="13.0.85"

    local script_dir repo venv py site libtorch
    script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)" || return 1
    repo="$(dirname -- "$script_dir")"
    venv="$repo/target/libtorch-venv"
    py="$venv/bin/python"

    if [[ ! -x "$py" ]]; then
        local base_python="${RUNBOARD_PYTHON:-python3}"
        if ! command -v "$base_python" >/dev/null 2>&1; then
            echo "libtorch.sh: $base_python not found (set RUNBOARD_PYTHON)" >&2
            return 1
        fi
        mkdir -p -- "$repo/target" || return 1
        echo "libtorch.sh: creating virtualenv $venv" >&2
        if ! "$base_python" -m venv -- "$venv" >&2; then
            echo "libtorch.sh: '$base_python -m venv' failed (on Debian: apt-get install python3-venv)" >&2
            rm -rf -- "$venv"
            return 1
        fi
    fi

    site="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || return 1
    libtorch="$site/torch"

    # Installed at the right versions (and not half-unpacked)? Then skip pip.
    local check='
import importlib.metadata as m, sys
want = dict(a.split("==") for a in sys.argv[1:])
for name, version in want.items():
    try:
        have = m.version(name)
    except m.PackageNotFoundError:
        sys.exit(1)
    if have != version:
        sys.exit(1)
'
    local reqs=(
        "torch==$torch_version"
        "nvidia-cuda-runtime==$cudart_version"
        "nvidia-cuda-cupti==$cupti_version"
    )
    if ! "$py" -c "$check" "${reqs[@]}" 2>/dev/null \
        || [[ ! -f "$libtorch/lib/libtorch_cpu.so" ]]; then
        echo "libtorch.sh: pip-installing ${reqs[*]} into $venv (torch is ~530 MB)" >&2
        if ! "$py" -m pip install --no-deps --only-binary=:all: --no-input \
            --disable-pip-version-check --progress-bar off "${reqs[@]}" >&2; then
            echo "libtorch.sh: pip install failed" >&2
            return 1
        fi
    fi
    if [[ ! -f "$libtorch/lib/libtorch_cpu.so" || ! -d "$libtorch/include/torch" ]]; then
        echo "libtorch.sh: $libtorch does not look like libtorch (no lib/libtorch_cpu.so or include/torch)" >&2
        return 1
    fi

    # Library dirs to prepend: libtorch's, then every nvidia/*/lib (cu13/lib for CUDA 13 wheels).
    local dirs=("$libtorch/lib") d
    for d in "$site"/nvidia/*/lib; do
        [[ -d "$d" ]] && dirs+=("$d")
    done
    # Prepend without duplicating entries when sourced more than once.
    local new_path="" entry
    for d in "${dirs[@]}"; do
        new_path="${new_path:+$new_path:}$d"
    done
    local old_ifs="$IFS"
    IFS=':'
    for entry in ${LD_LIBRARY_PATH:-}; do
        [[ -z "$entry" || ":$new_path:" == *":$entry:"* ]] && continue
        new_path="$new_path:$entry"
    done
    IFS="$old_ifs"

    export LIBTORCH="$libtorch"
    export LD_LIBRARY_PATH="$new_path"
    local unset_note=""
    local v
    for v in LIBTORCH_USE_PYTORCH LIBTORCH_INCLUDE LIBTORCH_LIB; do
        if [[ -n "${!v+x}" ]]; then
            unset "$v"
            unset_note="$unset_note, unset $v"
        fi
    done
    echo "libtorch.sh: torch $torch_version: LIBTORCH=$LIBTORCH; LD_LIBRARY_PATH+=$(IFS=:; echo "${dirs[*]}")$unset_note"
}

if _runboard_libtorch_setup; then
    unset -f _runboard_libtorch_setup
else
    unset -f _runboard_libtorch_setup
    return 1
fi

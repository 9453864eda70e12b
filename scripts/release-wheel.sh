#!/usr/bin/env bash
# Builds the release wheel into OUTDIR, checks it, and installs it into a fresh venv.
#
#   scripts/release-wheel.sh OUTDIR
#
# The wheel is what users download, so it has to load on older systems than the one
# that builds it:
# - abi3 (cp310-abi3): pyo3's `abi3-py310` feature makes one wheel serve CPython 3.10
#   and later. The script fails if the wheel is tagged otherwise.
# - manylinux_2_17 (manylinux2014), the oldest glibc that Rust's standard library
#   still supports. A plain build on Debian 12 (glibc 2.36) links against symbols of
#   glibc 2.34 and needs it at run time. With `--zig`, maturin links through
#   `zig cc`, which has stub libraries for older glibcs, so no container of an old
#   distribution is needed.
#   The script fails unless `auditwheel show` agrees with the wheel's tag and that
#   tag is manylinux_2_28 or older.
# - `--strip`: `[profile.release]` keeps `debug = 1` so that benchmark profiles have
#   line numbers. The wheel doesn't need them, and they take most of its size, so
#   the wheel is stripped here instead of changing the profile.
# - `--target x86_64-unknown-linux-gnu`: cargo then writes to its own
#   target/x86_64-unknown-linux-gnu/, so this build, linked by zig, doesn't take
#   over target/release/ from the ordinary release builds, or the other way round.
# - `--locked`: the released wheel is built from the committed Cargo.lock.
# - The wheel is built in a temporary directory and only then moved to OUTDIR, so that
#   the checks look at this build's wheel, not at an older one in OUTDIR. Nothing is
#   written elsewhere in the work tree, except the build under target/.
#
# What it installs: `ziglang` (zig, from PyPI) and `auditwheel` into the environment
# of $PYTHON (default python3), only when they are missing (or, for ziglang, of another
# release series than the one this was tested with: zig's releases change the
# command-line interface that maturin drives), and says so. The last check installs
# the wheel, with numpy, into a throwaway venv. maturin has to be on PATH already.
set -euo pipefail

# zig changes incompatibly between 0.x releases; the pattern checks an installed one.
ziglang_spec='ziglang>=0.17,<0.18'
ziglang_pattern='^0\.17\.'
auditwheel_spec='auditwheel>=6,<7'
# The newest glibc the wheel may need: manylinux_2_28 or older is what users can run.
max_glibc_minor=28
compatibility=manylinux_2_17
target=x86_64-unknown-linux-gnu

usage() {
    echo "usage: scripts/release-wheel.sh OUTDIR" >&2
    exit 2
}
[[ $# -eq 1 && -n $1 ]] || usage
mkdir -p "$1"
outdir=$(cd "$1" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
start=$SECONDS

fail() {
    echo "release-wheel: $*" >&2
    exit 1
}

command -v maturin >/dev/null || fail "maturin is not on PATH (pip install maturin)"
# The interpreter that has (or gets) ziglang and auditwheel, resolved to a real path
# because a version manager's shim may put another python3 first on maturin's PATH.
py=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')

need=()
"$py" -m ziglang version 2>/dev/null | grep -Eq "$ziglang_pattern" || need+=("$ziglang_spec")
"$py" -m auditwheel --version >/dev/null 2>&1 || need+=("$auditwheel_spec")
if ((${#need[@]})); then
    echo "release-wheel: installing ${need[*]} into the environment of $py"
    "$py" -m pip install --quiet --disable-pip-version-check "${need[@]}"
fi
# maturin's zig support runs `python3 -m ziglang` from PATH unless told which python.
export CARGO_ZIGBUILD_PYTHON_PATH=$py
echo "maturin: $(maturin --version), zig: $("$py" -m ziglang version)," \
    "auditwheel: $("$py" -m auditwheel --version | head -1)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

maturin build --release --locked --strip --zig --target "$target" \
    --compatibility "$compatibility" --out "$work/wheel"
built=("$work"/wheel/*.whl)
[[ ${#built[@]} -eq 1 && -f ${built[0]} ]] || fail "expected one wheel, found: ${built[*]}"
name=$(basename "${built[0]}")

# The wheel's own tags: name-version-python-abi-platforms.whl.
IFS=- read -r _ _ python_tag abi_tag platforms <<<"${name%.whl}"
[[ $python_tag == cp310 && $abi_tag == abi3 ]] ||
    fail "$name is tagged $python_tag-$abi_tag, not cp310-abi3"

# What the extension really needs, as auditwheel reads it off its symbols.
audit=$("$py" -m auditwheel show "${built[0]}")
echo "$audit"
audit_tag=$(tr '\n' ' ' <<<"$audit" |
    sed -nE 's/.*consistent with the following platform tag: *"([^"]+)".*/\1/p')
[[ $audit_tag =~ ^manylinux_2_([0-9]+)_ ]] ||
    fail "auditwheel gives no manylinux tag for $name (it says: ${audit_tag:-nothing})"
audit_minor=${BASH_REMATCH[1]}
((audit_minor <= max_glibc_minor)) ||
    fail "the extension needs glibc 2.$audit_minor, newer than 2.$max_glibc_minor"

# The oldest glibc the file name claims; it must not promise less than auditwheel found.
claimed_minor=
IFS=. read -ra platform_tags <<<"$platforms"
for tag in "${platform_tags[@]}"; do
    if [[ $tag =~ ^manylinux_2_([0-9]+)_ ]]; then
        minor=${BASH_REMATCH[1]}
        if [[ -z $claimed_minor ]] || ((minor < claimed_minor)); then
            claimed_minor=$minor
        fi
    fi
done
[[ -n $claimed_minor ]] || fail "$name has no manylinux_2_* platform tag"
((claimed_minor <= max_glibc_minor)) ||
    fail "$name is tagged for glibc 2.$claimed_minor, newer than 2.$max_glibc_minor"
((claimed_minor >= audit_minor)) ||
    fail "$name is tagged for glibc 2.$claimed_minor but needs 2.$audit_minor"

# Stripped: no debug sections left in the extension.
"$py" -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
    [z.extract(n, sys.argv[2]) for n in z.namelist() if n.endswith(".so")]' \
    "${built[0]}" "$work/unpacked"
extensions=("$work"/unpacked/vedette/_core*.so)
extension=${extensions[0]}
[[ -f $extension ]] || fail "$name has no vedette/_core*.so"
if command -v readelf >/dev/null && readelf -S "$extension" | grep -q '\.debug_'; then
    fail "the extension in $name still has debug sections"
fi

mv -f "${built[0]}" "$outdir/"
wheel=$outdir/$name
echo "wheel: $wheel ($(stat -c %s "$wheel") bytes)"
echo "extension: ${extension#"$work"/unpacked/} ($(stat -c %s "$extension") bytes, stripped)"

# Last, as a user would: a fresh venv, the wheel (numpy comes from the index), and an
# import from outside the work tree so that only the installed package can answer.
"$py" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel"
(cd "$work/venv" && "$work/venv/bin/python" -c '
import sys, vedette
assert vedette.__file__.startswith(sys.prefix), vedette.__file__
print("installed:", vedette.__file__)
print(vedette.compile(["evil.example"]).find("a.evil.example")[0].kind)')

echo "release-wheel: $wheel, built and checked in $((SECONDS - start)) s"

#!/bin/sh
# Installs modelci from its GitHub release: the binaries (modelci, modelci-service) and the pinned
# ONNX Runtime library they use. No compiler, no Rust, no Python, no sudo.
#
#   curl -fsSL https://raw.githubusercontent.com/modelci/modelci/main/scripts/install.sh | sh
#   sh install.sh [--version X.Y.Z] [--prefix DIR]
#
#   --version X.Y.Z   the release to install (`v` optional); default (or `latest`): the latest
#   --prefix DIR      where to install; default: ~/.local
#                       DIR/bin/modelci, DIR/bin/modelci-service
#                       DIR/onnxruntime/lib/     (modelci finds it there, beside itself)
#                       DIR/share/man/man1/      (man pages, when the release has them)
#                       DIR/share/doc/modelci/   (LICENSE, README.md, CHANGELOG.md)
#
# It downloads the release's SHA256SUMS, picks this platform's archive from it
# (modelci-VERSION-TARGET.tar.gz; Linux x86_64 and aarch64 with glibc 2.28 or newer, macOS arm64),
# downloads the archive and checks its SHA-256 before anything is installed. A file that does not
# match is refused and nothing is installed. It never asks for sudo: a prefix you cannot write to
# is an error (run it as a user who can, or pick another prefix).
#
# MODELCI_INSTALL_BASE_URL replaces https://github.com/modelci/modelci/releases (a mirror, or a
# test server): the files are read from BASE/download/vVERSION/ and, for the latest release,
# BASE/latest/download/.
#
# Exit status: 0 installed; 1 failed (usage, checksum, an unwritable prefix...); 3 there is no
# such release, or none for this platform (the GitHub Action then builds from source).
set -eu

base="${MODELCI_INSTALL_BASE_URL:-https://github.com/modelci/modelci/releases}"
base="${base%/}"
version=""
prefix="${HOME:-}/.local"
prefix_given=""

say() { printf 'modelci install: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}
unavailable() {
  say "error: $*"
  exit 3
}

usage() {
  sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p;}' "$0" 2>/dev/null ||
    echo "usage: install.sh [--version X.Y.Z] [--prefix DIR]"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || die "--version needs a value"; version="$2"; shift 2 ;;
    --version=*) version="${1#--version=}"; shift ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; prefix="$2"; prefix_given=1; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; prefix_given=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument \`$1\` (see --help)" ;;
  esac
done
[ "$version" != latest ] || version=""
version="${version#v}"
case "$version" in
  "" | [0-9]*.[0-9]*.[0-9]*) ;;
  *) die "\`$version\` is not a version (X.Y.Z)" ;;
esac
[ -n "$prefix" ] || die "no prefix: HOME is not set; pass --prefix DIR"
[ -n "$prefix_given" ] || [ -n "${HOME:-}" ] || die "HOME is not set; pass --prefix DIR"

# --- Platform
os="$(uname -s)"
arch="$(uname -m)"
case "$arch" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
esac
case "$os/$arch" in
  Linux/x86_64 | Linux/aarch64)
    target="$arch-unknown-linux-gnu"
    # The binaries need glibc 2.28 or newer (musl systems such as Alpine have none).
    glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc //p')"
    [ -n "$glibc" ] || unavailable "the release binaries need glibc 2.28 or newer, and this system has no glibc (musl?); build from source: cargo install modelci"
    major="${glibc%%.*}"
    minor="${glibc#*.}"
    minor="${minor%%.*}"
    if [ "$major" -lt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -lt 28 ]; }; then
      unavailable "the release binaries need glibc 2.28 or newer; this system has $glibc (build from source: cargo install modelci)"
    fi
    ;;
  Darwin/aarch64) target=aarch64-apple-darwin ;;
  *) unavailable "no release binaries for $os $arch; build from source: cargo install modelci" ;;
esac

# --- Tools
if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --retry 3 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1"; }
else
  die "neither curl nor wget is installed"
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256_of() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256_of() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
elif command -v openssl >/dev/null 2>&1; then
  sha256_of() { openssl dgst -sha256 "$1" | sed 's/^.*= *//'; }
else
  die "no SHA-256 tool (sha256sum, shasum or openssl) to verify the download"
fi
command -v tar >/dev/null 2>&1 || die "tar is not installed"

work="$(mktemp -d 2>/dev/null || mktemp -d -t modelci)"
trap 'rm -rf "$work"' EXIT INT TERM

# --- Which archive, and its checksum
if [ -n "$version" ]; then
  dir="$base/download/v$version"
  what="modelci $version"
else
  dir="$base/latest/download"
  what="the latest modelci"
fi
fetch "$dir/SHA256SUMS" "$work/SHA256SUMS" ||
  unavailable "cannot download $dir/SHA256SUMS: is there a release of $what?"
line="$(grep -E "^[0-9a-fA-F]{64}  modelci-[0-9][^ /]*-$target\.tar\.gz\$" "$work/SHA256SUMS" | head -n 1 || true)"
[ -n "$line" ] || unavailable "$what has no archive for $target (see $dir/SHA256SUMS)"
expected="$(printf '%s\n' "$line" | cut -d ' ' -f 1 | tr 'A-F' 'a-f')"
archive="$(printf '%s\n' "$line" | cut -d ' ' -f 3)"
name="${archive%.tar.gz}"
got_version="${name#modelci-}"
got_version="${got_version%-"$target"}"
if [ -n "$version" ] && [ "$got_version" != "$version" ]; then
  die "$dir/SHA256SUMS lists $archive, not version $version"
fi

say "downloading $dir/$archive"
fetch "$dir/$archive" "$work/$archive" || die "cannot download $dir/$archive"
actual="$(sha256_of "$work/$archive")"
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $archive: SHA256SUMS says $expected, the download is $actual; nothing was installed"
fi
say "verified SHA-256 $actual"

mkdir "$work/x"
tar -xzf "$work/$archive" -C "$work/x" || die "cannot unpack $archive"
src="$work/x/$name"
for f in modelci modelci-service; do
  [ -f "$src/$f" ] || die "$archive has no $name/$f"
done
ls "$src"/onnxruntime/lib/libonnxruntime* >/dev/null 2>&1 || die "$archive has no ONNX Runtime library"

# --- Install (no sudo: the prefix must be writable by whoever runs this)
mkdir -p "$prefix/bin" 2>/dev/null || die "cannot create $prefix/bin (choose another --prefix; this script never uses sudo)"
[ -w "$prefix/bin" ] || die "cannot write to $prefix/bin (choose another --prefix; this script never uses sudo)"
prefix="$(cd "$prefix" && pwd)"
for f in modelci modelci-service; do
  # Beside the old one, then renamed over it: a running modelci keeps its file.
  cp "$src/$f" "$prefix/bin/.$f.new"
  chmod 755 "$prefix/bin/.$f.new"
  mv -f "$prefix/bin/.$f.new" "$prefix/bin/$f"
done
mkdir -p "$prefix/onnxruntime/lib"
# An earlier release's library would be found too: only this release's stays.
rm -f "$prefix"/onnxruntime/lib/libonnxruntime*
cp "$src"/onnxruntime/lib/* "$prefix/onnxruntime/lib/"
for f in LICENSE ThirdPartyNotices.txt VERSION; do
  if [ -f "$src/onnxruntime/$f" ]; then cp "$src/onnxruntime/$f" "$prefix/onnxruntime/"; fi
done
man=""
if [ -d "$src/man" ]; then
  # Each page into the folder of its section (modelci.1 -> share/man/man1/).
  find "$src/man" -type f -name '*.[1-9]*' | while IFS= read -r page; do
    section="${page##*.}"
    section="${section%"${section#?}"}"
    mkdir -p "$prefix/share/man/man$section"
    cp "$page" "$prefix/share/man/man$section/"
  done
  man=1
fi
mkdir -p "$prefix/share/doc/modelci"
for f in LICENSE README.md CHANGELOG.md; do
  if [ -f "$src/$f" ]; then cp "$src/$f" "$prefix/share/doc/modelci/"; fi
done

say "installed modelci $got_version ($target) into $prefix:"
say "  $prefix/bin/modelci"
say "  $prefix/bin/modelci-service"
say "  $prefix/onnxruntime/lib/ (ONNX Runtime, found by modelci beside itself)"
[ -z "$man" ] || say "  $prefix/share/man/ (man pages)"
say "  $prefix/share/doc/modelci/"
"$prefix/bin/modelci" --version >&2 || die "the installed modelci does not run"
case ":${PATH:-}:" in
  *":$prefix/bin:"*) ;;
  *) say "note: $prefix/bin is not on PATH; add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" ;;
esac

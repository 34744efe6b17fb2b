#!/usr/bin/env bash
# Builds the `conductor` executable and lays it out in OUT_DIR, ready to copy into an image. The Dockerfile's
# build step runs this script, and so do the tests (Tests/e2e/test_deploy.py, with CONFIGURATION=debug), so the
# path that makes the image is exercised where no container engine runs.
#
#   scripts/build-release.sh OUT_DIR                      # swift build -c release --product conductor
#   CONFIGURATION=debug scripts/build-release.sh OUT_DIR  # the same from a debug build (cheap when it is built)
#
# OUT_DIR receives:
#   conductor                the executable
#   lib*.so                  the Swift runtime libraries it links (Foundation, Dispatch, ...), found beside it
#                            through the $ORIGIN in its RUNPATH: the image needs no Swift toolchain
#   swift-backtrace-static   the runtime's crash backtracer, when the toolchain has it
# Then it checks the result: every library resolves (the Swift ones from OUT_DIR), libcurl is built with HTTP/2
# (nghttp2: the Kubernetes client multiplexes every request and watch on one HTTP/2 connection), and
# `conductor --help` runs.
set -euo pipefail

usage="usage: [CONFIGURATION=release|debug] scripts/build-release.sh OUT_DIR"
[[ $# -eq 1 ]] || { echo "$usage" >&2; exit 2; }
configuration=${CONFIGURATION:-release}
case $configuration in
  release|debug) ;;
  *) echo "CONFIGURATION must be release or debug, not '$configuration'" >&2; exit 2 ;;
esac
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."

fail() { echo "build-release: $*" >&2; exit 1; }

swift build -c "$configuration" --product conductor
bin_dir=$(swift build -c "$configuration" --show-bin-path)
[[ -x $bin_dir/conductor ]] || fail "no executable at $bin_dir/conductor"

# The toolchain's runtime folder: where libswiftCore.so resolves for the freshly built executable.
swift_core=$(ldd "$bin_dir/conductor" | awk '$1 == "libswiftCore.so" { print $3 }')
[[ -n $swift_core && -f $swift_core ]] || fail "conductor does not link libswiftCore.so from a toolchain"
swift_lib_dir=$(dirname "$(readlink -f "$swift_core")")

rm -f "$out"/conductor "$out"/lib*.so "$out"/swift-backtrace-static
install -m 0755 "$bin_dir/conductor" "$out/conductor"
# Every library of the executable's closure (ldd lists it whole) that comes from the toolchain.
ldd "$bin_dir/conductor" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
  if [[ $(dirname "$(readlink -f "$lib")") == "$swift_lib_dir" ]]; then
    install -m 0644 "$(readlink -f "$lib")" "$out/$(basename "$lib")"
  fi
done
backtracer=$swift_lib_dir/../../../libexec/swift/linux/swift-backtrace-static
if [[ -x $backtracer ]]; then
  install -m 0755 "$backtracer" "$out/swift-backtrace-static"
fi

# Checks. LD_LIBRARY_PATH is searched before the RUNPATH, which still names the toolchain: with it set to
# OUT_DIR, a Swift library missing there would resolve to the toolchain and be caught below.
links=$(LD_LIBRARY_PATH=$out ldd "$out/conductor")
if grep -q "not found" <<<"$links"; then
  fail "unresolved libraries:"$'\n'"$(grep "not found" <<<"$links")"
fi
strays=$(awk '$2 == "=>" && ($1 ~ /^libswift|^libFoundation|^lib_Foundation|^libdispatch|^libBlocksRuntime/) { print }' <<<"$links" \
  | grep -v -F "=> $out/" || true)
[[ -z $strays ]] || fail "Swift runtime libraries not taken from $out:"$'\n'"$strays"
libcurl=$(awk '$1 ~ /^libcurl\.so/ { print $3 }' <<<"$links")
[[ -n $libcurl ]] || fail "conductor does not link libcurl"
curl_links=$(ldd "$libcurl")
grep -q "libnghttp2" <<<"$curl_links" || fail "$libcurl is built without HTTP/2 (it does not link libnghttp2)"
if command -v curl-config >/dev/null; then
  # Read whole first: `grep -q` leaves at its first match, and curl-config, still writing, would then die of
  # SIGPIPE, failing the pipeline under pipefail.
  features=$(curl-config --features)
  grep -qx "HTTP2" <<<"$features" || fail "curl-config --features lacks HTTP2"
fi
LD_LIBRARY_PATH=$out "$out/conductor" --help >/dev/null || fail "$out/conductor --help failed"

echo "build-release: $configuration conductor and $(find "$out" -maxdepth 1 -name 'lib*.so' | wc -l) Swift runtime libraries in $out (libcurl with HTTP/2: $libcurl)"

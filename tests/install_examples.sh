#!/usr/bin/env bash
# Installs the built qdml into a temporary prefix, then builds examples/ against it twice:
# through the CMake package (find_package(qdml), shared and static) and through pkg-config.
# Runs each example; they check their own numbers against closed forms and exit non-zero if off.
set -euo pipefail
src="$1"
bin="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cmake --install "$bin" --prefix "$tmp/prefix" >/dev/null
libdir="$(ls -d "$tmp"/prefix/lib*/ | head -1)"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cmake -S "$src/examples" -B "$tmp/examples" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/examples" -j 2 >/dev/null
"$tmp/examples/harmonic"
"$tmp/examples/harmonic_static"
"$tmp/examples/free_packet"
"$tmp/examples/walkers"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 "$src/examples/harmonic.c" $(pkg-config --cflags --libs qdml) -lm -o "$tmp/harmonic_pc"
"$tmp/harmonic_pc"
echo "examples built and ran against the installed package (CMake and pkg-config)"

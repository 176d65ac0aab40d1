#!/usr/bin/env bash
# scripts/plot-history on the history CSV that `qdml ground --history` writes: a valid PNG comes out
# (signature, IHDR, every chunk's CRC, the image data inflating to the size IHDR implies), --help
# works, and a missing or malformed CSV fails with exit 2, a message and no picture.
# Usage: plot_history.sh SOURCE_DIR QDML_PROGRAM
set -euo pipefail
src="$1"
qdml="$2"
plot="$src/scripts/plot-history"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The script runs with the distribution's python3, which has matplotlib (scripts/setup installs it).
py="$(head -1 "$plot" | sed 's/^#!//')"
if ! "$py" -c 'import matplotlib' 2>/dev/null; then
    echo "plot_history: $py cannot import matplotlib (scripts/setup installs python3-matplotlib)" >&2
    exit 1
fi

# Two members: harmonic wells 0.5 w^2 x^2 with w = 1 and 2, 64 points on [-8, 8), as .npy 1.0 '<f8'.
"$py" - "$tmp/V.npy" <<'PY'
import struct, sys
n, batch = 64, 2
header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % (batch, n)
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    for w in (1.0, 2.0):
        for j in range(n):
            x = -8.0 + 16.0 * j / n
            f.write(struct.pack("<d", 0.5 * w * w * x * x))
PY
"$qdml" ground --potential "$tmp/V.npy" --batch --box=-8:8 --threads 1 --backend cpu --history "$tmp/h.csv" >/dev/null
"$plot" "$tmp/h.csv" >"$tmp/out.txt"
grep -q "2 member(s)" "$tmp/out.txt" || { echo "plot_history: unexpected output: $(cat "$tmp/out.txt")" >&2; exit 1; }
"$plot" "$tmp/h.csv" --out "$tmp/by-time.png" --x time --title "two wells" >/dev/null

"$py" - "$tmp/h.png" "$tmp/by-time.png" <<'PY'
import struct, sys, zlib
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: no PNG signature"
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"{path}: bad CRC in chunk {kind}"
        chunks.append(kind)
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND", f"{path}: chunks {chunks}"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    assert depth == 8 and width >= 400 and height >= 300, f"{path}: {width} x {height}, depth {depth}"
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + width * channels), f"{path}: {len(raw)} bytes of image data"
    print(f"{path}: valid PNG, {width} x {height}")
PY

"$plot" --help | grep -q "usage: plot-history"

expect_fail() { # expected message, then the script's arguments
    local needle="$1"
    shift
    local status=0
    "$plot" "$@" >/dev/null 2>"$tmp/err" || status=$?
    if [[ $status -ne 2 ]] || ! grep -qF "$needle" "$tmp/err"; then
        echo "plot_history: '$*' gave exit $status, expected 2 with '$needle'; stderr: $(cat "$tmp/err")" >&2
        exit 1
    fi
}
expect_fail "cannot read $tmp/missing.csv" "$tmp/missing.csv"
printf 'hello,world\n1,2\n' >"$tmp/other.csv"
expect_fail "not a qdml history: missing column(s) member, step, time, energy, residual" "$tmp/other.csv"
head -1 "$tmp/h.csv" >"$tmp/bad.csv"
sed -n 2p "$tmp/h.csv" | sed 's/^0,[^,]*,/0,abc,/' >>"$tmp/bad.csv"
expect_fail "line 2, column 'step': cannot parse 'abc'" "$tmp/bad.csv"
head -2 "$tmp/h.csv" >"$tmp/short.csv"
echo "0,1,2" >>"$tmp/short.csv"
expect_fail "line 3: 3 fields" "$tmp/short.csv"
head -1 "$tmp/h.csv" >"$tmp/empty.csv"
expect_fail "no rows after the header" "$tmp/empty.csv"
: >"$tmp/zero.csv"
expect_fail "empty file" "$tmp/zero.csv"
for f in other bad short empty zero missing; do
    if [[ -e "$tmp/$f.png" ]]; then
        echo "plot_history: a picture was written for the failing $f.csv" >&2
        exit 1
    fi
done
echo "plot-history: pictures valid, errors reported"

/* --out FILE.h5 from each subcommand (ground, ground --states, evolve, minimize), read back with h5py
 * as a user would (/usr/bin/python3): the datasets' shapes and types, density = |psi|^2, the norm
 * sum |psi|^2 dV = 1 of a ground state, the axes' grid points, and the attributes against what the
 * program printed (energies from its JSON, the box, hbar). A build without HDF5 refuses .h5 with a
 * message (exit 2), checked wherever that is the build; the reading tests skip where h5py is missing.
 *
 * Backend: the program's default (auto: the CPU here): what is tested is the file. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli_support.h"
#include "io_hdf5.h"
#include "support.h"

/* Runs python3 with h5py on `code` (argv[1] = path, argv[2] = expected); returns its exit status,
 * 77 where h5py is missing. */
static int h5py_check(const char *dir, const char *code, const char *path, const char *expected) {
    if (system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") != 0) return 77;
    char *script = qt_path(dir, "check.py");
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f);
    fputs(code, f);
    fclose(f);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s' 2>&1", script, path, expected);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char buf[4096];
    size_t got = fread(buf, 1, sizeof buf - 1, p);
    buf[got] = '\0';
    const int st = pclose(p);
    free(script);
    const int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    if (rc != 0) cr_log_error("h5py check of %s: %s", path, buf);
    return rc;
}

/* The common checks: every dataset there, density = |psi|^2, norm 1 per member (ground states), the axes, the
 * attributes; argv[2] is "energies;lo;hi;n;normalised" as text. */
static const char check_py[] =
    "import sys, h5py, numpy as np\n"
    "f = h5py.File(sys.argv[1], 'r')\n"
    "want = sys.argv[2].split(';')\n"
    "energies = [float(x) for x in want[0].split(',')]\n"
    "lo, hi, n, normalised = float(want[1]), float(want[2]), int(want[3]), want[4] == '1'\n"
    "psi, dens, pot = f['psi'][()], f['density'][()], f['potential'][()]\n"
    "assert psi.dtype == np.complex128, psi.dtype\n"
    "assert psi.shape == dens.shape == pot.shape, (psi.shape, dens.shape, pot.shape)\n"
    "assert np.allclose(dens, np.abs(psi) ** 2, rtol=1e-14, atol=0), 'density is not |psi|^2'\n"
    "dim = int(f.attrs['dim'])\n"
    "assert list(f.attrs['n']) == [n] * dim, f.attrs['n']\n"
    "for d, name in enumerate('xyz'[:dim]):\n"
    "    x = f[name][()]\n"
    "    assert np.allclose(x, lo + np.arange(n) * (hi - lo) / n, rtol=0, atol=1e-12), name\n"
    "    assert f.attrs['box_lo'][d] == lo and f.attrs['box_hi'][d] == hi\n"
    "e = np.atleast_1d(f.attrs['energy'])\n"
    "assert len(e) == len(energies) and np.allclose(e, energies, rtol=1e-9, atol=1e-12), (e, energies)\n"
    "if normalised:\n"
    "    norms = dens.reshape(len(energies), -1).sum(axis=1) * float(f.attrs['dV'])\n"
    "    assert np.allclose(norms, 1.0, atol=1e-10), norms\n"
    "assert f.attrs['program'].startswith('qdml '), f.attrs['program']\n"
    "assert np.all(np.atleast_1d(f.attrs['hbar']) == 1.0)\n";

static void check(const char *dir, const char *path, const double *e, int ne, double lo, double hi, int n,
                  int normalised) {
    char want[1024];
    int k = 0;
    for (int i = 0; i < ne; ++i)
        k += snprintf(want + k, sizeof want - (size_t)k, "%s%.17g", i ? "," : "", e[i]);
    snprintf(want + k, sizeof want - (size_t)k, ";%.17g;%.17g;%d;%d", lo, hi, n, normalised);
    const int rc = h5py_check(dir, check_py, path, want);
    if (rc == 77) cr_skip_test("python3 has no h5py: the file is not read back");
    cr_assert_eq(rc, 0, "h5py found %s wrong (see the log)", path);
}

Test(cli_hdf5, every_subcommand_writes_a_file_h5py_reads) {
    if (!qdml_h5_available()) cr_skip_test("this build has no HDF5 (refused_without_hdf5 checks the message)");
    char *dir = qt_tmpdir("clih5");
    char *g = qt_path(dir, "ground.h5"), *s = qt_path(dir, "states.h5"), *e = qt_path(dir, "evolve.hdf5");
    char *m = qt_path(dir, "minimize.h5"), *psi0 = NULL;
    /* ground: one member, energy from the JSON */
    cli_result r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "2", "--n", "32", "--box", "-6:6", "--tol",
                       "1e-9", "--out", g, "--json");
    expect_ok(&r);
    double en = json_num(r.out, "energy", 0);
    cli_free(&r);
    check(dir, g, &en, 1, -6, 6, 32, 1);
    /* ground --states 3: a batch axis, three energies */
    r = RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "64", "--box", "-8:8", "--states", "3",
            "--out", s, "--json");
    expect_ok(&r);
    double es[3];
    cr_assert_eq(json_array(r.out, "energies", es, 3), 3);
    cli_free(&r);
    check(dir, s, es, 3, -8, 8, 64, 1);
    /* evolve (real time from a Gaussian: not an eigenstate, norm 1 kept) */
    double p0[2 * 64];
    for (int j = 0; j < 64; ++j) {
        const double x = -8.0 + j * 16.0 / 64.0;
        p0[2 * j] = pow(2.0 * 3.14159265358979323846, -0.25) * exp(-0.25 * (x - 1.0) * (x - 1.0));
        p0[2 * j + 1] = 0.0;
    }
    const int64_t shape[1] = {64};
    psi0 = write_c128(dir, "psi0.npy", 1, shape, p0);
    r = RUN(dir, "evolve", "--objective", "harmonic", "--dim", "1", "--n", "64", "--box", "-8:8", "--psi0", psi0,
            "--mode", "real", "--time", "1", "--dt", "0.01", "--out", e, "--json");
    expect_ok(&r);
    en = json_num(r.out, "energy", 0);
    cli_free(&r);
    check(dir, e, &en, 1, -8, 8, 64, 1);
    /* minimize: the last stage's state */
    r = RUN(dir, "minimize", "--objective", "harmonic", "--dim", "1", "--n", "64", "--box", "-8:8", "--stages", "2",
            "--out", m, "--json");
    expect_ok(&r);
    cli_free(&r);
    FILE *f = fopen(m, "rb");
    cr_assert_not_null(f, "minimize wrote no %s", m);
    unsigned char sig[8];
    cr_assert_eq(fread(sig, 1, 8, f), 8);
    fclose(f);
    cr_assert(memcmp(sig, "\x89HDF\r\n\x1a\n", 8) == 0, "%s is not an HDF5 file", m);
    free(g);
    free(s);
    free(e);
    free(m);
    free(psi0);
    qt_rm_rf(dir);
    free(dir);
}

Test(cli_hdf5, refused_without_hdf5_before_anything_runs) {
    if (qdml_h5_available()) cr_skip_test("this build writes HDF5 (every_subcommand_writes_a_file_h5py_reads)");
    char *dir = qt_tmpdir("clih5");
    char *g = qt_path(dir, "ground.h5");
    expect_fail(RUN(dir, "ground", "--objective", "harmonic", "--dim", "1", "--n", "32", "--out", g), 2,
                "this build of qdml writes no HDF5");
    free(g);
    qt_rm_rf(dir);
    free(dir);
}

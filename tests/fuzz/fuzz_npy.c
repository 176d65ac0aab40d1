/* libFuzzer target for the .npy reader (host/io_npy.c): any byte string, written to a file and
 * read back, must give either an array whose size matches its shape or an error message, and
 * never a crash, a leak or undefined behaviour. Built and run by scripts/sanitize:
 *   clang -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_npy.c host/io_npy.c host/status.c
 *       host/atomic_file.c
 * Inputs that ever crashed it are kept in tests/fuzz/npy-regressions/ and replayed by
 * test_npy (fuzz_regressions_are_rejected_cleanly) in every build. */
#include "io_npy.h"
#include "status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/qdml-fuzz-npy-%ld.npy", base && *base ? base : "/tmp", (long)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    qdml_npy_array a;
    qdml_clear_error(NULL);
    if (qdml_npy_read(path, &a) == QDML_OK) {
        /* Accepted: the shape, count and data agree, and every element can be read. */
        int64_t count = 1;
        for (int d = 0; d < a.ndim; ++d)
            count *= a.shape[d];
        if (count != a.count || (count > 0 && !a.data)) abort();
        const int64_t nd = a.dtype == QDML_NPY_C128 ? 2 * a.count : a.count;
        volatile double sink = 0;
        for (int64_t i = 0; i < nd; ++i)
            sink += a.data[i];
        (void)sink;
        qdml_npy_free(&a);
    } else if (!qdml_last_error_message()[0]) {
        abort(); /* a refusal always says why */
    }
    return 0;
}

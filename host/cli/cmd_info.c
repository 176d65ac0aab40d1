/* `qdml info`: the version, the backends compiled into this build and the devices they see. */
#include "args.h"
#include "commands.h"
#include "mpi_launch.h"

#include <stdio.h>

static const char info_help[] =
    "Usage: qdml info\n"
    "\n"
    "Prints the library version, the backends compiled into this build and the devices they see.\n";

int cli_cmd_info(int argc, char **argv) {
    const char *cmd = "info";
    int help = 0;
    if (cli_parse(cmd, argc, argv, NULL, 0, &help) != CLI_OK) return CLI_USAGE;
    if (help) {
        fputs(info_help, stdout);
        return CLI_OK;
    }
    int cpu = qdml_backend_available(QDML_BACKEND_CPU);
    int cuda = qdml_backend_available(QDML_BACKEND_CUDA);
    printf("qdml %s\n", qdml_version_string());
    printf("backends:\n");
    printf("  cpu   %s\n", cpu ? "available (FFTW + OpenMP, float64)" : "not available");
    char why[512];
    if (cuda)
        printf("  cuda  available (cuFFT, float64 and float32)\n");
    else if (qdml_backend_unavailable_reason(QDML_BACKEND_CUDA, why, sizeof why) == 1)
        printf("  cuda  not available: %s\n", why);
    else
        printf("  cuda  not available\n");
    printf("devices:\n");
    if (cpu) {
        qdml_context *ctx = NULL;
        if (qdml_context_create(&ctx, QDML_BACKEND_CPU, 0) == QDML_OK) {
            printf("  cpu: %d threads\n", qdml_context_threads(ctx));
            qdml_context_destroy(ctx);
        } else {
            printf("  cpu: cannot create a context: %s\n", qdml_last_error_message());
        }
    }
    const int ndev = qdml_device_count();
    for (int i = 0; i < ndev; ++i) {
        char name[256];
        size_t bytes = 0;
        if (qdml_device_info(i, name, sizeof name, &bytes) == QDML_OK)
            printf("  cuda %d: %s, %.1f GiB\n", i, name, (double)bytes / (1024.0 * 1024.0 * 1024.0));
        else
            printf("  cuda %d: %s\n", i, qdml_last_error_message());
    }
    if (!cuda || ndev == 0) printf("  no CUDA devices\n");
    cli_mpi_describe(cuda && ndev > 0);
    return CLI_OK;
}

/* `qdml demo [NAME]`: runnable demonstrations, each checked against a closed form. This file holds
 * the dispatcher: the list of demos, the options and the output folder. The demos are in
 * demo_double_well.c (the default), demo_softmax.c (softmax and sigmoid), demo_diffusion.c and
 * demo_taylor.c; the helpers they share in demo_shared.c. */
#include "demo.h"
#include "commands.h"
#include "outputs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char demo_help[] =
    "Usage: qdml demo [NAME] [--out DIR] [--threads N] [--backend cpu|cuda|auto]\n"
    "       qdml demo --list\n"
    "\n"
    "Runs one demonstration (default: double-well), prints how its numbers compare with the closed\n"
    "form, and writes its results into DIR (default qdml-demo-out for double-well, qdml-demo-out/NAME\n"
    "for the others; created if needed; every file the demo writes there is checked before it runs,\n"
    "as qdml ground checks its outputs). Exit status 1 when a comparison misses its stated bound.\n"
    "'qdml demo --list' names the demos; 'qdml demo NAME --help' describes one.\n"
    "\n"
    "  --out DIR          output folder\n"
    "  --threads N        CPU threads (default: all cores)\n"
    "  --backend B        cpu, cuda or auto (default auto)\n"
    "  --list             list the demos, one line each\n"
    "  -h, --help         this text\n";

static int ensure_dir(const char *dir) {
    if (mkdir(dir, 0777) == 0) return CLI_OK;
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return CLI_OK;
    if (e == EEXIST)
        cli_error("demo", "--out %s: exists and is not a directory", dir);
    else
        cli_error("demo", "--out %s: cannot create the directory: %s", dir, strerror(e));
    return CLI_USAGE;
}

typedef struct demo_entry {
    const char *name;
    const char *line; /* what --list prints */
    const char *help;
    int (*run)(const demo_env *env);
    const char *const *files; /* the files it writes into --out (NULL-terminated; demo_shared.c refuses others) */
} demo_entry;

/* The files each demo writes, checked before it computes anything. */
static const char *const double_well_files[] = {
    "potential.npy",          "ground_psi.npy",         "ground_density.npy",
    "ground_density.png",     "ground_history.csv",     "real_density_snapshots.npy",
    "real_density_final.npy", "real_density_final.png", "real_psi_final.npy",
    "real_history.csv",       "summary.json",           NULL};
static const char *const softmax_files[] = {"energies.npy", "probabilities.npy", "softmax.npy", "born.npy",
                                            "softmax.csv",  "summary.json",      NULL};
static const char *const sigmoid_files[] = {"energies.npy", "p1.npy",       "sigmoid.npy",
                                            "sigmoid.csv",  "summary.json", NULL};
static const char *const diffusion_files[] = {"densities.npy", "samples.npy",   "density_0.png", "density_1.png",
                                              "density_2.png", "density_3.png", "samples_1.png", "samples_2.png",
                                              "samples_3.png", "diffusion.csv", "summary.json",  NULL};
static const char *const taylor_files[] = {"potential.npy",  "psi_snapshots.npy", "path.png", "final.png",
                                           "trajectory.csv", "summary.json",      NULL};

static const demo_entry demos[] = {
    {"double-well",
     "(default) imaginary time finds the global minimum of a tilted 2D double well; a free packet disperses",
     demo_double_well_help, demo_double_well, double_well_files},
    {"softmax", "imaginary time with no diffusion on K cells is softmax(-tau E / hbar), at five temperatures",
     demo_softmax_help, demo_softmax, softmax_files},
    {"sigmoid", "two cells: the weight of the second is sigmoid(-tau (E1 - E0) / hbar)", demo_sigmoid_help,
     demo_sigmoid, sigmoid_files},
    {"diffusion", "free imaginary time of a 2D density is adding Gaussian noise: chi^2 against seeded samples",
     demo_diffusion_help, demo_diffusion, diffusion_files},
    {"taylor", "a linear objective (first-order Taylor): a Gaussian packet slides downhill as the closed form says",
     demo_taylor_help, demo_taylor, taylor_files},
};
enum { NDEMOS = sizeof demos / sizeof demos[0] };

static void print_demo_list(FILE *f) {
    for (int i = 0; i < NDEMOS; ++i)
        fprintf(f, "  %-12s %s\n", demos[i].name, demos[i].line);
}

int cli_demo(int argc, char **argv) {
    const char *cmd = "demo";
    /* `qdml demo NAME [options]`: the name comes first; without one, the default demo. */
    const char *name = NULL;
    if (argc >= 2 && argv[1][0] != '-') {
        name = argv[1];
        --argc;
        ++argv;
    }
    cli_opt opts[] = {{"out", 1, NULL}, {"threads", 1, NULL}, {"backend", 1, NULL}, {"list", 0, NULL}};
    const size_t nopts = sizeof opts / sizeof opts[0];
    int help = 0;
    if (cli_parse(cmd, argc, argv, opts, nopts, &help) != CLI_OK) return CLI_USAGE;
    if (!help && cli_value(opts, nopts, "list")) {
        print_demo_list(stdout);
        return CLI_OK;
    }
    const demo_entry *demo = &demos[0];
    if (name) {
        demo = NULL;
        for (int i = 0; i < NDEMOS; ++i)
            if (strcmp(demos[i].name, name) == 0) demo = &demos[i];
        if (!demo) {
            cli_error(cmd, "unknown demo '%s'; the demos are:", name);
            print_demo_list(stderr);
            return CLI_USAGE;
        }
    }
    if (help) {
        fputs(name ? demo->help : demo_help, stdout);
        if (!name) {
            fputs("\nDemos:\n", stdout);
            print_demo_list(stdout);
            fputs("\n", stdout);
            fputs(demo_double_well_help, stdout);
        }
        return CLI_OK;
    }
    const char *dir = cli_value(opts, nopts, "out");
    char default_dir[64];
    if (!dir) {
        /* double-well keeps the folder it always had; the others get a subfolder each. */
        if (demo == &demos[0])
            snprintf(default_dir, sizeof default_dir, "qdml-demo-out");
        else
            snprintf(default_dir, sizeof default_dir, "qdml-demo-out/%s", demo->name);
        dir = default_dir;
    }
    if (!*dir) {
        cli_error(cmd, "--out: empty directory name");
        return CLI_USAGE;
    }
    demo_env env = {dir, QDML_BACKEND_AUTO, 0, demo->files};
    if (cli_parse_threads(cmd, cli_value(opts, nopts, "threads"), &env.threads)) return CLI_USAGE;
    if (cli_parse_backend(cmd, cli_value(opts, nopts, "backend"), &env.backend)) return CLI_USAGE;
    int rc = CLI_OK;
    if (dir == default_dir && demo != &demos[0]) rc = ensure_dir("qdml-demo-out");
    if (rc == CLI_OK) rc = ensure_dir(dir);
    /* Every file the demo writes, checked before it computes anything (outputs.h). */
    for (int i = 0; rc == CLI_OK && demo->files[i]; ++i) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, demo->files[i]) >= (int)sizeof path) {
            cli_error(cmd, "--out %s: the path is too long", dir);
            rc = CLI_USAGE;
        } else {
            const cli_file f = {"--out", path, NULL};
            rc = cli_check_outputs(cmd, &f, 1, NULL, 0);
        }
    }
    if (rc != CLI_OK) return rc;
    return demo->run(&env);
}

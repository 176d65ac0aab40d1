/* The qdml program: ground states and time evolution of potentials given as .npy files, a
 * built-in demo, and a report of what this build can run on. A thin layer over qdml.h. This file
 * holds the usage and the dispatch to the subcommands (commands.h). */
#include "cli.h"
#include "commands.h"
#include "mpi_launch.h"

#include <errno.h>
#include <qdml/qdml.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char main_help[] =
    "Usage: qdml COMMAND [options]\n"
    "\n"
    "Solves the Schrodinger equation on periodic grids in real and imaginary time: the potential is\n"
    "an objective, its ground state the answer to the optimisation problem.\n"
    "\n"
    "Commands:\n"
    "  demo     ground state of a tilted 2D double well, then a dispersing wave packet (no arguments\n"
    "           needed; writes .npy/.csv/.json/.png files into a folder); 'qdml demo --list' names\n"
    "           the others (softmax, sigmoid, diffusion, taylor), each checked against its closed form\n"
    "  ground   ground state(s) of a potential given as .npy or a built-in objective (LOBPCG, or\n"
    "           imaginary time with an automatic step)\n"
    "  evolve   real- or imaginary-time evolution of a given state for a fixed number of steps\n"
    "  minimize the global minimiser of an objective by annealing (ground states at falling hbar)\n"
    "  info     version, backends and devices\n"
    "\n"
    "Options:\n"
    "  -h, --help     this text ('qdml COMMAND --help' for a command's options and an example,\n"
    "                 'qdml COMMAND --help-all' for all of it)\n"
    "  --version      print the version\n"
    "\n"
    "Exit status: 0 success, 1 a run failed, 2 bad usage or bad input.\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {{"demo", cli_demo},
                                   {"ground", cli_cmd_ground},
                                   {"evolve", cli_cmd_evolve},
                                   {"minimize", cli_cmd_minimize},
                                   {"info", cli_cmd_info},
                                   {"qhd", cli_cmd_qhd},
                                   {"walkers", cli_cmd_walkers},
                                   {"bench-opt", cli_cmd_bench_opt}};

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(main_help, stderr);
        cli_error(NULL, "missing command (try 'qdml demo')");
        return CLI_USAGE;
    }
    const char *c = argv[1];
    if (strcmp(c, "-h") == 0 || strcmp(c, "--help") == 0 || strcmp(c, "help") == 0) {
        fputs(main_help, stdout);
        return CLI_OK;
    }
    if (strcmp(c, "--version") == 0) {
        printf("qdml %s\n", qdml_version_string());
        return CLI_OK;
    }
    const command *cmd = NULL;
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; ++k)
        if (strcmp(c, commands[k].name) == 0) cmd = &commands[k];
    if (!cmd) {
        cli_error(NULL, "unknown command '%s' (expected demo, ground, evolve, minimize, walkers, qhd, bench-opt or info; see 'qdml --help')", c);
        return CLI_USAGE;
    }
    /* Under mpirun every rank runs the command; rank 0 prints and writes (mpi_launch.h). */
    if (cli_mpi_start(&argc, &argv) != 0) return CLI_RUN_FAILED;
    int rc = cmd->run(argc - 1, argv + 1);
    cli_mpi_finish();
    /* A result that never reached its reader (a full disk, a closed pipe) is a failed run. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error(c, "writing to standard output failed: %s", strerror(errno));
        if (rc == CLI_OK) rc = CLI_RUN_FAILED;
    }
    return rc;
}

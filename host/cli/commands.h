/* The subcommands of the qdml program, each `int NAME(int argc, char **argv)` with argv[0] the
 * subcommand's name, returning the exit status; main.c dispatches to them. */
#ifndef QDML_CLI_COMMANDS_H
#define QDML_CLI_COMMANDS_H

/* `qdml demo` (demo.c). */
int cli_demo(int argc, char **argv);

#endif

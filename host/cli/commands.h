/* The subcommands of the qdml program, each `int NAME(int argc, char **argv)` with argv[0] the
 * subcommand's name, returning the exit status; main.c dispatches to them. */
#ifndef QDML_CLI_COMMANDS_H
#define QDML_CLI_COMMANDS_H

int cli_demo(int argc, char **argv);         /* demo.c */
int cli_cmd_ground(int argc, char **argv);   /* cmd_ground.c */
int cli_cmd_evolve(int argc, char **argv);   /* cmd_evolve.c */
int cli_cmd_minimize(int argc, char **argv); /* cmd_minimize.c */
int cli_cmd_info(int argc, char **argv);     /* cmd_info.c */
int cli_cmd_qhd(int argc, char **argv);      /* cmd_qhd.c */
int cli_cmd_walkers(int argc, char **argv);  /* cmd_walkers.c */
int cli_cmd_bench_opt(int argc, char **argv); /* cmd_bench_opt.c */

#endif

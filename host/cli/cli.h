/* What every file of the qdml program uses: its exit statuses and its one way of printing a message.
 * (cli_error lives in args.c, so that the fuzz target of the argument parsing links with args.c alone.) */
#ifndef QDML_CLI_H
#define QDML_CLI_H

/* Exit statuses of the program. */
enum { CLI_OK = 0, CLI_RUN_FAILED = 1, CLI_USAGE = 2 };

/* Prints "qdml CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif

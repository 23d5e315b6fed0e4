/* validate_cli.h - `wattlet validate node|workload`: platform validation (see
 * agent/validate/validate.h and docs/validation.md).
 *
 * argv[0] is the subcommand name ("validate"). Prints the checks, progress and the
 * result tables to stdout, errors to stderr. Returns the process exit status:
 * 0 passed, 1 failed, 2 bad usage or config, 3 refused to judge (too noisy, or the CPU
 * used outside the instances changed during the run),
 * 4 could not run (no meter, agent unreachable, workload did not start, interrupted). */
#ifndef WATTLET_VALIDATE_CLI_H
#define WATTLET_VALIDATE_CLI_H

int validate_main(int argc, char **argv);

#endif

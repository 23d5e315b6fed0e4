/* top.h - `wattlet top`: a live terminal view of the busiest workloads, read from a
 * running agent's /api/v1/workloads.
 *
 *   wattlet top [--url http://127.0.0.1:9102] [--interval 2s] [-n ROWS] [--once]
 *
 * argv[0] is the subcommand name ("top"). Prints to stdout; errors to stderr.
 * Returns the process exit status: 0, 1 (agent unreachable, bad reply), 2 (usage).
 */
#ifndef WATTLET_TOP_H
#define WATTLET_TOP_H

int top_main(int argc, char **argv);

#endif

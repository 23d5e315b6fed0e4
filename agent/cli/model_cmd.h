/* model_cmd.h - `wattlet model fit|check`: fit a PowerModel to a recording, check one.
 * model_main() gets argv starting at "model"; returns the exit code (0 ok, 1 the data
 * or model is bad, 2 bad usage). */
#ifndef WATTLET_MODEL_CMD_H
#define WATTLET_MODEL_CMD_H

#include <stdbool.h>

int model_main(int argc, char **argv);
/* `wattlet probe`'s model section: the model file (validated) and the energy source
 * the agent would use; with neither meter nor estimated zones, what to apply. */
void model_probe_print(const char *model_file, bool have_meter);

#endif

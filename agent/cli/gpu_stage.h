/* gpu_stage.h - the tick's GPU stage: NVML energy into zone gpu, per-GPU idle, and the
 * per-cgroup weights that share each GPU's dynamic energy (docs/gpu.md).
 *
 * gpu_stage_open() follows gpu.enabled: false -> no stage (*out NULL, 0); auto -> the
 * stage when NVML loads and lists a GPU, else *out NULL and an info line saying why;
 * true -> that failure is an error (-1). gpu_stage_tick() runs as the tick's last change
 * to the attribution input (tick_hooks.prepare_attrib) and reads every GPU once:
 *   - in->energy is replaced by the stage's copy of it with the GPUs' energy added to
 *     uj[ZONE_GPU] (zone bit set; error bit when every GPU failed to read),
 *   - in->idle_w[ZONE_GPU] = the sum over GPUs of min(idle_g x dt, E_g), where idle_g
 *     is model.idle_watts.gpu / GPUs when configured, else learned per GPU by
 *     agent/model/idle.h against that GPU's utilisation,
 *   - in->ext_weight[ZONE_GPU]: each usage entry's part of every GPU's dynamic energy
 *     E_g - I_g (agent/usage/gpu.h rules), out of their sum (ext_total).
 * The first read is a baseline (no GPU energy in that tick). A NULL stage is a no-op.
 * This module logs (it is part of the daemon); state transitions are logged once.
 *
 * Ownership: the stage is freed with gpu_stage_free() (NULL-safe). What it puts in *in
 * (the energy copy, the weights) stays valid until the next gpu_stage_tick().
 */
#ifndef WATTLET_GPU_STAGE_H
#define WATTLET_GPU_STAGE_H

#include "../attrib/attrib.h"
#include "../cgroup/cgroup.h"
#include "../config/config.h"
#include "../export/export.h"
#include "../meter/meter.h"
#include "../usage/usage.h"

struct gpu_stage;

int gpu_stage_open(const struct config *c, const struct cg_layout *layout,
		   struct gpu_stage **out);
void gpu_stage_tick(struct gpu_stage *g, const struct usage_sample *us, struct attrib_input *in,
		    struct agent_status *st);
void gpu_stage_free(struct gpu_stage *g);

/* What the stage reads (nvml_describe), for NodeEnergy status.meters; "" for NULL. */
const char *gpu_stage_detail(const struct gpu_stage *g);

/* `wattlet probe`: the GPU section (what NVML reports, or why there is no GPU). */
void gpu_stage_probe_print(const struct config *c);

#endif

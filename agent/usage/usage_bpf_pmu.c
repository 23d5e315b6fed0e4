/* usage_bpf_pmu.c - see usage_bpf_pmu.h */
#include "usage_bpf_pmu.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/cpuusage.skel.h"

_Static_assert(CU_INSTR == FEAT_INSTRUCTIONS && CU_CYCLES == FEAT_CYCLES &&
		       CU_CMISS == FEAT_CACHE_MISSES && CU_TCLK == FEAT_TASK_CLOCK,
	       "cu_val counter slots follow enum feature");
_Static_assert(CU_NPMU == PMU_NCOUNTERS && PMU_INSTRUCTIONS + CU_INSTR == CU_INSTR &&
		       PMU_TASK_CLOCK + CU_INSTR == CU_TCLK,
	       "cu_cpu.pmu[i] is counter i, slot CU_INSTR + i");

#define HW_FEATS ((1u << FEAT_INSTRUCTIONS) | (1u << FEAT_CYCLES) | (1u << FEAT_CACHE_MISSES))
#define SW_FEATS (1u << FEAT_TASK_CLOCK)

int bpf_pmu_open(struct bpf_pmu *bp, int ncpu, const struct usage_opts *opts,
		 struct wl_err *err)
{
	struct pmu_opts po = { 0 };

	memset(bp, 0, sizeof(*bp));
	bp->ncpu = ncpu;
	po.ncpu = ncpu;
	po.want_sw = opts && (opts->counter_features & SW_FEATS);
	po.online_path = opts ? opts->cpu_online_path : NULL;
	bp->pmu = pmu_open(&po, err);
	if (!bp->pmu)
		return -ENOMEM;
	bp->hw = (pmu_have(bp->pmu) & PMU_HW_MASK) == PMU_HW_MASK;
	bp->sw = (pmu_have(bp->pmu) & PMU_SW_MASK) != 0;
	snprintf(bp->hw_reason, sizeof(bp->hw_reason), "%s", pmu_hw_reason(bp->pmu));
	snprintf(bp->sw_reason, sizeof(bp->sw_reason), "%s", pmu_sw_reason(bp->pmu));
	return 0;
}

void bpf_pmu_close(struct bpf_pmu *bp)
{
	if (!bp)
		return;
	pmu_close(bp->pmu);
	bp->pmu = NULL;
	bp->hw = bp->sw = false;
}

static struct bpf_map *array_of(struct cpuusage_bpf *sk, int c)
{
	switch (c) {
	case PMU_INSTRUCTIONS: return sk->maps.pmu_instr;
	case PMU_CYCLES: return sk->maps.pmu_cycles;
	case PMU_CACHE_MISSES: return sk->maps.pmu_cmiss;
	default: return sk->maps.pmu_tclk;
	}
}

int bpf_pmu_prepare(const struct bpf_pmu *bp, struct cpuusage_bpf *sk)
{
	sk->rodata->have_pmu = bp->hw;
	sk->rodata->have_tclk = bp->sw;
	for (int c = 0; c < PMU_NCOUNTERS && bp->ncpu > 0; c++) {
		int rc = bpf_map__set_max_entries(array_of(sk, c), (unsigned)bp->ncpu);

		if (rc)
			return rc < 0 ? rc : -rc;
	}
	return 0;
}

int bpf_pmu_fill(const struct bpf_pmu *bp, struct cpuusage_bpf *sk)
{
	unsigned fed = (bp->hw ? PMU_HW_MASK : 0) | (bp->sw ? PMU_SW_MASK : 0);

	for (int c = 0; c < PMU_NCOUNTERS; c++) {
		int map = bpf_map__fd(array_of(sk, c));

		if (!(fed & (1u << c)))
			continue;
		for (int cpu = 0; cpu < bp->ncpu; cpu++) {
			int fd = pmu_fd(bp->pmu, c, cpu);

			if (fd >= 0 && bpf_map_update_elem(map, &cpu, &fd, BPF_ANY))
				return -errno;
		}
	}
	return 0;
}

void bpf_pmu_disable(struct bpf_pmu *bp, const char *why)
{
	if (bp->hw)
		snprintf(bp->hw_reason, sizeof(bp->hw_reason), "PMU: disabled, %s", why);
	if (bp->sw)
		snprintf(bp->sw_reason, sizeof(bp->sw_reason),
			 "task_clock: off, zones configured with it use cpu_time: %s", why);
	bpf_pmu_close(bp);
}

static void copy_line(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

void bpf_pmu_probe(const struct bpf_pmu *bp, struct usage_probe *probe)
{
	probe->pmu_ok = bp->hw;
	copy_line(probe->pmu_reason, sizeof(probe->pmu_reason), bp->hw_reason);
	probe->task_clock_ok = bp->sw;
	copy_line(probe->task_clock_reason, sizeof(probe->task_clock_reason), bp->sw_reason);
}

void bpf_pmu_slice(const struct bpf_pmu *bp, int cpu, const struct cu_cpu *cc,
		   uint64_t v[FEAT_COUNT])
{
	unsigned fed = (bp->hw ? PMU_HW_MASK : 0) | (bp->sw ? PMU_SW_MASK : 0);

	for (int c = 0; c < PMU_NCOUNTERS; c++) {
		struct pmu_value now, then;

		if (!(fed & (1u << c)) || cc->pmu[c].enabled == 0)
			continue;
		if (pmu_read(bp->pmu, c, cpu, &now) < 0 || now.counter < cc->pmu[c].counter ||
		    now.enabled < cc->pmu[c].enabled)
			continue;
		then.counter = cc->pmu[c].counter;
		then.enabled = cc->pmu[c].enabled;
		then.running = cc->pmu[c].running;
		v[CU_INSTR + c] += pmu_scale(&now, &then);
	}
}

uint32_t bpf_pmu_features(struct bpf_pmu *bp, struct cpuusage_bpf *sk)
{
	uint32_t mask = (bp->hw ? HW_FEATS : 0) | (bp->sw ? SW_FEATS : 0);
	uint64_t *v, total = 0;
	__u32 slot = CU_DROP_PMU;

	if (!mask)
		return 0;
	v = calloc((size_t)bp->ncpu, sizeof(*v));
	if (v && bpf_map_lookup_elem(bpf_map__fd(sk->maps.drops), &slot, v) == 0)
		for (int c = 0; c < bp->ncpu; c++)
			total += v[c];
	free(v);
	if (total != bp->misses) {
		bp->misses = total;
		return 0;
	}
	return mask;
}

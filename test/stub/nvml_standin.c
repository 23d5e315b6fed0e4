/* nvml_standin.c - a STAND-IN for libnvidia-ml.so.1 for tests on machines without an
 * NVIDIA GPU. It is not a GPU and says so: every device is named "STAND-IN (not a GPU)"
 * and nvmlInit prints a line on stderr. It implements exactly the NVML calls wattlet
 * uses (agent/meter/nvml.c), with the documented signatures, answering from a script.
 *
 * The script is the file named by $WATTLET_NVML_STANDIN, read at nvmlInit and again at
 * every energy or power query (tests rewrite it while the agent runs). Lines:
 *   gpu power_mw=N [energy_mj=N] [counter=0|1] [util=PCT] [samples=0|1]
 *       [compute_mode=N] [mig=0|1] [sms=N] [fail=energy|power|all]
 *       One device per gpu line, in order. counter=1 (default): the total-energy
 *       counter, integrated here from power_mw over CLOCK_MONOTONIC unless energy_mj
 *       gives its value; counter=0: no counter (NOT_SUPPORTED), power only.
 *       samples=0: per-process utilisation NOT_SUPPORTED. fail=: that call returns
 *       GPU_IS_LOST.
 *   proc gpu=I pid=P [sm=PCT] [mig=M]
 *       A running compute process on device I (on its MIG device M), with one SM
 *       utilisation sample of PCT per query.
 *   mig gpu=I gi=G sms=N
 *       A MIG device of device I (GPU instance G, N SMs).
 * Without the variable, or with an unreadable script, nvmlInit fails (Driver Not Loaded).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXDEV 8
#define MAXPROC 64
#define MAXMIG 8

enum { OK = 0, E_INVAL = 2, E_NOTSUP = 3, E_NOTFOUND = 6, E_SIZE = 7, E_NODRV = 9,
       E_LOST = 15 };

struct sproc {
	unsigned pid, sm;
	int mig;
};

struct smig {
	int tag; /* 2: a MIG device handle */
	int gpu, idx;
	unsigned gi, sms;
};

struct sdev {
	int tag; /* 1: a GPU handle */
	int idx;
	unsigned long long power_mw;
	bool counter, have_energy, samples, mig;
	unsigned long long energy_mj;
	double acc_mj;     /* integrated energy */
	unsigned long long last_ns;
	unsigned util, sms;
	int compute_mode;
	char fail[16];
	struct sproc proc[MAXPROC];
	int nproc;
	struct smig migs[MAXMIG];
	int nmig;
};

static struct sdev dev[MAXDEV];
static int ndev;
static bool inited;

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static const char *val(const char *line, const char *key)
{
	size_t kl = strlen(key);
	const char *p = line;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == line || p[-1] == ' ' || p[-1] == '\t') && p[kl] == '=')
			return p + kl + 1;
		p += kl;
	}
	return NULL;
}

static unsigned long long num(const char *line, const char *key, unsigned long long def)
{
	const char *v = val(line, key);
	return v ? strtoull(v, NULL, 10) : def;
}

/* Re-reads the script; integrated energy of existing devices is kept. */
static int load(void)
{
	const char *path = getenv("WATTLET_NVML_STANDIN");
	char line[512];
	int n = 0;
	FILE *f;

	if (!path || !*path)
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	for (int i = 0; i < MAXDEV; i++) {
		dev[i].nproc = 0;
		dev[i].nmig = 0;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "gpu", 3) == 0 && (line[3] == ' ' || !line[3]) && n < MAXDEV) {
			struct sdev *d = &dev[n];
			const char *fv = val(line, "fail");
			d->tag = 1;
			d->idx = n;
			d->power_mw = num(line, "power_mw", 0);
			d->have_energy = val(line, "energy_mj") != NULL;
			d->energy_mj = num(line, "energy_mj", 0);
			d->counter = num(line, "counter", 1) != 0;
			d->util = (unsigned)num(line, "util", 0);
			d->samples = num(line, "samples", 1) != 0;
			d->compute_mode = (int)num(line, "compute_mode", 0);
			d->mig = num(line, "mig", 0) != 0;
			d->sms = (unsigned)num(line, "sms", 132);
			snprintf(d->fail, sizeof(d->fail), "%.*s", fv ? (int)strcspn(fv, " ") : 0,
				 fv ? fv : "");
			n++;
		} else if (strncmp(line, "proc ", 5) == 0) {
			int g = (int)num(line, "gpu", 0);
			if (g < n && dev[g].nproc < MAXPROC) {
				struct sproc *p = &dev[g].proc[dev[g].nproc++];
				p->pid = (unsigned)num(line, "pid", 0);
				p->sm = (unsigned)num(line, "sm", 0);
				p->mig = val(line, "mig") ? (int)num(line, "mig", 0) : -1;
			}
		} else if (strncmp(line, "mig ", 4) == 0) {
			int g = (int)num(line, "gpu", 0);
			if (g < n && dev[g].nmig < MAXMIG) {
				struct smig *m = &dev[g].migs[dev[g].nmig];
				m->tag = 2;
				m->gpu = g;
				m->idx = dev[g].nmig++;
				m->gi = (unsigned)num(line, "gi", 0);
				m->sms = (unsigned)num(line, "sms", 0);
			}
		}
	}
	fclose(f);
	ndev = n;
	return 0;
}

static void advance(struct sdev *d)
{
	unsigned long long t = now_ns();
	if (d->last_ns)
		d->acc_mj += (double)d->power_mw * (double)(t - d->last_ns) / 1e9;
	d->last_ns = t;
}

static bool fails(const struct sdev *d, const char *what)
{
	return strcmp(d->fail, what) == 0 || strcmp(d->fail, "all") == 0;
}

static struct sdev *gpu_of(void *h)
{
	struct sdev *d = h;
	return (inited && d && d >= dev && d < dev + ndev && d->tag == 1) ? d : NULL;
}

static struct smig *mig_of(void *h)
{
	for (int i = 0; inited && h && i < ndev; i++)
		for (int j = 0; j < dev[i].nmig; j++)
			if (h == &dev[i].migs[j])
				return &dev[i].migs[j];
	return NULL;
}

int nvmlInit_v2(void)
{
	if (load() != 0) {
		fprintf(stderr, "nvml stand-in: NOT A GPU; $WATTLET_NVML_STANDIN unset or unreadable: "
			"answering Driver Not Loaded\n");
		return E_NODRV;
	}
	inited = true;
	for (int i = 0; i < ndev; i++)
		advance(&dev[i]);
	fprintf(stderr, "nvml stand-in (test/stub/nvml_standin.c): NOT A GPU; %d scripted "
		"device(s) from %s\n", ndev, getenv("WATTLET_NVML_STANDIN"));
	return OK;
}

int nvmlShutdown(void)
{
	inited = false;
	return OK;
}

const char *nvmlErrorString(int r)
{
	switch (r) {
	case OK: return "Success (stand-in)";
	case E_NOTSUP: return "Not Supported (stand-in)";
	case E_NODRV: return "Driver Not Loaded (stand-in: no script)";
	case E_LOST: return "GPU is lost (stand-in: scripted failure)";
	default: return "error (stand-in)";
	}
}

int nvmlSystemGetDriverVersion(char *buf, unsigned len)
{
	snprintf(buf, len, "stand-in");
	return OK;
}

int nvmlDeviceGetCount_v2(unsigned *n)
{
	if (!inited)
		return 1;
	*n = (unsigned)ndev;
	return OK;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **h)
{
	if (!inited || i >= (unsigned)ndev)
		return E_INVAL;
	*h = &dev[i];
	return OK;
}

int nvmlDeviceGetName(void *h, char *buf, unsigned len)
{
	if (!gpu_of(h) && !mig_of(h))
		return E_INVAL;
	snprintf(buf, len, "STAND-IN (not a GPU)");
	return OK;
}

int nvmlDeviceGetUUID(void *h, char *buf, unsigned len)
{
	struct sdev *d = gpu_of(h);
	if (!d)
		return E_INVAL;
	snprintf(buf, len, "GPU-STANDIN-%d", d->idx);
	return OK;
}

int nvmlDeviceGetTotalEnergyConsumption(void *h, unsigned long long *mj)
{
	struct sdev *d = gpu_of(h);
	if (!d)
		return E_INVAL;
	load();
	if (!d->counter)
		return E_NOTSUP;
	if (fails(d, "energy"))
		return E_LOST;
	advance(d);
	*mj = d->have_energy ? d->energy_mj : (unsigned long long)d->acc_mj;
	return OK;
}

int nvmlDeviceGetPowerUsage(void *h, unsigned *mw)
{
	struct sdev *d = gpu_of(h);
	if (!d)
		return E_INVAL;
	load();
	if (fails(d, "power"))
		return E_LOST;
	advance(d);
	*mw = (unsigned)d->power_mw;
	return OK;
}

struct util_s {
	unsigned gpu, memory;
};

int nvmlDeviceGetUtilizationRates(void *h, struct util_s *u)
{
	struct sdev *d = gpu_of(h);
	if (!d)
		return E_INVAL;
	u->gpu = d->util;
	u->memory = 0;
	return OK;
}

struct sample_s {
	unsigned pid;
	unsigned long long ts;
	unsigned sm, mem, enc, dec;
};

int nvmlDeviceGetProcessUtilization(void *h, struct sample_s *s, unsigned *count,
				    unsigned long long last_seen)
{
	struct sdev *d = gpu_of(h);
	struct timespec ts;
	unsigned long long now;
	unsigned n = 0;

	if (!d || !count)
		return E_INVAL;
	if (!d->samples || d->mig)
		return E_NOTSUP;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
	if (now <= last_seen)
		now = last_seen + 1;
	for (int i = 0; i < d->nproc; i++)
		n += d->proc[i].mig < 0;
	if (n == 0)
		return E_NOTFOUND;
	if (!s || *count < n) {
		*count = n;
		return E_SIZE;
	}
	n = 0;
	for (int i = 0; i < d->nproc; i++)
		if (d->proc[i].mig < 0)
			s[n++] = (struct sample_s){ d->proc[i].pid, now, d->proc[i].sm, 0, 0, 0 };
	*count = n;
	return OK;
}

struct pinfo_s {
	unsigned pid;
	unsigned long long mem;
	unsigned gi, ci;
};

static int running(void *h, unsigned *count, struct pinfo_s *out)
{
	struct sdev *d = gpu_of(h);
	struct smig *m = d ? NULL : mig_of(h);
	unsigned n = 0;

	if (!d && !m)
		return E_INVAL;
	if (!d)
		d = &dev[m->gpu];
	for (int i = 0; i < d->nproc; i++)
		n += m ? d->proc[i].mig == m->idx : d->proc[i].mig < 0;
	if (!out || *count < n) {
		*count = n;
		return n ? E_SIZE : OK;
	}
	n = 0;
	for (int i = 0; i < d->nproc; i++)
		if (m ? d->proc[i].mig == m->idx : d->proc[i].mig < 0)
			out[n++] = (struct pinfo_s){ d->proc[i].pid, 1 << 20, m ? m->gi : 0, 0 };
	*count = n;
	return OK;
}

int nvmlDeviceGetComputeRunningProcesses_v3(void *h, unsigned *count, struct pinfo_s *out)
{
	return running(h, count, out);
}

int nvmlDeviceGetComputeRunningProcesses_v2(void *h, unsigned *count, struct pinfo_s *out)
{
	return running(h, count, out);
}

int nvmlDeviceGetComputeMode(void *h, int *mode)
{
	struct sdev *d = gpu_of(h);
	if (!d)
		return E_INVAL;
	*mode = d->compute_mode;
	return OK;
}

int nvmlDeviceGetMigMode(void *h, unsigned *cur, unsigned *pend)
{
	struct sdev *d = gpu_of(h);
	if (!d)
		return E_INVAL;
	*cur = *pend = d->mig ? 1 : 0;
	return OK;
}

int nvmlDeviceGetMaxMigDeviceCount(void *h, unsigned *n)
{
	struct sdev *d = gpu_of(h);
	if (!d)
		return E_INVAL;
	*n = d->mig ? MAXMIG : 0;
	return OK;
}

int nvmlDeviceGetMigDeviceHandleByIndex(void *h, unsigned i, void **out)
{
	struct sdev *d = gpu_of(h);
	if (!d || !d->mig)
		return E_INVAL;
	if (i >= (unsigned)d->nmig)
		return E_NOTFOUND;
	*out = &d->migs[i];
	return OK;
}

int nvmlDeviceGetGpuInstanceId(void *h, unsigned *id)
{
	struct smig *m = mig_of(h);
	if (!m)
		return E_INVAL;
	*id = m->gi;
	return OK;
}

struct attrs_s {
	unsigned sms, ce, dec, enc, jpg, ofa, gis, cis;
	unsigned long long mem_mb;
};

int nvmlDeviceGetAttributes_v2(void *h, struct attrs_s *a)
{
	struct sdev *d = gpu_of(h);
	struct smig *m = d ? NULL : mig_of(h);

	if (!d && !m)
		return E_INVAL;
	memset(a, 0, sizeof(*a));
	a->sms = d ? d->sms : m->sms;
	return OK;
}

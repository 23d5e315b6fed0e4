/* raplsim.c - a SIMULATED Intel RAPL meter for machines that have none.
 *
 * Keeps a directory shaped like /sys/class/powercap on an Intel machine and advances
 * its energy_uj counters from this machine's real CPU activity (/proc/stat) through
 * a known power curve (sim/raplsim_model.h). Point the agent's meter.powercap_root
 * at --dir and it reads these files exactly as it would read the kernel's.
 *
 * Layout (as the kernel's intel_rapl driver shows it; the kernel's entries in
 * /sys/class/powercap are symlinks into /sys/devices/virtual/powercap/intel-rapl,
 * here the zone directories are real and the flat subzone names are symlinks):
 *   DIR/intel-rapl/enabled                     control type
 *   DIR/intel-rapl:0/{name=package-0, energy_uj, max_energy_range_uj, enabled,
 *                     constraint_{0,1}_{name,power_limit_uw,time_window_us,max_power_uw}}
 *   DIR/intel-rapl:0/intel-rapl:0:0/{name=core, ...}
 *   DIR/intel-rapl:0/intel-rapl:0:1/{name=dram, ...}
 *   DIR/intel-rapl:0:0 -> intel-rapl:0/intel-rapl:0:0, DIR/intel-rapl:0:1 likewise
 *   DIR/intel-rapl:1/{name=psys, ...}           with --psys
 * energy_uj is mode 0400 (root only since CVE-2020-8694) and is replaced by
 * rename(2), so a reader sees the old or the new value, never a torn one.
 *
 * The counters live in 0..max_energy_range_uj and wrap to 0 after it (period
 * max + 1 uJ; real hardware's period is max + one energy unit, about 61 uJ).
 * A restart continues from the energy_uj values already in DIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "agent/common/util.h"
#include "sim/raplsim_model.h"

#define DEFAULT_MAX_RANGE_UJ 262143328850ULL /* a real Intel package's range */
#define STAT_CAP (256 * 1024)

struct zone_def {
	const char *dir;   /* relative to --dir */
	const char *name;  /* content of "name" */
	const char *flat;  /* flat alias symlink, or NULL */
	int nconstraints;
	const char *label; /* in the truth file */
};

static const struct zone_def zone_defs[RS_ZONES] = {
	[RS_PACKAGE] = { "intel-rapl:0", "package-0", NULL, 2, "package" },
	[RS_CORE] = { "intel-rapl:0/intel-rapl:0:0", "core", "intel-rapl:0:0", 1, "core" },
	[RS_DRAM] = { "intel-rapl:0/intel-rapl:0:1", "dram", "intel-rapl:0:1", 1, "dram" },
	[RS_PSYS] = { "intel-rapl:1", "psys", NULL, 2, "psys" },
};

struct opts {
	const char *dir;
	const char *proc_root;
	const char *truth;
	const char *pid_file;
	uint64_t interval_ms;
	uint64_t max_range_uj;
	double busy_override; /* < 0: measure */
	bool tick_fields;     /* --cpu-time ticks: busy from the tick-sampled fields */
	bool psys;
	bool once;
	struct raplsim_curve curve;
};

struct sim {
	struct opts o;
	int nzones;
	struct raplsim_counter ctr[RS_ZONES];
	struct raplsim_cpustat last_stat;
	bool have_stat;
	double carry_cpu_s;   /* idle-based busy: quantisation carried to the next update */
	long user_hz;
	double busy;
	uint64_t last_ns;
	char *statbuf;
	FILE *truth;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: raplsim [options]\n"
"A SIMULATED Intel RAPL meter: keeps a /sys/class/powercap-shaped tree whose energy_uj\n"
"counters advance with this machine's CPU activity through a fixed power curve.\n"
"No hardware is measured.\n"
"\n"
"Power curve, busy = busy CPUs over the last interval from /proc/stat: the number of\n"
"CPUs minus idle+iowait time per second of wall time (tickless kernels measure idle at\n"
"idle entry and exit, so this follows short bursts; --cpu-time ticks uses the tick-\n"
"sampled user+nice+system+irq+softirq+steal share instead, the old behaviour):\n"
"  package W = idle + watts_per_core * busy^exponent\n"
"  core    W = core_idle + core_share * (package - idle)\n"
"  dram    W = dram_idle + dram_watts_per_core * busy\n"
"  psys    W = package + dram + psys_extra              (with --psys)\n"
"Each update adds W * dt (dt measured on CLOCK_MONOTONIC) to every counter, in uJ.\n"
"\n"
"Options:\n"
"  --dir DIR                  tree to keep (default /tmp/raplsim)\n"
"  --interval-ms N            update period in ms (default 100; 1..60000)\n"
"  --idle-watts W             package idle power (default 10)\n"
"  --watts-per-core W         package dynamic watts per busy CPU (default 15)\n"
"  --exponent E               curve shape, 1 = linear (default 1.0; (0, 4])\n"
"  --core-share S             core zone's share of dynamic power (default 0.8)\n"
"  --core-idle-watts W        core zone idle power (default 2)\n"
"  --dram-idle-watts W        dram idle power (default 1.5)\n"
"  --dram-watts-per-core W    dram watts per busy CPU (default 0.5)\n"
"  --psys                     also keep intel-rapl:1 (psys, whole platform)\n"
"  --psys-extra-watts W       platform power beyond package + dram (default 5)\n"
"  --max-range-uj N           counter range, wraps to 0 after it (default %llu)\n"
"  --busy-cpus B              use B busy CPUs instead of measuring (for tests)\n"
"  --proc-root DIR            where stat is read from (default /proc)\n"
"  --cpu-time idle|ticks      how busy CPUs are measured (default idle; see above)\n"
"  --truth FILE               append one line per update: mono_ns, dt_ns, busy, watts\n"
"                             and cumulative joules per zone (the ground truth)\n"
"  --pid-file FILE            write the pid here, removed on exit\n"
"  --once                     do one update (one interval) and exit\n"
"  --help                     this text\n"
"Exits cleanly on SIGTERM and SIGINT.\n",
		(unsigned long long)DEFAULT_MAX_RANGE_UJ);
}

/* Writes text to dir/name through a temporary file and rename(2). */
static int write_atomic(const char *dir, const char *name, const char *text, mode_t mode)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	size_t len = strlen(text), off = 0;
	int fd, ret = 0;

	if (fmt_path(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) < 0 ||
	    fmt_path(dst, sizeof(dst), "%s/%s", dir, name) < 0)
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			goto cleanup;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = -errno;
		goto cleanup;
	}
	fd = -1;
	if (rename(tmp, dst) < 0)
		ret = -errno;
cleanup:
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(tmp);
	return ret;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char c = buf[i];
			buf[i] = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			buf[i] = c;
		}
	}
	return 0;
}

static int write_u64(const char *dir, const char *name, uint64_t v, mode_t mode)
{
	char text[32];
	snprintf(text, sizeof(text), "%" PRIu64 "\n", v);
	return write_atomic(dir, name, text, mode);
}

static int zone_path(const struct sim *s, int z, char *out, size_t cap)
{
	return fmt_path(out, cap, "%s/%s", s->o.dir, zone_defs[z].dir);
}

/* Creates the tree; picks up counters a previous run left behind. */
static int setup_tree(struct sim *s, char *why, size_t cap)
{
	char zdir[PATH_MAX], text[64], path[PATH_MAX];
	double wmax[RS_ZONES];
	int r = -ENAMETOOLONG;

	raplsim_power(&s->o.curve, s->have_stat ? s->last_stat.ncpu : 1, wmax);
	if (fmt_path(path, sizeof(path), "%s/intel-rapl", s->o.dir) < 0 || (r = mkdir_p(path)) < 0 ||
	    (r = write_atomic(path, "enabled", "1\n", 0644)) < 0) {
		snprintf(why, cap, "%s: %s", path, strerror(-r));
		return -EIO;
	}
	for (int z = 0; z < s->nzones; z++) {
		const struct zone_def *d = &zone_defs[z];
		uint64_t start = 0, old;

		if ((r = zone_path(s, z, zdir, sizeof(zdir))) < 0 || (r = mkdir_p(zdir)) < 0)
			goto fail;
		snprintf(text, sizeof(text), "%s\n", d->name);
		if ((r = write_atomic(zdir, "name", text, 0444)) < 0 ||
		    (r = write_atomic(zdir, "enabled", "1\n", 0644)) < 0 ||
		    (r = write_u64(zdir, "max_energy_range_uj", s->o.max_range_uj, 0444)) < 0)
			goto fail;
		for (int c = 0; c < d->nconstraints; c++) {
			static const char *const cname[2] = { "long_term\n", "short_term\n" };
			uint64_t limit = (uint64_t)(wmax[z] * 1e6 * (c ? 1.2 : 1.0));
			char f[64];
			snprintf(f, sizeof(f), "constraint_%d_name", c);
			if ((r = write_atomic(zdir, f, cname[c], 0444)) < 0)
				goto fail;
			snprintf(f, sizeof(f), "constraint_%d_power_limit_uw", c);
			if ((r = write_u64(zdir, f, limit, 0644)) < 0)
				goto fail;
			snprintf(f, sizeof(f), "constraint_%d_time_window_us", c);
			if ((r = write_u64(zdir, f, c ? 2440 : 27983872, 0644)) < 0)
				goto fail;
			snprintf(f, sizeof(f), "constraint_%d_max_power_uw", c);
			if ((r = write_u64(zdir, f, limit, 0444)) < 0)
				goto fail;
		}
		if (fmt_path(path, sizeof(path), "%s/energy_uj", zdir) == 0 &&
		    read_u64_file(path, &old) == 0 && old <= s->o.max_range_uj)
			start = old;
		raplsim_counter_init(&s->ctr[z], s->o.max_range_uj, start);
		if ((r = write_u64(zdir, "energy_uj", start, 0400)) < 0)
			goto fail;
		if (d->flat) {
			if (fmt_path(path, sizeof(path), "%s/%s", s->o.dir, d->flat) < 0) {
				r = -ENAMETOOLONG;
				goto fail;
			}
			unlink(path);
			if (symlink(d->dir, path) < 0) {
				r = -errno;
				goto fail;
			}
		}
		continue;
fail:
		snprintf(why, cap, "%s: %s", zdir, strerror(-r));
		return -EIO;
	}
	return 0;
}

static int read_stat(struct sim *s, struct raplsim_cpustat *st, char *why, size_t cap)
{
	char path[PATH_MAX];
	size_t got = 0;
	int fd, r;

	if (fmt_path(path, sizeof(path), "%s/stat", s->o.proc_root) < 0) {
		snprintf(why, cap, "proc root too long");
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, cap, "%s: %s", path, strerror(errno));
		return -errno;
	}
	/* the cpu lines come first; a file larger than the buffer is read in part */
	while (got < STAT_CAP - 1) {
		ssize_t n = read(fd, s->statbuf + got, STAT_CAP - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	s->statbuf[got] = '\0';
	r = raplsim_parse_stat(s->statbuf, st);
	if (r < 0)
		snprintf(why, cap, "%s: no usable cpu lines", path);
	return r;
}

static int update(struct sim *s, char *why, size_t cap)
{
	struct raplsim_cpustat st;
	double w[RS_ZONES];
	uint64_t now = mono_ns(), dt_ns = now - s->last_ns;
	char zdir[PATH_MAX];
	int r;

	if (s->o.busy_override >= 0) {
		s->busy = s->o.busy_override;
	} else {
		if ((r = read_stat(s, &st, why, cap)) < 0)
			return r;
		if (s->have_stat) {
			double b;
			if (s->o.tick_fields)
				r = raplsim_busy_cpus(&s->last_stat, &st, &b);
			else
				r = raplsim_busy_from_idle(&s->last_stat, &st, dt_ns / 1e9, s->user_hz,
							   &s->carry_cpu_s, &b);
			if (r == 0)
				s->busy = b; /* -EAGAIN (no tick yet) keeps the last value */
			else if (r == -ERANGE) {
				s->busy = 0;
				s->carry_cpu_s = 0;
			}
		}
		s->last_stat = st;
		s->have_stat = true;
	}
	raplsim_power(&s->o.curve, s->busy, w);
	for (int z = 0; z < s->nzones; z++) {
		if ((r = raplsim_counter_add(&s->ctr[z], w[z] * (double)dt_ns / 1e3, NULL)) < 0 ||
		    (r = zone_path(s, z, zdir, sizeof(zdir))) < 0 ||
		    (r = write_u64(zdir, "energy_uj", s->ctr[z].value_uj, 0400)) < 0) {
			snprintf(why, cap, "%s/energy_uj: %s", zdir, strerror(-r));
			return r;
		}
	}
	s->last_ns = now;
	if (s->truth) {
		fprintf(s->truth, "mono_ns=%" PRIu64 " dt_ns=%" PRIu64 " busy=%.4f", now, dt_ns,
			s->busy);
		for (int z = 0; z < s->nzones; z++)
			fprintf(s->truth, " %s_w=%.6f", zone_defs[z].label, w[z]);
		for (int z = 0; z < s->nzones; z++)
			fprintf(s->truth, " %s_j=%" PRIu64 ".%06" PRIu64, zone_defs[z].label,
				s->ctr[z].total_uj / 1000000, s->ctr[z].total_uj % 1000000);
		fprintf(s->truth, "\n");
		if (fflush(s->truth) != 0) {
			snprintf(why, cap, "%s: %s", s->o.truth, strerror(errno));
			return -EIO;
		}
	}
	return 0;
}

/* The truth file's joules are cumulative over the file: a run appending to an
 * existing file continues from the totals on its last line. */
static void truth_resume(struct sim *s)
{
	char buf[2048], key[32];
	FILE *f = fopen(s->o.truth, "re");
	long size;
	size_t n;

	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0) {
		long from = size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0;
		if (fseek(f, from, SEEK_SET) == 0) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			buf[n] = '\0';
			while (n > 0 && buf[n - 1] == '\n')
				buf[--n] = '\0';
			char *line = strrchr(buf, '\n');
			line = line ? line + 1 : buf;
			for (int z = 0; z < s->nzones; z++) {
				unsigned long long j, frac;
				snprintf(key, sizeof(key), " %s_j=", zone_defs[z].label);
				char *p = strstr(line, key);
				if (p && sscanf(p + strlen(key), "%llu.%6llu", &j, &frac) == 2)
					s->ctr[z].total_uj = j * 1000000ULL + frac;
			}
		}
	}
	fclose(f);
}

/* Says that --opt's value got is not what it must be; -EINVAL. */
static int bad_value(const char *opt, const char *must_be, const char *got)
{
	fprintf(stderr, "raplsim: --%s must be %s, got \"%s\"\n", opt, must_be, got);
	return -EINVAL;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum {
		O_DIR = 256, O_INTERVAL, O_IDLE, O_WPC, O_EXP, O_CSHARE, O_CIDLE, O_DIDLE, O_DWPC,
		O_PSYS, O_PSYSX, O_MAXR, O_BUSY, O_PROC, O_TRUTH, O_PID, O_ONCE, O_HELP, O_CPUT,
	};
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, O_DIR },
		{ "interval-ms", required_argument, NULL, O_INTERVAL },
		{ "idle-watts", required_argument, NULL, O_IDLE },
		{ "watts-per-core", required_argument, NULL, O_WPC },
		{ "exponent", required_argument, NULL, O_EXP },
		{ "core-share", required_argument, NULL, O_CSHARE },
		{ "core-idle-watts", required_argument, NULL, O_CIDLE },
		{ "dram-idle-watts", required_argument, NULL, O_DIDLE },
		{ "dram-watts-per-core", required_argument, NULL, O_DWPC },
		{ "psys", no_argument, NULL, O_PSYS },
		{ "psys-extra-watts", required_argument, NULL, O_PSYSX },
		{ "max-range-uj", required_argument, NULL, O_MAXR },
		{ "busy-cpus", required_argument, NULL, O_BUSY },
		{ "proc-root", required_argument, NULL, O_PROC },
		{ "cpu-time", required_argument, NULL, O_CPUT },
		{ "truth", required_argument, NULL, O_TRUTH },
		{ "pid-file", required_argument, NULL, O_PID },
		{ "once", no_argument, NULL, O_ONCE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	char why[160];
	int c;

	memset(o, 0, sizeof(*o));
	o->dir = "/tmp/raplsim";
	o->proc_root = "/proc";
	o->interval_ms = 100;
	o->max_range_uj = DEFAULT_MAX_RANGE_UJ;
	o->busy_override = -1;
	raplsim_curve_defaults(&o->curve);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		double *dp = NULL;
		switch (c) {
		case O_DIR: o->dir = optarg; continue;
		case O_PROC: o->proc_root = optarg; continue;
		case O_CPUT:
			if (strcmp(optarg, "idle") != 0 && strcmp(optarg, "ticks") != 0)
				return bad_value("cpu-time", "idle or ticks", optarg);
			o->tick_fields = strcmp(optarg, "ticks") == 0;
			continue;
		case O_TRUTH: o->truth = optarg; continue;
		case O_PID: o->pid_file = optarg; continue;
		case O_PSYS: o->psys = true; continue;
		case O_ONCE: o->once = true; continue;
		case O_HELP: case 'h': usage(stdout); exit(0);
		case O_INTERVAL:
			if (parse_u64(optarg, &o->interval_ms) < 0 || o->interval_ms < 1 ||
			    o->interval_ms > 60000)
				return bad_value("interval-ms", "1..60000", optarg);
			continue;
		case O_MAXR:
			if (parse_u64(optarg, &o->max_range_uj) < 0 || o->max_range_uj == 0)
				return bad_value("max-range-uj", "a positive integer", optarg);
			continue;
		case O_BUSY:
			if (parse_double(optarg, &o->busy_override) < 0 || o->busy_override < 0 ||
			    o->busy_override > 100000)
				return bad_value("busy-cpus", "a number >= 0", optarg);
			continue;
		case O_IDLE: dp = &o->curve.idle_w; break;
		case O_WPC: dp = &o->curve.w_per_core; break;
		case O_EXP: dp = &o->curve.exponent; break;
		case O_CSHARE: dp = &o->curve.core_share; break;
		case O_CIDLE: dp = &o->curve.core_idle_w; break;
		case O_DIDLE: dp = &o->curve.dram_idle_w; break;
		case O_DWPC: dp = &o->curve.dram_w_per_core; break;
		case O_PSYSX: dp = &o->curve.psys_extra_w; break;
		default: usage(stderr); return -EINVAL;
		}
		if (parse_double(optarg, dp) < 0) {
			fprintf(stderr, "raplsim: %s: not a number: \"%s\"\n", argv[optind - 1], optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "raplsim: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	if (raplsim_curve_check(&o->curve, why, sizeof(why)) < 0) {
		fprintf(stderr, "raplsim: %s\n", why);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sim s;
	struct itimerspec its;
	sigset_t mask;
	int sfd = -1, tfd = -1, ret = 1;
	bool pid_written = false;
	char why[PATH_MAX + 128];

	memset(&s, 0, sizeof(s));
	if (parse_opts(argc, argv, &s.o) < 0)
		return 2;
	s.nzones = s.o.psys ? RS_ZONES : RS_PSYS;
	s.user_hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	s.statbuf = malloc(STAT_CAP);
	if (!s.statbuf) {
		fprintf(stderr, "raplsim: out of memory\n");
		return 1;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0 ||
	    (tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) < 0) {
		fprintf(stderr, "raplsim: signalfd/timerfd: %s\n", strerror(errno));
		goto cleanup;
	}

	if (s.o.busy_override < 0) {
		if (read_stat(&s, &s.last_stat, why, sizeof(why)) < 0) {
			fprintf(stderr, "raplsim: %s\n", why);
			goto cleanup;
		}
		s.have_stat = true;
	}
	if (setup_tree(&s, why, sizeof(why)) < 0) {
		fprintf(stderr, "raplsim: %s\n", why);
		goto cleanup;
	}
	if (s.o.truth) {
		truth_resume(&s);
		s.truth = fopen(s.o.truth, "ae");
		if (!s.truth) {
			fprintf(stderr, "raplsim: %s: %s\n", s.o.truth, strerror(errno));
			goto cleanup;
		}
	}
	if (s.o.pid_file) {
		char pid[32];
		snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		char *slash = strrchr(s.o.pid_file, '/');
		char pdir[PATH_MAX];
		const char *pname = s.o.pid_file;
		if (slash) {
			snprintf(pdir, sizeof(pdir), "%.*s", (int)(slash - s.o.pid_file), s.o.pid_file);
			pname = slash + 1;
		} else {
			snprintf(pdir, sizeof(pdir), ".");
		}
		if (write_atomic(slash == s.o.pid_file ? "/" : pdir, pname, pid, 0644) < 0) {
			fprintf(stderr, "raplsim: cannot write %s\n", s.o.pid_file);
			goto cleanup;
		}
		pid_written = true;
	}

	printf("raplsim: SIMULATED RAPL meter, not a hardware measurement: %s/intel-rapl:0 "
	       "package W = %g + %g * busy^%g, core W = %g + %g * dynamic, dram W = %g + %g * busy%s",
	       s.o.dir, s.o.curve.idle_w, s.o.curve.w_per_core, s.o.curve.exponent,
	       s.o.curve.core_idle_w, s.o.curve.core_share, s.o.curve.dram_idle_w,
	       s.o.curve.dram_w_per_core, s.o.psys ? "" : ";");
	if (s.o.psys)
		printf(", psys W = package + dram + %g;", s.o.curve.psys_extra_w);
	if (s.o.busy_override >= 0)
		printf(" busy fixed at %g CPUs;", s.o.busy_override);
	else
		printf(" busy = busy CPUs from %s/stat (%s);", s.o.proc_root,
		       s.o.tick_fields ? "tick-sampled busy fields" : "measured idle time");
	printf(" every %" PRIu64 " ms, wrap after %" PRIu64 " uJ\n", s.o.interval_ms,
	       s.o.max_range_uj);
	fflush(stdout);

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(s.o.interval_ms / 1000);
	its.it_value.tv_nsec = (long)(s.o.interval_ms % 1000) * 1000000L;
	its.it_interval = its.it_value;
	if (timerfd_settime(tfd, 0, &its, NULL) < 0) {
		fprintf(stderr, "raplsim: timerfd_settime: %s\n", strerror(errno));
		goto cleanup;
	}
	s.last_ns = mono_ns();
	for (;;) {
		struct pollfd pf[2] = { { .fd = sfd, .events = POLLIN }, { .fd = tfd, .events = POLLIN } };
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "raplsim: poll: %s\n", strerror(errno));
			goto cleanup;
		}
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				fprintf(stderr, "raplsim: signal %u, exiting\n", si.ssi_signo);
			break;
		}
		if (pf[1].revents & POLLIN) {
			uint64_t exp;
			if (read(tfd, &exp, sizeof(exp)) != (ssize_t)sizeof(exp))
				continue;
			if (update(&s, why, sizeof(why)) < 0) {
				fprintf(stderr, "raplsim: %s\n", why);
				goto cleanup;
			}
			if (s.o.once)
				break;
		}
	}
	ret = 0;
cleanup:
	if (s.truth && fclose(s.truth) != 0)
		ret = 1;
	if (pid_written)
		unlink(s.o.pid_file);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	free(s.statbuf);
	return ret;
}

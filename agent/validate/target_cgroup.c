/* target_cgroup.c - the standalone workload target: instance k of a command runs in
 * its own new cgroup under the agent's CPU hierarchy. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "validate.h"

#define MAX_ARGS 64

struct cg_target {
	char cpu_root[PATH_MAX];
	char relbase[256];
	char *argv[MAX_ARGS + 1];
	bool base_made;
	int n;                          /* instances started */
	pid_t pid[VALIDATE_MAX_STEPS + 1];
	bool reaped[VALIDATE_MAX_STEPS + 1];
	bool made[VALIDATE_MAX_STEPS + 1];
};

static int dir_of(const struct cg_target *c, int step, char *out, size_t cap)
{
	if (step == 0)
		return fmt_path(out, cap, "%s%s", c->cpu_root, c->relbase);
	return fmt_path(out, cap, "%s%s/step%d", c->cpu_root, c->relbase, step);
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;
	size_t n = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, n) != (ssize_t)n)
		rc = -errno;
	close(fd);
	return rc;
}

static int scale_up(void *impl, int step, char *key, size_t cap, struct wl_err *err)
{
	struct cg_target *c = impl;
	char dir[PATH_MAX], procs[PATH_MAX], pidtxt[32];
	int sync_pipe[2], rc;
	pid_t pid;
	char go = 'g';

	if (step < 1 || step > VALIDATE_MAX_STEPS || step != c->n + 1)
		return err_set(err, EINVAL, "instance %d out of order", step);
	if (!c->base_made) {
		if (dir_of(c, 0, dir, sizeof(dir)) != 0)
			return err_set(err, ENAMETOOLONG, "cgroup path too long");
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return err_set(err, errno, "cannot create cgroup %s: %s", dir, strerror(errno));
		c->base_made = true;
	}
	if (dir_of(c, step, dir, sizeof(dir)) != 0 ||
	    fmt_path(procs, sizeof(procs), "%s/cgroup.procs", dir) != 0 ||
	    fmt_path(key, cap, "%s/step%d", c->relbase, step) != 0)
		return err_set(err, ENAMETOOLONG, "cgroup path too long");
	if (mkdir(dir, 0755) != 0)
		return err_set(err, errno, "cannot create cgroup %s: %s", dir, strerror(errno));
	c->made[step] = true;
	if (pipe2(sync_pipe, O_CLOEXEC) != 0)
		return err_set(err, errno, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(sync_pipe[0]);
		close(sync_pipe[1]);
		return err_set(err, -rc, "fork: %s", strerror(-rc));
	}
	if (pid == 0) {
		/* child: wait until the parent has moved us into the cgroup, then exec */
		char b;
		int devnull = open("/dev/null", O_RDONLY);
		close(sync_pipe[1]);
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			close(devnull);
		}
		if (read(sync_pipe[0], &b, 1) != 1)
			_exit(126);
		execvp(c->argv[0], c->argv);
		_exit(127);
	}
	close(sync_pipe[0]);
	c->pid[step] = pid;
	c->reaped[step] = false;
	c->n = step;
	snprintf(pidtxt, sizeof(pidtxt), "%d\n", (int)pid);
	rc = write_text(procs, pidtxt);
	if (rc != 0) {
		close(sync_pipe[1]); /* child reads EOF and exits 126 */
		return err_set(err, -rc, "cannot move pid %d into %s: %s", (int)pid, procs,
			       strerror(-rc));
	}
	if (write(sync_pipe[1], &go, 1) != 1) {
		rc = -errno;
		close(sync_pipe[1]);
		return err_set(err, -rc, "cannot start instance %d: %s", step, strerror(-rc));
	}
	close(sync_pipe[1]);
	return 0;
}

static bool alive(void *impl, int step)
{
	struct cg_target *c = impl;
	int status;

	if (step < 1 || step > c->n || c->reaped[step])
		return false;
	if (waitpid(c->pid[step], &status, WNOHANG) == c->pid[step]) {
		c->reaped[step] = true;
		return false;
	}
	return true;
}

/* CPU seconds of instance `step` from its cgroup: cgroup v2 cpu.stat usage_usec, or v1
 * cpuacct.usage (nanoseconds). Read by the validator at the window edge. */
static int cpu_s(void *impl, int step, double *seconds)
{
	struct cg_target *c = impl;
	char dir[PATH_MAX], path[PATH_MAX], buf[4096];
	unsigned long long v;
	const char *p;
	int rc;

	if (step < 1 || step > c->n || !c->made[step] || !seconds ||
	    dir_of(c, step, dir, sizeof(dir)) != 0 ||
	    fmt_path(path, sizeof(path), "%s/cpu.stat", dir) != 0)
		return -EINVAL;
	rc = read_file(path, buf, sizeof(buf), NULL);
	if (rc == 0) {
		p = strstr(buf, "usage_usec ");
		if (p && (p == buf || p[-1] == '\n') && sscanf(p, "usage_usec %llu", &v) == 1) {
			*seconds = (double)v / 1e6;
			return 0;
		}
	}
	if (fmt_path(path, sizeof(path), "%s/cpuacct.usage", dir) != 0)
		return -ENAMETOOLONG;
	rc = read_file(path, buf, sizeof(buf), NULL);
	if (rc)
		return rc;
	if (sscanf(buf, "%llu", &v) != 1)
		return -EINVAL;
	*seconds = (double)v / 1e9;
	return 0;
}

/* SIGKILLs every process in dir/cgroup.procs; returns how many were listed. */
static int kill_procs(const char *dir)
{
	char path[PATH_MAX], buf[8192];
	int n = 0;

	if (fmt_path(path, sizeof(path), "%s/cgroup.procs", dir) != 0 ||
	    read_file(path, buf, sizeof(buf), NULL) != 0)
		return 0;
	for (char *p = buf, *end; *p; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v > 1) {
			kill((pid_t)v, SIGKILL);
			n++;
		}
	}
	return n;
}

static void teardown(void *impl)
{
	struct cg_target *c = impl;
	char dir[PATH_MAX];

	for (int s = 1; s <= c->n; s++) {
		if (!c->reaped[s] && c->pid[s] > 0) {
			kill(-c->pid[s], SIGKILL); /* its process group */
			kill(c->pid[s], SIGKILL);
		}
	}
	for (int s = 1; s <= c->n; s++) {
		if (!c->reaped[s] && c->pid[s] > 0) {
			waitpid(c->pid[s], NULL, 0);
			c->reaped[s] = true;
		}
	}
	for (int s = VALIDATE_MAX_STEPS; s >= 1; s--) {
		if (!c->made[s] || dir_of(c, s, dir, sizeof(dir)) != 0)
			continue;
		/* processes that left the group (daemonised) still die with the cgroup;
		 * rmdir fails with EBUSY until the kernel has freed the last task */
		for (int tries = 0; tries < 500; tries++) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			kill_procs(dir);
			if (rmdir(dir) == 0 || errno == ENOENT)
				break;
			nanosleep(&ts, NULL);
		}
		c->made[s] = false;
	}
	if (c->base_made && dir_of(c, 0, dir, sizeof(dir)) == 0) {
		rmdir(dir);
		c->base_made = false;
	}
}

static void target_free(void *impl)
{
	struct cg_target *c = impl;

	if (!c)
		return;
	for (int i = 0; i < MAX_ARGS && c->argv[i]; i++)
		free(c->argv[i]);
	free(c);
}

static const struct vtarget_ops cg_ops = {
	.scale_up = scale_up,
	.alive = alive,
	.cpu_s = cpu_s,
	.teardown = teardown,
	.free = target_free,
};

int vtarget_cgroup_new(struct vtarget *t, const char *cpu_root, const char *relbase,
		       const char *const *argv, struct wl_err *err)
{
	struct cg_target *c;

	if (!t || !cpu_root || !relbase || relbase[0] != '/' || !argv || !argv[0])
		return err_set(err, EINVAL, "vtarget_cgroup_new: bad arguments");
	t->ops = NULL;
	t->impl = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(err, ENOMEM, "out of memory");
	if (fmt_path(c->cpu_root, sizeof(c->cpu_root), "%s", cpu_root) != 0 ||
	    fmt_path(c->relbase, sizeof(c->relbase), "%s", relbase) != 0) {
		free(c);
		return err_set(err, ENAMETOOLONG, "cgroup path too long");
	}
	for (int i = 0; argv[i]; i++) {
		if (i == MAX_ARGS) {
			target_free(c);
			return err_set(err, E2BIG, "more than %d arguments", MAX_ARGS);
		}
		c->argv[i] = strdup(argv[i]);
		if (!c->argv[i]) {
			target_free(c);
			return err_set(err, ENOMEM, "out of memory");
		}
	}
	t->ops = &cg_ops;
	t->impl = c;
	return 0;
}

void vtarget_close(struct vtarget *t)
{
	if (!t || !t->ops)
		return;
	t->ops->teardown(t->impl);
	t->ops->free(t->impl);
	t->ops = NULL;
	t->impl = NULL;
}

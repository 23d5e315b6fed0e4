/* report.c - the validation report as JSON (jansson), and the state file the daemon
 * exports as metrics: {"version":1,"node":{report},"workload":{report}}, each kind
 * holding its last result. Written atomically (temp file, fsync, rename). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "validate.h"

#define STATE_FILE_MAX (4u << 20)

/* A finite number, or null (JSON has no NaN/Inf). */
static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jstats(const struct vstats *s)
{
	return json_pack("{s:I,s:o,s:o,s:o,s:I}", "n", (json_int_t)s->n, "mean_w", jnum(s->mean),
			 "stddev_w", jnum(s->stddev), "ci95_w", jnum(s->ci95), "dropped",
			 (json_int_t)s->dropped);
}

/* The CPU used outside the instances in one phase, cores. */
static json_t *jother(const struct vother_cpu *o)
{
	return json_pack("{s:I,s:o,s:o,s:o,s:o}", "n", (json_int_t)o->cores.n, "mean_cores",
			 jnum(o->cores.mean), "stddev_cores", jnum(o->cores.stddev), "ci95_cores",
			 jnum(o->cores.ci95), "drift_cores", jnum(o->drift));
}

static json_t *jzones(uint32_t mask)
{
	json_t *a = json_array();

	for (int z = 0; z < ZONE_COUNT && a; z++)
		if (mask & (1u << z))
			json_array_append_new(a, json_string(zone_name((enum zone)z)));
	return a;
}

static json_t *jchecks(const struct validate_checks *c)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:b,s:o,s:{s:b,s:I,s:I,s:I,s:I,s:I,s:I,"
			 "s:b,s:s}}",
			 "cpu_model", c->cpu_model, "cpu_vendor", c->cpu_vendor, "arch", c->arch,
			 "kernel", c->kernel, "cpus", (json_int_t)c->cpus, "meter", c->meter,
			 "meter_detail", c->meter_detail, "simulated", c->simulated,
			 "zones_supported", jzones(c->zone_mask),
			 "meter_sanity", "sane", c->sane, "windows", (json_int_t)c->windows,
			 "resets", (json_int_t)c->resets, "read_errors", (json_int_t)c->read_errors,
			 "implausible_windows", (json_int_t)c->implausible,
			 "agent_resets", (json_int_t)c->agent_resets,
			 "agent_errors", (json_int_t)c->agent_errors,
			 "agent_meter_matches", c->agent_meter_matches, "notes", c->notes);
}

/* worst |deviation| step of the workload report (its signed value), NAN if none */
static double worst_step(const struct validate_report *r)
{
	double w = NAN;

	for (int i = 0; i < r->n_steps; i++) {
		double d = r->steps[i].deviation_pct;
		if (!isfinite(d))
			return d;
		if (!isfinite(w) || fabs(d) > fabs(w))
			w = d;
	}
	return w;
}

static json_t *report_obj(const struct validate_report *r)
{
	json_t *o, *summary, *dev, *x;
	bool node = r->kind && strcmp(r->kind, "node") == 0;

	dev = json_object();
	if (node) {
		for (int z = 0; z < ZONE_COUNT; z++)
			if (r->zone_mask & (1u << z))
				json_object_set_new(dev, zone_name((enum zone)z),
						    jnum(r->zones[z].deviation_pct));
	} else if (r->n_steps > 0) {
		json_object_set_new(dev, zone_name(r->zone), jnum(worst_step(r)));
	}
	summary = json_pack("{s:s,s:b,s:o}", "verdict", verdict_name(r->verdict), "passed",
			    r->verdict == VERDICT_PASS, "deviation_percent", dev);
	o = json_pack("{s:s,s:s,s:b,s:s,s:o,s:o,s:I,s:o,s:{s:o,s:o,s:o,s:o},s:o}",
		      "kind", r->kind ? r->kind : "unknown", "verdict", verdict_name(r->verdict),
		      "passed", r->verdict == VERDICT_PASS, "reason", r->reason,
		      "timestamp", jnum(r->timestamp_s), "summary", summary,
		      "samples", (json_int_t)r->samples, "sample_seconds", jnum(r->sample_s),
		      "thresholds", "node_percent", jnum(r->thr.node_pct), "workload_percent",
		      jnum(r->thr.workload_pct), "max_noise_fraction", jnum(r->thr.max_noise),
		      "min_step_watts", jnum(r->thr.min_step_w), "checks", jchecks(&r->checks));
	if (o) {
		json_object_set_new(json_object_get(o, "thresholds"), "max_baseline_utilization",
				    jnum(r->thr.max_baseline_util));
		json_object_set_new(json_object_get(o, "thresholds"), "max_other_cpu_bias_fraction",
				    jnum(r->thr.max_other_bias));
	}
	if (!o)
		return NULL;
	if (node) {
		x = json_object();
		for (int z = 0; z < ZONE_COUNT; z++) {
			const struct vzone_result *zr = &r->zones[z];
			if (!(r->zone_mask & (1u << z)))
				continue;
			json_object_set_new(x, zone_name((enum zone)z),
					    json_pack("{s:o,s:o,s:o,s:o,s:o,s:b}", "sampler",
						      jstats(&zr->sampler_w), "wattlet",
						      jstats(&zr->agent_w), "sampler_joules",
						      jnum(zr->sampler_j), "wattlet_joules",
						      jnum(zr->agent_j), "deviation_percent",
						      jnum(zr->deviation_pct), "pass", zr->pass));
		}
		json_object_set_new(o, "node", json_pack("{s:o}", "zones", x));
	} else {
		json_t *steps = json_array();
		for (int i = 0; i < r->n_steps && steps; i++) {
			const struct vstep_result *s = &r->steps[i];
			json_t *st = json_pack("{s:i,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}", "step",
					       s->step, "instance", s->key, "node",
					       jstats(&s->node_w), "sampler_delta_w",
					       jnum(s->delta_w), "sampler_delta_ci95_w",
					       jnum(s->delta_ci95), "wattlet", jstats(&s->wattlet_w),
					       "all_instances_delta_w",
					       jnum(s->all_instances_delta_w), "deviation_percent",
					       jnum(s->deviation_pct), "deviation_ci95_percent",
					       jnum(s->deviation_ci95), "pass", s->pass);
			json_t *oc = r->other_known ? jother(&s->other) : NULL;
			if (oc) {
				json_object_set_new(oc, "change_cores", jnum(s->other_change));
				json_object_set_new(oc, "limit_cores", jnum(s->other_limit));
			}
			if (st) {
				json_object_set_new(st, "instance_cpu_cores", jnum(s->cpu.mean));
				json_object_set_new(st, "other_cpu", oc ? oc : json_null());
			} else {
				json_decref(oc);
			}
			json_array_append_new(steps, st);
		}
		x = json_pack("{s:s,s:s,s:i,s:o,s:o,s:o,s:o,s:o}", "zone", zone_name(r->zone),
			      "command", r->command, "attempt", r->attempt > 0 ? r->attempt : 1,
			      "baseline", jstats(&r->baseline_w), "baseline_cpu_utilization",
			      r->baseline_cpu_util >= 0 ? jnum(r->baseline_cpu_util) : json_null(),
			      "baseline_other_cpu",
			      r->other_known ? jother(&r->baseline_other) : json_null(),
			      "expected_step_w", jnum(r->expected_step_w), "steps",
			      steps ? steps : json_array());
		json_object_set_new(o, "workload", x);
	}
	return o;
}

int validate_report_json(const struct validate_report *r, struct strbuf *out)
{
	json_t *o;
	char *text;
	int rc;

	if (!r || !out)
		return -EINVAL;
	o = report_obj(r);
	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
	json_decref(o);
	if (!text)
		return -ENOMEM;
	rc = strbuf_adds(out, text);
	if (rc == 0)
		rc = strbuf_adds(out, "\n");
	free(text);
	return rc;
}

static json_t *load_root(const char *path, struct wl_err *err, int *rc)
{
	char *buf = malloc(STATE_FILE_MAX);
	json_error_t je;
	json_t *root = NULL;
	size_t len = 0;

	*rc = 0;
	if (!buf) {
		*rc = err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	*rc = read_file(path, buf, STATE_FILE_MAX, &len);
	if (*rc) {
		if (*rc == -ENOENT)
			err_set(err, ENOENT, "%s does not exist", path);
		else
			err_set(err, -*rc, "cannot read %s: %s", path, strerror(-*rc));
		goto cleanup;
	}
	root = json_loadb(buf, len, 0, &je);
	if (!root || !json_is_object(root)) {
		*rc = err_set(err, EINVAL, "%s: not a validation state file (%s)", path,
			      root ? "not a JSON object" : je.text);
		json_decref(root);
		root = NULL;
	}
cleanup:
	free(buf);
	return root;
}

int validate_state_store(const char *path, const struct validate_report *r, struct wl_err *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	json_t *root, *rep;
	char *text = NULL;
	int fd = -1, rc = 0;
	size_t len;

	if (!path || !*path || !r || !r->kind)
		return err_set(err, EINVAL, "validate_state_store: bad arguments");
	root = load_root(path, NULL, &rc);
	if (!root)
		root = json_object(); /* missing or garbage: start afresh */
	rc = 0;
	rep = report_obj(r);
	if (!root || !rep) {
		json_decref(rep);
		rc = err_set(err, ENOMEM, "out of memory");
		goto cleanup;
	}
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, r->kind, rep);
	text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	if (!text) {
		rc = err_set(err, ENOMEM, "out of memory");
		goto cleanup;
	}
	if (fmt_path(dir, sizeof(dir), "%s", path) != 0 ||
	    fmt_path(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) != 0) {
		rc = err_set(err, ENAMETOOLONG, "path too long: %s", path);
		goto cleanup;
	}
	if (mkdir(dirname(dir), 0755) != 0 && errno != EEXIST) {
		rc = err_set(err, errno, "cannot create the directory of %s: %s", path,
			     strerror(errno));
		goto cleanup;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = err_set(err, errno, "cannot write %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		rc = err_set(err, errno ? errno : EIO, "cannot write %s: %s", tmp,
			     strerror(errno ? errno : EIO));
		goto cleanup;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = err_set(err, errno, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto cleanup;
	}
cleanup:
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	free(text);
	json_decref(root);
	return rc;
}

static void load_kind(const json_t *o, struct export_validation *v)
{
	const json_t *dev = json_object_get(json_object_get(o, "summary"), "deviation_percent");
	const char *verdict = json_string_value(json_object_get(o, "verdict"));
	const json_t *ts = json_object_get(o, "timestamp");
	const char *zk;
	json_t *zv;

	memset(v, 0, sizeof(*v));
	if (!json_is_object(o) || !verdict)
		return;
	v->present = true;
	v->passed = strcmp(verdict, "pass") == 0;
	v->timestamp_s = json_is_number(ts) ? json_number_value(ts) : 0;
	if (!json_is_object(dev))
		return;
	json_object_foreach((json_t *)dev, zk, zv) {
		int z = zone_from_name(zk);
		if (z < 0 || !json_is_number(zv))
			continue;
		v->deviation_percent[z] = json_number_value(zv);
		v->zone_mask |= 1u << z;
	}
}

int validate_state_load(const char *path, struct export_validation v[EXPORT_VALIDATION_KINDS],
			struct wl_err *err)
{
	json_t *root;
	int rc;

	if (!path || !v)
		return err_set(err, EINVAL, "validate_state_load: bad arguments");
	memset(v, 0, sizeof(*v) * EXPORT_VALIDATION_KINDS);
	root = load_root(path, err, &rc);
	if (!root)
		return rc;
	load_kind(json_object_get(root, "node"), &v[EXPORT_VALIDATION_NODE]);
	load_kind(json_object_get(root, "workload"), &v[EXPORT_VALIDATION_WORKLOAD]);
	json_decref(root);
	return 0;
}

int validate_state_poll(const char *path, struct validate_watch *w,
			struct export_validation v[EXPORT_VALIDATION_KINDS], struct wl_err *err)
{
	struct stat st;
	int64_t mt;
	int rc;

	if (!path || !*path || !w || !v)
		return 0;
	if (stat(path, &st) != 0) {
		if (!w->seen)
			return 0;
		w->seen = false;
		memset(v, 0, sizeof(*v) * EXPORT_VALIDATION_KINDS);
		return err_set(err, ENOENT, "%s was removed", path);
	}
	mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	if (w->seen && mt == w->mtime_ns && (int64_t)st.st_size == w->size)
		return 0;
	w->seen = true;
	w->mtime_ns = mt;
	w->size = (int64_t)st.st_size;
	rc = validate_state_load(path, v, err);
	return rc ? rc : 1;
}

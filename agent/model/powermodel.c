/* powermodel.c - see powermodel.h. */
#include "powermodel.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "../common/numfmt.h"
#include "../common/yamllimit.h"

#define MAX_LIST 64 /* more list items than this is rejected before validation */

const char *pm_attribution_name(enum pm_attribution a)
{
	return a == PM_ATTR_REGRESSION ? "regression" : "ratio";
}

double pm_feature_unit(enum feature f)
{
	switch (f) {
	case FEAT_CPU_TIME: return 1e-9;      /* ns/s -> cores */
	case FEAT_INSTRUCTIONS: return 1e-9;  /* 1/s -> 1e9/s */
	case FEAT_CYCLES: return 1e-9;
	case FEAT_CACHE_MISSES: return 1e-6;  /* 1/s -> 1e6/s */
	case FEAT_TASK_CLOCK: return 1e-9;    /* ns/s -> cores */
	default: return 0;
	}
}

void pm_rates(const uint64_t delta[FEAT_COUNT], uint64_t dt_ns, double rate[FEAT_COUNT])
{
	for (int f = 0; f < FEAT_COUNT; f++)
		rate[f] = dt_ns ? (double)delta[f] / (dt_ns / 1e9) * pm_feature_unit(f) : 0;
}

double pm_predict_dynamic_w(const struct pm_zone *z, const double rate[FEAT_COUNT])
{
	double p = 0;

	if (!z || !z->has_regression)
		return 0;
	for (int f = 0; f < FEAT_COUNT; f++)
		if ((z->coef_mask & (1u << f)) && rate[f] > 0 && isfinite(rate[f]))
			p += z->weight[f] * rate[f];
	return p > 0 ? p : 0;
}

double pm_predict_w(const struct pm_zone *z, const double rate[FEAT_COUNT])
{
	if (!z || !z->has_regression)
		return 0;
	return z->intercept_w + pm_predict_dynamic_w(z, rate);
}

uint32_t pm_estimated_mask(const struct powermodel *m)
{
	uint32_t mask = 0;

	for (int z = 0; m && z < ZONE_COUNT; z++)
		if (m->zone[z].present && m->zone[z].estimated)
			mask |= 1u << z;
	return mask;
}

/* ---- validation --------------------------------------------------------------- */

static int check_num(struct wl_err *err, const char *field, double v)
{
	if (isnan(v))
		return err_set(err, EINVAL, "%s: NaN is not a number (must be a finite value >= 0)", field);
	if (!isfinite(v))
		return err_set(err, EINVAL, "%s: infinite (must be a finite value >= 0)", field);
	if (v < 0)
		return err_set(err, EINVAL, "%s: %g is negative (must be >= 0)", field, v);
	if (v > 1e6)
		return err_set(err, EINVAL, "%s: %g is absurd (more than 1 MW)", field, v);
	return 0;
}

static const char feature_list[] = "cpu_time, instructions, cycles, cache_misses, task_clock";
static const char zone_list[] = "package, core, uncore, dram, platform, gpu";

static int zone_from_spec(const struct pm_zone_in *zi, size_t i, struct powermodel *out,
			  struct wl_err *err)
{
	char f[160];
	struct pm_zone *pz;
	int z, ft;

	snprintf(f, sizeof(f), "spec.zones[%zu]", i);
	if (!zi->zone)
		return err_set(err, EINVAL, "%s.zone: missing (one of %s)", f, zone_list);
	z = zone_from_name(zi->zone);
	if (z < 0)
		return err_set(err, EINVAL, "%s.zone: unknown zone '%s' (one of %s)", f, zi->zone, zone_list);
	pz = &out->zone[z];
	if (pz->present)
		return err_set(err, EINVAL, "%s.zone: zone '%s' is listed twice", f, zi->zone);
	pz->present = true;
	pz->idle_w = -1;
	if (!zi->source || strcmp(zi->source, "measured") == 0)
		pz->estimated = false;
	else if (strcmp(zi->source, "estimated") == 0)
		pz->estimated = true;
	else
		return err_set(err, EINVAL, "%s.source: unknown source '%s' (measured or estimated)", f,
			       zi->source);
	if (zi->has_idle) {
		char g[200];
		snprintf(g, sizeof(g), "%s.idleWatts", f);
		if (check_num(err, g, zi->idle_watts))
			return -EINVAL;
		pz->idle_w = zi->idle_watts;
	}
	pz->feature = FEAT_CPU_TIME;
	if (zi->feature) {
		ft = feature_from_name(zi->feature);
		if (ft < 0)
			return err_set(err, EINVAL, "%s.feature: unknown feature '%s' (one of %s)", f,
				       zi->feature, feature_list);
		pz->feature = (enum feature)ft;
	}
	if (!zi->has_regression) {
		if (pz->estimated)
			return err_set(err, EINVAL, "%s.regression: missing; source: estimated needs a "
				       "regression (interceptWatts and coefficients) to estimate zone %s",
				       f, zi->zone);
		return 0;
	}
	pz->has_regression = true;
	if (!zi->has_intercept)
		return err_set(err, EINVAL, "%s.regression.interceptWatts: missing", f);
	{
		char g[200];
		snprintf(g, sizeof(g), "%s.regression.interceptWatts", f);
		if (check_num(err, g, zi->intercept_watts))
			return -EINVAL;
	}
	pz->intercept_w = zi->intercept_watts;
	if (zi->n_coef == 0 || zi->n_coef > PM_MAX_COEF)
		return err_set(err, EINVAL, "%s.regression.coefficients: %zu items (must be 1..%d)", f,
			       zi->n_coef, PM_MAX_COEF);
	for (size_t c = 0; c < zi->n_coef; c++) {
		const struct pm_coef_in *ci = &zi->coef[c];
		char g[320];
		snprintf(g, sizeof(g), "%s.regression.coefficients[%zu]", f, c);
		if (!ci->feature)
			return err_set(err, EINVAL, "%s.feature: missing (one of %s)", g, feature_list);
		ft = feature_from_name(ci->feature);
		if (ft < 0)
			return err_set(err, EINVAL, "%s.feature: unknown feature '%s' (one of %s)", g,
				       ci->feature, feature_list);
		if (pz->coef_mask & (1u << ft))
			return err_set(err, EINVAL, "%s.feature: '%s' is listed twice", g, ci->feature);
		if (!ci->has_weight)
			return err_set(err, EINVAL, "%s.weight: missing", g);
		snprintf(g + strlen(g), sizeof(g) - strlen(g), ".weight");
		if (check_num(err, g, ci->weight))
			return -EINVAL;
		pz->coef_mask |= 1u << ft;
		pz->weight[ft] = ci->weight;
	}
	return 0;
}

int pm_from_spec(const struct pm_spec_in *in, struct powermodel *out, struct wl_err *err)
{
	size_t n;

	if (!in || !out)
		return err_set(err, EINVAL, "no PowerModel given");
	memset(out, 0, sizeof(*out));
	out->fit_r2 = out->fit_mape = out->fit_holdout = NAN;
	out->fit_samples = -1;
	if (!in->name || !in->name[0])
		return err_set(err, EINVAL, "metadata.name: missing");
	n = strlen(in->name);
	if (n > PM_NAME_MAX)
		return err_set(err, EINVAL, "metadata.name: %zu characters (at most %d)", n, PM_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char ch = in->name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
			return err_set(err, EINVAL, "metadata.name: '%s' is not a DNS subdomain name "
				       "(lower-case letters, digits, '-', '.')", in->name);
	}
	memcpy(out->name, in->name, n + 1);
	if (in->has_priority) {
		if (in->priority < 0 || in->priority > 1000)
			return err_set(err, EINVAL, "spec.priority: %lld is outside 0..1000",
				       (long long)in->priority);
		out->priority = (int)in->priority;
	}
	if (!in->attribution || strcmp(in->attribution, "ratio") == 0)
		out->attribution = PM_ATTR_RATIO;
	else if (strcmp(in->attribution, "regression") == 0)
		out->attribution = PM_ATTR_REGRESSION;
	else
		return err_set(err, EINVAL, "spec.attribution: unknown '%s' (ratio or regression)",
			       in->attribution);
	if (in->n_zones == 0 || in->n_zones > ZONE_COUNT)
		return err_set(err, EINVAL, "spec.zones: %zu items (must be 1..%d)", in->n_zones, ZONE_COUNT);
	for (size_t i = 0; i < in->n_zones; i++)
		if (zone_from_spec(&in->zones[i], i, out, err))
			return -EINVAL;
	if (out->attribution == PM_ATTR_REGRESSION) {
		bool any = false;
		for (int z = 0; z < ZONE_COUNT; z++)
			any |= out->zone[z].has_regression;
		if (!any)
			return err_set(err, EINVAL, "spec.attribution: regression, but no zone has a "
				       "regression to attribute by");
	}
	return 0;
}

/* ---- YAML ------------------------------------------------------------------------ */

struct yctx {
	yaml_document_t *doc;
	struct wl_err *err;
};

static int ybad(struct yctx *y, const yaml_node_t *n, const char *field, const char *what)
{
	return err_set(y->err, EINVAL, "line %zu column %zu: %s: %s", n->start_mark.line + 1,
		       n->start_mark.column + 1, field, what);
}

static const char *yscalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int yget_str(struct yctx *y, const yaml_node_t *n, const char *field, const char **out)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return ybad(y, n, field, "expected a string");
	*out = (const char *)n->data.scalar.value;
	return 0;
}

/* A number; NaN and infinities pass through so validation names them. */
static int yget_num(struct yctx *y, const yaml_node_t *n, const char *field, double *out)
{
	const char *s = yscalar(n);
	char *end;

	if (!s || n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
	    n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
		return ybad(y, n, field, "expected a number");
	if (!strcasecmp(s, ".nan") || !strcasecmp(s, "nan")) {
		*out = NAN;
		return 0;
	}
	if (!strcasecmp(s, ".inf") || !strcasecmp(s, "+.inf") || !strcasecmp(s, "inf")) {
		*out = INFINITY;
		return 0;
	}
	if (!strcasecmp(s, "-.inf") || !strcasecmp(s, "-inf")) {
		*out = -INFINITY;
		return 0;
	}
	errno = 0;
	*out = strtod(s, &end);
	if (end == s || *end || errno == ERANGE) {
		char w[120];
		snprintf(w, sizeof(w), "'%.60s' is not a number", s);
		return ybad(y, n, field, w);
	}
	return 0;
}

static int yget_map(struct yctx *y, const yaml_node_t *n, const char *field)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return ybad(y, n, field, "expected a mapping");
	return 0;
}

static yaml_node_t *ynode(struct yctx *y, int id)
{
	return yaml_document_get_node(y->doc, id);
}

/* The key and value nodes of a mapping pair; returns the key's text (NULL: not a scalar). */
static const char *ypair(struct yctx *y, const yaml_node_pair_t *p, yaml_node_t **k,
			 yaml_node_t **v)
{
	*k = ynode(y, p->key);
	*v = ynode(y, p->value);
	return yscalar(*k);
}

static int parse_coefs(struct yctx *y, yaml_node_t *seq, const char *field, struct pm_zone_in *zi,
		       struct pm_coef_in **store)
{
	size_t n;

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return ybad(y, seq, field, "expected a list");
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n > MAX_LIST)
		return ybad(y, seq, field, "too many items");
	*store = calloc(n ? n : 1, sizeof(**store));
	if (!*store)
		return err_set(y->err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = ynode(y, seq->data.sequence.items.start[i]);
		char g[200];
		snprintf(g, sizeof(g), "%.170s[%zu]", field, i);
		if (yget_map(y, it, g))
			return -EINVAL;
		for (yaml_node_pair_t *p = it->data.mapping.pairs.start; p < it->data.mapping.pairs.top; p++) {
			yaml_node_t *k, *v;
			const char *key = ypair(y, p, &k, &v);
			char h[300];
			snprintf(h, sizeof(h), "%.200s.%.64s", g, key ? key : "?");
			if (key && strcmp(key, "feature") == 0) {
				if (yget_str(y, v, h, &(*store)[i].feature))
					return -EINVAL;
			} else if (key && strcmp(key, "weight") == 0) {
				if (yget_num(y, v, h, &(*store)[i].weight))
					return -EINVAL;
				(*store)[i].has_weight = true;
			} else {
				return ybad(y, k, h, "unknown field (feature, weight)");
			}
		}
	}
	zi->coef = *store;
	zi->n_coef = n;
	return 0;
}

static int parse_zone(struct yctx *y, yaml_node_t *it, const char *field, struct pm_zone_in *zi,
		      struct pm_coef_in **store)
{
	if (yget_map(y, it, field))
		return -EINVAL;
	for (yaml_node_pair_t *p = it->data.mapping.pairs.start; p < it->data.mapping.pairs.top; p++) {
		yaml_node_t *k, *v;
		const char *key = ypair(y, p, &k, &v);
		char h[200];
		int rc = 0;

		snprintf(h, sizeof(h), "%.100s.%.64s", field, key ? key : "?");
		if (!key)
			return ybad(y, k, field, "keys must be strings");
		if (strcmp(key, "zone") == 0) {
			rc = yget_str(y, v, h, &zi->zone);
		} else if (strcmp(key, "source") == 0) {
			rc = yget_str(y, v, h, &zi->source);
		} else if (strcmp(key, "feature") == 0) {
			rc = yget_str(y, v, h, &zi->feature);
		} else if (strcmp(key, "idleWatts") == 0) {
			rc = yget_num(y, v, h, &zi->idle_watts);
			zi->has_idle = true;
		} else if (strcmp(key, "regression") == 0) {
			if (yget_map(y, v, h))
				return -EINVAL;
			zi->has_regression = true;
			for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
				yaml_node_t *rk, *rv;
				const char *rkey = ypair(y, q, &rk, &rv);
				char g[240];
				snprintf(g, sizeof(g), "%.170s.%.64s", h, rkey ? rkey : "?");
				if (rkey && strcmp(rkey, "interceptWatts") == 0) {
					rc = yget_num(y, rv, g, &zi->intercept_watts);
					zi->has_intercept = true;
				} else if (rkey && strcmp(rkey, "coefficients") == 0) {
					rc = parse_coefs(y, rv, g, zi, store);
				} else {
					rc = ybad(y, rk, g, "unknown field (interceptWatts, coefficients)");
				}
				if (rc)
					return rc;
			}
		} else {
			rc = ybad(y, k, h, "unknown field (zone, source, idleWatts, feature, regression)");
		}
		if (rc)
			return rc;
	}
	return 0;
}

void pm_set_fit_annotation(struct powermodel *pm, const char *key, double d)
{
	if (strcmp(key, "wattlet.dev/fit-r2") == 0)
		pm->fit_r2 = d;
	else if (strcmp(key, "wattlet.dev/fit-mape") == 0)
		pm->fit_mape = d;
	else if (strcmp(key, "wattlet.dev/fit-holdout") == 0)
		pm->fit_holdout = d;
	else if (strcmp(key, "wattlet.dev/fit-samples") == 0 && d >= 0 && d < 1e15)
		pm->fit_samples = (long)d;
}

static void read_annotations(struct yctx *y, yaml_node_t *m, struct powermodel *pm)
{
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = yscalar(ynode(y, p->key)), *v = yscalar(ynode(y, p->value));
		double d;
		if (!k || !v || parse_double(v, &d) != 0)
			continue;
		pm_set_fit_annotation(pm, k, d);
	}
}

static int parse_doc(struct yctx *y, struct powermodel *out)
{
	yaml_node_t *root = yaml_document_get_root_node(y->doc), *annot = NULL;
	struct pm_spec_in in = { 0 };
	struct pm_zone_in *zones = NULL;
	struct pm_coef_in **coefs = NULL;
	const char *api = NULL, *kind = NULL;
	size_t nz = 0;
	int rc = -EINVAL;

	if (!root)
		return err_set(y->err, EINVAL, "empty document (expected a PowerModel)");
	if (yget_map(y, root, "(document)"))
		return -EINVAL;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k, *v;
		const char *key = ypair(y, p, &k, &v);
		if (!key) {
			ybad(y, k, "(document)", "keys must be strings");
			goto cleanup;
		}
		if (strcmp(key, "apiVersion") == 0) {
			if (yget_str(y, v, key, &api))
				goto cleanup;
		} else if (strcmp(key, "kind") == 0) {
			if (yget_str(y, v, key, &kind))
				goto cleanup;
		} else if (strcmp(key, "metadata") == 0) {
			if (yget_map(y, v, key))
				goto cleanup;
			for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
				const char *mk = yscalar(ynode(y, q->key));
				yaml_node_t *mv = ynode(y, q->value);
				if (mk && strcmp(mk, "name") == 0) {
					if (yget_str(y, mv, "metadata.name", &in.name))
						goto cleanup;
				} else if (mk && strcmp(mk, "annotations") == 0) {
					if (yget_map(y, mv, "metadata.annotations"))
						goto cleanup;
					annot = mv;
				}
				/* labels, uid, ... are the API server's business */
			}
		} else if (strcmp(key, "spec") == 0) {
			if (yget_map(y, v, key))
				goto cleanup;
			for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
				yaml_node_t *sk, *sv;
				const char *skey = ypair(y, q, &sk, &sv);
				char h[120];
				snprintf(h, sizeof(h), "spec.%.64s", skey ? skey : "?");
				if (skey && strcmp(skey, "nodeSelector") == 0) {
					/* matched by the Kubernetes side; a local file applies to this node */
					if (yget_map(y, sv, h))
						goto cleanup;
				} else if (skey && strcmp(skey, "priority") == 0) {
					const char *s = yscalar(sv);
					if (!s || parse_i64(s, &in.priority) != 0) {
						ybad(y, sv, h, "expected an integer");
						goto cleanup;
					}
					in.has_priority = true;
				} else if (skey && strcmp(skey, "attribution") == 0) {
					if (yget_str(y, sv, h, &in.attribution))
						goto cleanup;
				} else if (skey && strcmp(skey, "zones") == 0) {
					if (!sv || sv->type != YAML_SEQUENCE_NODE) {
						ybad(y, sv, h, "expected a list");
						goto cleanup;
					}
					size_t n = (size_t)(sv->data.sequence.items.top -
							    sv->data.sequence.items.start);
					if (n > MAX_LIST) {
						ybad(y, sv, h, "too many items");
						goto cleanup;
					}
					/* a second zones list cannot get here (duplicate keys are
					 * refused first); were it to, the first one's lists go */
					for (size_t i = 0; coefs && i < nz; i++)
						free(coefs[i]);
					free(coefs);
					free(zones);
					nz = n;
					zones = calloc(nz ? nz : 1, sizeof(*zones));
					coefs = calloc(nz ? nz : 1, sizeof(*coefs));
					if (!zones || !coefs) {
						rc = err_set(y->err, ENOMEM, "out of memory");
						goto cleanup;
					}
					for (size_t i = 0; i < nz; i++) {
						char g[64];
						snprintf(g, sizeof(g), "spec.zones[%zu]", i);
						if (parse_zone(y, ynode(y, sv->data.sequence.items.start[i]), g,
							       &zones[i], &coefs[i]))
							goto cleanup;
					}
					in.zones = zones;
					in.n_zones = nz;
				} else {
					ybad(y, sk, h, "unknown field (nodeSelector, priority, attribution, zones)");
					goto cleanup;
				}
			}
		} else if (strcmp(key, "status") != 0) {
			ybad(y, k, key, "unknown field (apiVersion, kind, metadata, spec, status)");
			goto cleanup;
		}
	}
	if (!api || strcmp(api, PM_API_VERSION) != 0) {
		err_set(y->err, EINVAL, "apiVersion: '%s' (expected %s)", api ? api : "(missing)", PM_API_VERSION);
		goto cleanup;
	}
	if (!kind || strcmp(kind, PM_KIND) != 0) {
		err_set(y->err, EINVAL, "kind: '%s' (expected %s)", kind ? kind : "(missing)", PM_KIND);
		goto cleanup;
	}
	rc = pm_from_spec(&in, out, y->err);
	if (rc == 0 && annot)
		read_annotations(y, annot, out);
cleanup:
	for (size_t i = 0; coefs && i < nz; i++)
		free(coefs[i]);
	free(coefs);
	free(zones);
	return rc;
}

int pm_parse_yaml(const char *text, size_t len, struct powermodel *out, struct wl_err *err)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *dup, *first;
	yaml_mark_t mark;
	struct yctx y = { &doc, err };
	int rc;

	if (!text || !out)
		return err_set(err, EINVAL, "no PowerModel text");
	if (len > PM_FILE_MAX)
		return err_set(err, EFBIG, "PowerModel text of %zu bytes (at most %d)", len,
			       PM_FILE_MAX);
	/* before building the tree: libyaml is quadratic in nesting depth and anchors */
	rc = ylim_check(text, len, &mark);
	if (rc < 0)
		return err_set(err, -rc, "out of memory (YAML parser)");
	if (rc != YLIM_OK)
		return err_set(err, EINVAL, "line %zu column %zu: %s", mark.line + 1,
			       mark.column + 1, ylim_reason(rc));
	if (!yaml_parser_initialize(&parser))
		return err_set(err, ENOMEM, "out of memory (YAML parser)");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = err_set(err, EINVAL, "line %zu column %zu: YAML syntax error: %s",
			     parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			     parser.problem ? parser.problem : "unknown");
		yaml_parser_delete(&parser);
		return rc;
	}
	/* YAML forbids equal keys in a mapping; taking the last one silently would hide
	 * a mistake (and a repeated spec/zones once leaked the first one's lists) */
	rc = ylim_document_dup(&doc, &dup, &first);
	if (rc < 0)
		rc = err_set(err, -rc, "out of memory (YAML parser)");
	else if (rc == 1)
		rc = err_set(err, EINVAL, "line %zu column %zu: %.96s: duplicate key (first at line "
			     "%zu, column %zu)", dup->start_mark.line + 1, dup->start_mark.column + 1,
			     (const char *)dup->data.scalar.value, first->start_mark.line + 1,
			     first->start_mark.column + 1);
	else
		rc = parse_doc(&y, out);
	if (rc == 0) {
		/* one document per file: a second one would be silently ignored */
		if (!yaml_parser_load(&parser, &extra)) {
			rc = err_set(err, EINVAL, "YAML syntax error after the first document");
		} else {
			if (yaml_document_get_root_node(&extra))
				rc = err_set(err, EINVAL, "more than one YAML document; put one PowerModel per file");
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

int pm_load_file(const char *path, struct powermodel *out, struct wl_err *err)
{
	char *buf;
	size_t len = 0;
	int rc;

	if (!path)
		return err_set(err, EINVAL, "no PowerModel file");
	buf = malloc(PM_FILE_MAX + 1);
	if (!buf)
		return err_set(err, ENOMEM, "out of memory");
	rc = read_file(path, buf, PM_FILE_MAX + 1, &len);
	if (rc) {
		err_set(err, -rc, "%s: %s", path, rc == -EFBIG ? "larger than 1 MiB" : strerror(-rc));
		goto cleanup;
	}
	rc = pm_parse_yaml(buf, len, out, err);
	if (rc && err) {
		char msg[WL_ERR_MAX];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		err_set(err, -rc, "%s: %s", path, msg);
	}
cleanup:
	free(buf);
	return rc;
}

/* ---- writing -------------------------------------------------------------------- */

/* Shortest "%.*g" that reads back to the same double, so a model round-trips. */
static void add_num(struct strbuf *sb, double v)
{
	char b[NUMFMT_EXACT_CAP];

	strbuf_adds(sb, fmt_double_exact(v, b));
}

int pm_to_yaml(const struct powermodel *m, const char *extra_annotations, struct strbuf *sb)
{
	bool annot;

	if (!m || !sb)
		return -EINVAL;
	annot = isfinite(m->fit_r2) || isfinite(m->fit_mape) || m->fit_samples >= 0 ||
		isfinite(m->fit_holdout) || (extra_annotations && extra_annotations[0]);
	strbuf_addf(sb, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n", PM_API_VERSION, PM_KIND,
		    m->name);
	if (annot) {
		strbuf_adds(sb, "  annotations:\n");
		if (isfinite(m->fit_r2))
			strbuf_addf(sb, "    wattlet.dev/fit-r2: \"%.4f\"\n", m->fit_r2);
		if (isfinite(m->fit_mape))
			strbuf_addf(sb, "    wattlet.dev/fit-mape: \"%.2f\"\n", m->fit_mape);
		if (m->fit_samples >= 0)
			strbuf_addf(sb, "    wattlet.dev/fit-samples: \"%ld\"\n", m->fit_samples);
		if (isfinite(m->fit_holdout))
			strbuf_addf(sb, "    wattlet.dev/fit-holdout: \"%g\"\n", m->fit_holdout);
		if (extra_annotations)
			strbuf_adds(sb, extra_annotations);
	}
	strbuf_addf(sb, "spec:\n  priority: %d\n  attribution: %s\n  zones:\n", m->priority,
		    pm_attribution_name(m->attribution));
	for (int z = 0; z < ZONE_COUNT; z++) {
		const struct pm_zone *pz = &m->zone[z];
		if (!pz->present)
			continue;
		strbuf_addf(sb, "    - zone: %s\n      source: %s\n", zone_name(z),
			    pz->estimated ? "estimated" : "measured");
		if (pz->idle_w >= 0) {
			strbuf_adds(sb, "      idleWatts: ");
			add_num(sb, pz->idle_w);
			strbuf_adds(sb, "\n");
		}
		strbuf_addf(sb, "      feature: %s\n", feature_name(pz->feature));
		if (!pz->has_regression)
			continue;
		strbuf_adds(sb, "      regression:\n        interceptWatts: ");
		add_num(sb, pz->intercept_w);
		strbuf_adds(sb, "\n        coefficients:\n");
		for (int f = 0; f < FEAT_COUNT; f++) {
			if (!(pz->coef_mask & (1u << f)))
				continue;
			strbuf_addf(sb, "          - feature: %s\n            weight: ", feature_name(f));
			add_num(sb, pz->weight[f]);
			strbuf_adds(sb, "\n");
		}
	}
	return sb->overflow ? -E2BIG : 0;
}

/* ---- use in the agent ----------------------------------------------------------- */

void pm_node_totals(const struct usage_sample *us, uint64_t out[FEAT_COUNT])
{
	for (int f = 0; f < FEAT_COUNT; f++) {
		uint64_t sum = 0;
		for (size_t i = 0; us && i < us->n; i++)
			sum += us->entries[i].delta[f];
		out[f] = us && us->node_delta[f] > sum ? us->node_delta[f] : sum;
	}
}

uint32_t pm_estimate(const struct powermodel *m, const struct usage_sample *us,
		     struct meter_delta *md)
{
	uint64_t tot[FEAT_COUNT];
	double rate[FEAT_COUNT];
	uint32_t done = 0;

	if (!m || !us || !md || !us->dt_ns || !md->dt_ns)
		return 0;
	pm_node_totals(us, tot);
	pm_rates(tot, us->dt_ns, rate);
	for (int z = 0; z < ZONE_COUNT; z++) {
		const struct pm_zone *pz = &m->zone[z];
		double uj;
		if (!pz->present || !pz->estimated || !pz->has_regression)
			continue;
		uj = pm_predict_w(pz, rate) * (double)md->dt_ns / 1e3;
		md->uj[z] = uj > 0 && isfinite(uj) ? (uint64_t)llround(uj) : 0;
		md->zone_mask |= 1u << z;
		md->error_mask &= ~(1u << z);
		md->reset_mask &= ~(1u << z);
		done |= 1u << z;
	}
	return done;
}

double pm_idle_w(const struct powermodel *m, enum zone z)
{
	const struct pm_zone *pz;

	if (!m || (unsigned)z >= ZONE_COUNT)
		return -1;
	pz = &m->zone[z];
	if (!pz->present)
		return -1;
	if (pz->estimated && pz->has_regression)
		return pz->intercept_w;
	return pz->idle_w >= 0 ? pz->idle_w : -1;
}

void pm_attrib_weights(const struct powermodel *m, uint32_t *mask, double w[ZONE_COUNT][FEAT_COUNT])
{
	*mask = 0;
	for (int z = 0; z < ZONE_COUNT; z++) {
		const struct pm_zone *pz = m ? &m->zone[z] : NULL;
		for (int f = 0; f < FEAT_COUNT; f++)
			w[z][f] = 0;
		if (!pz || m->attribution != PM_ATTR_REGRESSION || !pz->present || !pz->has_regression)
			continue;
		for (int f = 0; f < FEAT_COUNT; f++)
			if (pz->coef_mask & (1u << f))
				w[z][f] = pz->weight[f];
		*mask |= 1u << z;
	}
}

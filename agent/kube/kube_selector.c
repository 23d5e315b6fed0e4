#include "kube_selector.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SEL_MAX_TERMS 256
#define SEL_MAX_VALUES 256

enum sel_op { OP_IN, OP_NOTIN, OP_EXISTS, OP_DOESNOTEXIST };

struct sel_term {
	enum sel_op op;
	char *key;
	char **values;
	size_t nvalues;
};

struct kube_selector {
	struct sel_term *terms;
	size_t nterms;
};

static void term_release(struct sel_term *t)
{
	free(t->key);
	for (size_t i = 0; i < t->nvalues; i++)
		free(t->values[i]);
	free(t->values);
}

void kube_selector_free(struct kube_selector *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nterms; i++)
		term_release(&s->terms[i]);
	free(s->terms);
	free(s);
}

static int add_term(struct kube_selector *s, enum sel_op op, const char *key, struct wl_err *e)
{
	struct sel_term *t;

	if (s->nterms >= SEL_MAX_TERMS)
		return err_set(e, E2BIG, "label selector: more than %d terms", SEL_MAX_TERMS);
	if (!*key)
		return err_set(e, EINVAL, "label selector: empty key");
	t = &s->terms[s->nterms];
	memset(t, 0, sizeof(*t));
	t->op = op;
	t->key = strdup(key);
	if (!t->key)
		return err_set(e, ENOMEM, "out of memory");
	s->nterms++;
	return 0;
}

static int add_value(struct sel_term *t, const char *v, struct wl_err *e)
{
	char *dup;
	if (t->nvalues >= SEL_MAX_VALUES)
		return err_set(e, E2BIG, "label selector: key %s: more than %d values", t->key,
			       SEL_MAX_VALUES);
	dup = strdup(v);
	if (!dup)
		return err_set(e, ENOMEM, "out of memory");
	t->values[t->nvalues++] = dup;
	return 0;
}

static int parse_op(const char *s, enum sel_op *op)
{
	if (strcmp(s, "In") == 0)
		*op = OP_IN;
	else if (strcmp(s, "NotIn") == 0)
		*op = OP_NOTIN;
	else if (strcmp(s, "Exists") == 0)
		*op = OP_EXISTS;
	else if (strcmp(s, "DoesNotExist") == 0)
		*op = OP_DOESNOTEXIST;
	else
		return -EINVAL;
	return 0;
}

static int parse_expr(struct kube_selector *s, const json_t *x, size_t idx, struct wl_err *e)
{
	const json_t *key = json_object_get(x, "key"), *op = json_object_get(x, "operator");
	const json_t *vals = json_object_get(x, "values"), *v;
	enum sel_op o;
	struct sel_term *t;
	size_t i, nv;
	int err;

	if (!json_is_object(x))
		return err_set(e, EINVAL, "matchExpressions[%zu]: not an object", idx);
	if (!json_is_string(key))
		return err_set(e, EINVAL, "matchExpressions[%zu]: key missing or not a string", idx);
	if (!json_is_string(op) || parse_op(json_string_value(op), &o))
		return err_set(e, EINVAL,
			       "matchExpressions[%zu]: operator must be In, NotIn, Exists or DoesNotExist",
			       idx);
	if (vals && !json_is_null(vals) && !json_is_array(vals))
		return err_set(e, EINVAL, "matchExpressions[%zu]: values is not a list", idx);
	nv = json_is_array(vals) ? json_array_size(vals) : 0;
	if ((o == OP_IN || o == OP_NOTIN) && nv == 0)
		return err_set(e, EINVAL, "matchExpressions[%zu]: %s needs at least one value", idx,
			       json_string_value(op));
	if ((o == OP_EXISTS || o == OP_DOESNOTEXIST) && nv != 0)
		return err_set(e, EINVAL, "matchExpressions[%zu]: %s takes no values", idx,
			       json_string_value(op));
	if (nv > SEL_MAX_VALUES)
		return err_set(e, E2BIG, "matchExpressions[%zu]: more than %d values", idx,
			       SEL_MAX_VALUES);
	err = add_term(s, o, json_string_value(key), e);
	if (err)
		return err;
	t = &s->terms[s->nterms - 1];
	if (nv) {
		t->values = calloc(nv, sizeof(*t->values));
		if (!t->values)
			return err_set(e, ENOMEM, "out of memory");
	}
	json_array_foreach(vals, i, v) {
		if (!json_is_string(v))
			return err_set(e, EINVAL, "matchExpressions[%zu]: values[%zu] is not a string",
				       idx, i);
		err = add_value(t, json_string_value(v), e);
		if (err)
			return err;
	}
	return 0;
}

struct kube_selector *kube_selector_parse(const json_t *sel, struct wl_err *e)
{
	struct kube_selector *s = calloc(1, sizeof(*s));
	const json_t *ml, *me, *v;
	const char *k;
	size_t i, n = 0;
	int err = 0;

	if (!s) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	if (!sel || json_is_null(sel))
		return s;
	if (!json_is_object(sel)) {
		err = err_set(e, EINVAL, "label selector is not an object");
		goto cleanup;
	}
	ml = json_object_get(sel, "matchLabels");
	me = json_object_get(sel, "matchExpressions");
	if (ml && !json_is_null(ml) && !json_is_object(ml)) {
		err = err_set(e, EINVAL, "matchLabels is not a map");
		goto cleanup;
	}
	if (me && !json_is_null(me) && !json_is_array(me)) {
		err = err_set(e, EINVAL, "matchExpressions is not a list");
		goto cleanup;
	}
	n = (json_is_object(ml) ? json_object_size(ml) : 0) +
	    (json_is_array(me) ? json_array_size(me) : 0);
	if (n > SEL_MAX_TERMS) {
		err = err_set(e, E2BIG, "label selector: more than %d terms", SEL_MAX_TERMS);
		goto cleanup;
	}
	if (n) {
		s->terms = calloc(n, sizeof(*s->terms));
		if (!s->terms) {
			err = err_set(e, ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	if (json_is_object(ml)) {
		json_object_foreach((json_t *)ml, k, v) {
			struct sel_term *t;
			if (!json_is_string(v)) {
				err = err_set(e, EINVAL, "matchLabels[%s] is not a string", k);
				goto cleanup;
			}
			err = add_term(s, OP_IN, k, e);
			if (err)
				goto cleanup;
			t = &s->terms[s->nterms - 1];
			t->values = calloc(1, sizeof(*t->values));
			if (!t->values) {
				err = err_set(e, ENOMEM, "out of memory");
				goto cleanup;
			}
			err = add_value(t, json_string_value(v), e);
			if (err)
				goto cleanup;
		}
	}
	if (json_is_array(me)) {
		json_array_foreach(me, i, v) {
			err = parse_expr(s, v, i, e);
			if (err)
				goto cleanup;
		}
	}
cleanup:
	if (err) {
		kube_selector_free(s);
		return NULL;
	}
	return s;
}

static bool value_in(const struct sel_term *t, const char *v)
{
	for (size_t i = 0; i < t->nvalues; i++)
		if (strcmp(t->values[i], v) == 0)
			return true;
	return false;
}

bool kube_selector_matches(const struct kube_selector *s, const json_t *labels)
{
	if (!s)
		return false;
	for (size_t i = 0; i < s->nterms; i++) {
		const struct sel_term *t = &s->terms[i];
		const json_t *lv = json_is_object(labels) ? json_object_get(labels, t->key) : NULL;
		const char *v = json_is_string(lv) ? json_string_value(lv) : NULL;
		bool ok;

		switch (t->op) {
		case OP_IN:
			ok = v && value_in(t, v);
			break;
		case OP_NOTIN:
			ok = !lv || !v || !value_in(t, v);
			break;
		case OP_EXISTS:
			ok = lv != NULL;
			break;
		default:
			ok = lv == NULL;
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}

int kube_selector_terms(const struct kube_selector *s)
{
	return s ? (int)s->nterms : 0;
}

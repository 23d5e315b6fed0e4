/* jsonget.c - see jsonget.h. */
#include "jsonget.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* The member, or NULL when absent or JSON null. */
static const json_t *member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return v && !json_is_null(v) ? v : NULL;
}

int jg_str(const json_t *o, const char *key, const char *field, const char **out,
	   struct wl_err *e)
{
	const json_t *v = member(o, key);

	*out = NULL;
	if (!v)
		return -ENOENT;
	if (!json_is_string(v))
		return err_set(e, EINVAL, "%s: not a string", field);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return err_set(e, EINVAL, "%s: contains a NUL byte", field);
	*out = json_string_value(v);
	return 0;
}

int jg_str_copy(const json_t *o, const char *key, const char *field, char *out, size_t cap,
		struct wl_err *e)
{
	const char *s;
	size_t n;
	int rc = jg_str(o, key, field, &s, e);

	if (rc)
		return rc;
	n = strlen(s);
	if (n >= cap)
		return err_set(e, EINVAL, "%s: %zu characters (at most %zu)", field, n,
			       cap ? cap - 1 : 0);
	memcpy(out, s, n + 1);
	return 0;
}

int jg_num(const json_t *o, const char *key, const char *field, double *out, struct wl_err *e)
{
	const json_t *v = member(o, key);
	double d;

	if (!v)
		return -ENOENT;
	if (!json_is_number(v))
		return err_set(e, EINVAL, "%s: not a number", field);
	d = json_number_value(v);
	if (!isfinite(d))
		return err_set(e, EINVAL, "%s: not a finite number", field);
	*out = d;
	return 0;
}

const char *jg_str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

const char *jg_nonempty(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : NULL;
}

double jg_num_or(const json_t *o, const char *key, double dflt)
{
	const json_t *v = json_object_get(o, key);
	double d = json_is_number(v) ? json_number_value(v) : dflt;
	return isfinite(d) ? d : dflt;
}

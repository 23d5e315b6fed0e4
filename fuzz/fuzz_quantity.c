/* fuzz_quantity.c - Kubernetes resource quantities (kube_quantity_parse/_cores).
 * Properties: an accepted value is finite; cores are >= 0; a value that is not
 * negative is accepted as cores with the same number. */
#include "fuzz_common.h"

#include <math.h>

#include "agent/kube/kube_quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_cstr(data, size);
	double v = 12345, c = 12345;
	int rq = kube_quantity_parse(s, &v), rc = kube_quantity_cores(s, &c);

	if (rq == 0) {
		FZ_CHECK(isfinite(v), "'%s' -> %g", s, v);
		if (v >= 0)
			FZ_CHECK(rc == 0 && c == v, "'%s': quantity %g but cores rc %d %g", s, v, rc, c);
		else
			FZ_CHECK(rc == -ERANGE, "'%s': negative %g but cores rc %d", s, v, rc);
	} else {
		FZ_CHECK(v == 12345, "'%s': out changed on error", s);
		FZ_CHECK(rc != 0, "'%s': cores accepted what quantity refused", s);
	}
	free(s);
	return 0;
}

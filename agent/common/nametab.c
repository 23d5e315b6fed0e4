#include "nametab.h"

#include <errno.h>
#include <string.h>

const char *nametab_name(const char *const *names, size_t n, int v, const char *fallback)
{
	if (v < 0 || (size_t)v >= n || !names[v])
		return fallback;
	return names[v];
}

int nametab_find(const char *const *names, size_t n, const char *name)
{
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return (int)i;
	return -EINVAL;
}

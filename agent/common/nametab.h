/* nametab.h - enum <-> name through a table of names indexed by the enum value.
 *
 * A table is a `static const char *const x[] = { [ENUM_A] = "a", ... }`; holes (NULL
 * entries) are allowed and read as "no name". Nothing here allocates or keeps state; the
 * strings returned are the table's (or the fallback), owned by the caller's static data.
 * Thread-safe (read-only).
 */
#ifndef WATTLET_NAMETAB_H
#define WATTLET_NAMETAB_H

#include <stddef.h>

/* The number of entries of a table (an array, not a pointer). */
#define NAMETAB_LEN(tbl) (sizeof(tbl) / sizeof((tbl)[0]))

/* names[v] when 0 <= v < n and that entry is not NULL, else fallback. */
const char *nametab_name(const char *const *names, size_t n, int v, const char *fallback);

/* The index i < n with names[i] equal to name (NULL entries skipped), or -EINVAL when
 * none matches or name is NULL. */
int nametab_find(const char *const *names, size_t n, const char *name);

#endif

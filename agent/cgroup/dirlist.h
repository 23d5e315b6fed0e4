/* dirlist.h - the subdirectories of a cgroup directory, listed with raw getdents64 onto
 * a stack-like arena of records, for the cgroup walkers (cg_walk_at() in cgroup.c and
 * the usage source in usage/usage_cgroup.c).
 *
 * A walker lists a directory (records appended from top), visits its records in order
 * (cg_dirlist_next), and pops them (top back to where the listing began) when done: the
 * names of every directory on the current path stay on the arena, as offsets, so it may
 * grow (realloc) while they are in use. A record: uint64 inode number (d_ino), uint16
 * name length, the name, NUL; 8-byte aligned.
 *
 * Ownership: the caller owns the struct (zero it to start) and frees buf. Return
 * convention: 0 or a negative errno. No logging; one thread per arena.
 */
#ifndef WATTLET_CGROUP_DIRLIST_H
#define WATTLET_CGROUP_DIRLIST_H

#include <stddef.h>
#include <stdint.h>

/* The first allocation; the arena doubles from there up to WL_CAP_CGROUP_WALK. */
#define CG_DIRLIST_INIT (64 * 1024)
/* Size of the scratch buffer for raw directory entries that cg_dirlist_read() takes. */
#define CG_DIRLIST_DENTS (32 * 1024)

struct cg_dirlist {
	char *buf;
	size_t top; /* bytes in use */
	size_t cap; /* bytes allocated */
};

/* Appends a record for each subdirectory of fd (d_type DT_DIR or unknown, not "." or
 * "..", names up to NAME_MAX), reading raw entries through dents (CG_DIRLIST_DENTS
 * bytes). Records that would take the arena past its cap are left out (0: the rest is
 * not walked). 0, -ENOENT (the directory vanished), -ENOMEM or another -errno of
 * getdents64. */
int cg_dirlist_read(struct cg_dirlist *a, int fd, char *dents);

/* The record at *pos (< a->top): its inode number in *ino, its name's length in *nl;
 * returns the name (NUL-terminated) and moves *pos to the next record. */
const char *cg_dirlist_next(const struct cg_dirlist *a, size_t *pos, uint64_t *ino,
			    uint16_t *nl);

#endif

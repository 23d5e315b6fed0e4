/* dirlist.c - see dirlist.h. */
#include "dirlist.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/caps.h"

struct dirent64_hdr {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#define REC_HDR (sizeof(uint64_t) + sizeof(uint16_t))

static size_t rec_size(size_t nl)
{
	return (REC_HDR + nl + 1 + 7) & ~(size_t)7;
}

static int push(struct cg_dirlist *a, uint64_t ino, const char *name, size_t nl)
{
	size_t need = rec_size(nl);
	uint16_t l16 = (uint16_t)nl;

	if (a->top + need > a->cap) {
		size_t nc = a->cap ? a->cap : CG_DIRLIST_INIT;
		char *nb;
		while (a->top + need > nc)
			nc *= 2;
		if (nc > WL_CAP_CGROUP_WALK)
			return -E2BIG;
		nb = realloc(a->buf, nc);
		if (!nb)
			return -ENOMEM;
		a->buf = nb;
		a->cap = nc;
	}
	memcpy(a->buf + a->top, &ino, sizeof(ino));
	memcpy(a->buf + a->top + sizeof(ino), &l16, sizeof(l16));
	memcpy(a->buf + a->top + REC_HDR, name, nl);
	a->buf[a->top + REC_HDR + nl] = '\0';
	a->top += need;
	return 0;
}

int cg_dirlist_read(struct cg_dirlist *a, int fd, char *dents)
{
	for (;;) {
		long n = syscall(SYS_getdents64, fd, dents, CG_DIRLIST_DENTS);
		if (n < 0)
			return errno == ENODEV ? -ENOENT : -errno;
		if (n == 0)
			return 0;
		for (long off = 0; off < n;) {
			const struct dirent64_hdr *d = (const void *)(dents + off);
			const char *nm = d->d_name;
			size_t nl;
			int r;
			off += d->d_reclen;
			if (d->d_type != DT_DIR && d->d_type != DT_UNKNOWN)
				continue;
			if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
				continue;
			nl = strlen(nm);
			if (nl > NAME_MAX)
				continue;
			r = push(a, d->d_ino, nm, nl);
			if (r == -E2BIG)
				return 0; /* keep what fits; the rest is not walked */
			if (r)
				return r;
		}
	}
}

const char *cg_dirlist_next(const struct cg_dirlist *a, size_t *pos, uint64_t *ino,
			    uint16_t *nl)
{
	const char *name = a->buf + *pos + REC_HDR;

	memcpy(ino, a->buf + *pos, sizeof(*ino));
	memcpy(nl, a->buf + *pos + sizeof(*ino), sizeof(*nl));
	*pos += rec_size(*nl);
	return name;
}

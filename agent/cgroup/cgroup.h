/* cgroup.h - cgroup layout discovery, tree walk and per-cgroup CPU time.
 *
 * Layout is found from the files under the cgroup root (default /sys/fs/cgroup),
 * so fixture trees work the same as the real mount:
 *   v2      <root>/cgroup.controllers exists
 *   hybrid  <root>/unified/cgroup.controllers exists and a v1 cpuacct hierarchy too
 *   v1      a v1 cpuacct hierarchy: <root>/cpuacct, <root>/cpu,cpuacct or <root>/cpuacct,cpu
 * The hierarchy used for CPU time ("cpu root") is v2's root in v2 mode and the
 * cpuacct hierarchy in v1 and hybrid mode (the kubelet and runtimes treat hybrid as
 * v1, so containers' CPU accounting lives there), unless the caller forces one.
 *
 * cgroup ids are the inode numbers of the cgroup directories (what the kernel's
 * kernfs ids are, and what bpf_get_current_cgroup_id() returns in v2).
 *
 * Return convention: 0 or negative errno (-ENOENT: the cgroup vanished). No logging.
 */
#ifndef WATTLET_CGROUP_H
#define WATTLET_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/util.h"

enum cg_mode { CG_MODE_V1, CG_MODE_V2, CG_MODE_HYBRID };
enum cg_pref { CG_PREF_AUTO, CG_PREF_V1, CG_PREF_V2 };

struct cg_layout {
	enum cg_mode mode;
	bool cpu_is_v2;              /* cpu_root is a v2 hierarchy (cpu.stat) */
	char root[PATH_MAX];         /* the cgroup mount root given */
	char cpu_root[PATH_MAX];     /* hierarchy walked for CPU time */
	char unified_root[PATH_MAX]; /* v2 hierarchy (empty in pure v1) */
};

int cg_layout_detect(const char *root, enum cg_pref pref, struct cg_layout *out,
		     struct wl_err *err);
const char *cg_mode_name(enum cg_mode m);

/* Visits every cgroup directory below (and including, as relpath "/") cpu_root,
 * depth-first, at most max_depth levels. relpath starts with '/'. A callback that
 * returns non-zero stops the walk and that value is returned. Directories that
 * vanish during the walk are skipped silently (that is normal). */
typedef int (*cg_visit_fn)(const char *relpath, uint64_t id, void *ctx);
int cg_walk(const struct cg_layout *l, const char *hier_root, unsigned max_depth,
	    cg_visit_fn fn, void *ctx);

/* Total (hierarchical) CPU time of a cgroup in nanoseconds: v2 cpu.stat usage_usec
 * x 1000, v1 cpuacct.usage. -ENOENT if it vanished, -EINVAL on garbage. */
int cg_read_cpu_ns(const struct cg_layout *l, const char *relpath, uint64_t *ns);

/* --- additions (cgroup engineer) ------------------------------------------------ */

/* Walks deeper than this are clamped to it. */
#define CG_WALK_MAX_DEPTH 64

/* Like cg_visit_fn, and also hands the cgroup's open directory fd (valid only during
 * the call; do not close it) and its depth (0 for hier_root itself), so a visitor
 * can read files with openat() instead of building paths. */
typedef int (*cg_visit_at_fn)(int dirfd, const char *relpath, uint64_t id, unsigned depth,
			      void *ctx);

/* cg_walk with directory fds. Pre-order (a parent before its children). A directory
 * listed but gone before it could be opened is skipped and, if vanished is not NULL,
 * counted there. Depth: hier_root is level 0; directories down to level max_depth
 * (clamped to CG_WALK_MAX_DEPTH - 1) are visited. hier_root NULL means l->cpu_root.
 * -ENOENT if hier_root itself cannot be opened. */
int cg_walk_at(const struct cg_layout *l, const char *hier_root, unsigned max_depth,
	       cg_visit_at_fn fn, void *ctx, uint64_t *vanished);

/* cg_read_cpu_ns for an open cgroup directory fd. -ENOENT if it vanished (ENOENT or
 * ENODEV from the kernel), -EINVAL on garbage or a missing usage_usec key, -ERANGE on
 * overflow. */
int cg_read_cpu_ns_at(const struct cg_layout *l, int dirfd, uint64_t *ns);

/* Parses the text of a v2 cpu.stat (usage_usec, any line order) or of a v1
 * cpuacct.usage into nanoseconds; same errors as above. */
int cg_parse_cpu_ns(bool v2, const char *text, uint64_t *ns);

#endif

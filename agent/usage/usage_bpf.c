/* usage_bpf.c - placeholder until the eBPF usage source lands: no eBPF ops, so
 * usage.c uses the cgroup source and probe says eBPF is not built. */
#include "usage_impl.h"

#include <stddef.h>

const struct usage_src_ops *const usage_bpf_ops = NULL;

#include "kube_backoff.h"

#include <unistd.h>

#include "../common/util.h"

void kube_backoff_init(struct kube_backoff *b, unsigned base_ms, unsigned max_ms)
{
	b->base_ms = base_ms ? base_ms : 200;
	b->max_ms = max_ms ? max_ms : 30000;
	if (b->max_ms < b->base_ms)
		b->max_ms = b->base_ms;
	b->attempt = 0;
	b->rng = mono_ns() ^ real_ns() ^ ((uint64_t)(uintptr_t)b << 17) ^ (uint64_t)getpid();
	if (!b->rng)
		b->rng = 0x9e3779b97f4a7c15ull;
}

uint64_t kube_backoff_rand(struct kube_backoff *b, uint64_t n)
{
	uint64_t x = b->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->rng = x;
	return n ? x % n : 0;
}

unsigned kube_backoff_next_ms(struct kube_backoff *b)
{
	uint64_t d = b->base_ms;
	for (unsigned i = 0; i < b->attempt && d < b->max_ms; i++)
		d *= 2;
	if (d > b->max_ms)
		d = b->max_ms;
	if (b->attempt < 64)
		b->attempt++;
	return (unsigned)(d / 2 + kube_backoff_rand(b, d / 2 + 1));
}

void kube_backoff_reset(struct kube_backoff *b)
{
	b->attempt = 0;
}

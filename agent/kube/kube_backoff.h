/* kube_backoff.h - exponential backoff with jitter, bounded.
 *
 * Delay of attempt n (0-based): d = min(max_ms, base_ms * 2^n), returned as
 * d/2 + uniform[0, d/2] ("equal jitter": never zero, never above max_ms), so that
 * many agents that lost the API server at the same moment do not come back in step.
 * The random state lives in the struct (xorshift64, seeded from the clock and the
 * struct's address): no global state. Not thread-safe; one per user.
 */
#ifndef WATTLET_KUBE_BACKOFF_H
#define WATTLET_KUBE_BACKOFF_H

#include <stdint.h>

struct kube_backoff {
	unsigned base_ms; /* 0 -> 200 */
	unsigned max_ms;  /* 0 -> 30000 */
	unsigned attempt;
	uint64_t rng;
};

void kube_backoff_init(struct kube_backoff *b, unsigned base_ms, unsigned max_ms);
/* Delay for the next attempt; increments the attempt counter. */
unsigned kube_backoff_next_ms(struct kube_backoff *b);
/* After a success: the next failure starts from base_ms again. */
void kube_backoff_reset(struct kube_backoff *b);
/* Uniform random number in [0, n) from b's state (n > 0), for other jitter. */
uint64_t kube_backoff_rand(struct kube_backoff *b, uint64_t n);

#endif

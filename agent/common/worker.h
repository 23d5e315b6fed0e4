/* worker.h - start and stop one background thread that sleeps on its owner's lock.
 *
 * Several modules (kube_authn, kube_writer, kube_classidle_sync, kube_throttle, the
 * Redfish poller) run one worker thread that waits on a condition variable under the
 * module's own mutex and leaves its loop once it sees the stop flag. The mutex and the
 * condition variable stay in the module (they guard its state, not only the thread);
 * struct wl_worker holds the thread, whether it runs, and the stop flag.
 *
 * Ownership: the struct is embedded in the owner, zeroed with it (calloc), and needs no
 * init or destroy of its own. The owner initialises and destroys mu and cv itself.
 * Threading: wl_worker_start() and wl_worker_stop() are called by the owner's
 * constructor and destructor, never by the worker. The worker reads stop (an atomic, so
 * reading it without the lock is allowed too, e.g. from a transfer's abort callback).
 * Return convention: 0 or a negative errno; library code, never logs.
 */
#ifndef WATTLET_WORKER_H
#define WATTLET_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct wl_worker {
	pthread_t thread;
	bool started;     /* a thread runs: wl_worker_stop() joins it */
	atomic_bool stop; /* set once by wl_worker_stop(); the worker returns when it sees it */
};

/* Initialises cv for a worker whose timed waits take absolute CLOCK_MONOTONIC deadlines
 * (a wall-clock step does not stretch or cut a wait). Destroy it with
 * pthread_cond_destroy(). Returns 0 or the negative errno of pthread_cond_init(). */
int wl_cond_init_monotonic(pthread_cond_t *cv);

/* Runs fn(arg) on a new thread. started is set before the thread exists (the thread may
 * look at it) and cleared again when pthread_create() fails. Returns 0, or the negative
 * errno from pthread_create() (e.g. -EAGAIN). */
int wl_worker_start(struct wl_worker *wk, void *(*fn)(void *), void *arg);

/* If a thread runs: sets stop under mu, wakes every waiter on cv, releases mu, and joins
 * the thread (waits until fn returned). A worker that waits on cv must check stop in its
 * wait loop under mu, so the wake-up cannot be lost. A no-op when no thread runs; mu and
 * cv are not destroyed here. Must not be called with mu held. */
void wl_worker_stop(struct wl_worker *wk, pthread_mutex_t *mu, pthread_cond_t *cv);

#endif

/* worker.c - see worker.h. */
#include "worker.h"

#include <time.h>

int wl_cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	int rc;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
	return -rc;
}

int wl_worker_start(struct wl_worker *wk, void *(*fn)(void *), void *arg)
{
	int rc;

	wk->started = true;
	rc = pthread_create(&wk->thread, NULL, fn, arg);
	if (rc) {
		wk->started = false;
		return -rc;
	}
	return 0;
}

void wl_worker_stop(struct wl_worker *wk, pthread_mutex_t *mu, pthread_cond_t *cv)
{
	if (!wk->started)
		return;
	pthread_mutex_lock(mu);
	atomic_store(&wk->stop, true);
	pthread_cond_broadcast(cv);
	pthread_mutex_unlock(mu);
	pthread_join(wk->thread, NULL);
	wk->started = false;
}

/* test_worker.c - agent/common/worker: a started thread sees started, wl_worker_stop()
 * wakes a worker that sleeps on the owner's condition variable and joins it; stopping a
 * worker that never started does nothing; wl_cond_init_monotonic() waits count on
 * CLOCK_MONOTONIC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "agent/common/worker.h"

/* An owner as the modules have it: its own lock and condition, the worker beside them. */
struct owner {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wl_worker wk;
	bool ready;          /* the worker holds mu and is about to wait */
	bool saw_started;    /* wk.started as the worker found it on entry */
	bool left_by_stop;   /* the worker left its wait because stop was set */
	bool timed_out;      /* ... or because its (long) deadline passed: no wake-up came */
};

static void owner_init(struct owner *o)
{
	*o = (struct owner){ 0 };
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
}

static void owner_destroy(struct owner *o)
{
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
}

static void *sleeper(void *arg)
{
	struct owner *o = arg;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30; /* far beyond any wake-up: reaching it means none came */
	pthread_mutex_lock(&o->mu);
	o->saw_started = o->wk.started;
	o->ready = true;
	pthread_cond_broadcast(&o->cv);
	while (!o->wk.stop)
		if (pthread_cond_timedwait(&o->cv, &o->mu, &until) == ETIMEDOUT) {
			o->timed_out = true;
			break;
		}
	o->left_by_stop = o->wk.stop;
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

static void test_stop_wakes_and_joins(void **state)
{
	struct owner o;
	(void)state;

	owner_init(&o);
	assert_int_equal(wl_worker_start(&o.wk, sleeper, &o), 0);
	assert_true(o.wk.started);
	/* wait until the worker sleeps on cv, so that the stop has to wake it */
	pthread_mutex_lock(&o.mu);
	while (!o.ready)
		pthread_cond_wait(&o.cv, &o.mu);
	pthread_mutex_unlock(&o.mu);

	wl_worker_stop(&o.wk, &o.mu, &o.cv);
	/* joined: what the worker wrote last is visible and final */
	assert_true(o.saw_started);
	assert_true(o.left_by_stop);
	assert_false(o.timed_out);
	assert_false(o.wk.started);
	assert_true(o.wk.stop);
	/* a second stop finds no thread and does nothing */
	wl_worker_stop(&o.wk, &o.mu, &o.cv);
	assert_false(o.wk.started);
	owner_destroy(&o);
}

static void test_stop_before_the_worker_waits(void **state)
{
	struct owner o;
	(void)state;

	/* stop may come before the worker reached its wait: it sees the flag, no wake-up
	 * is lost (the flag is set under the lock the worker checks it under) */
	owner_init(&o);
	pthread_mutex_lock(&o.mu);
	assert_int_equal(wl_worker_start(&o.wk, sleeper, &o), 0);
	pthread_mutex_unlock(&o.mu);
	wl_worker_stop(&o.wk, &o.mu, &o.cv);
	assert_true(o.left_by_stop);
	assert_false(o.timed_out);
	owner_destroy(&o);
}

static void test_stop_without_a_thread(void **state)
{
	struct owner o;
	(void)state;

	owner_init(&o);
	wl_worker_stop(&o.wk, &o.mu, &o.cv);
	assert_false(o.wk.started);
	assert_false(o.wk.stop); /* nothing ran, nothing was set */
	owner_destroy(&o);
}

static uint64_t mono_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void test_cond_monotonic(void **state)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	uint64_t t0, until;
	struct timespec ts;
	int rc = 0;
	(void)state;

	/* a deadline 50 ms ahead on CLOCK_MONOTONIC: a condition variable on the wall clock
	 * would take it as long past (boot time, not 1970) and return at once */
	assert_int_equal(wl_cond_init_monotonic(&cv), 0);
	t0 = mono_now_ns();
	until = t0 + 50000000ull;
	ts.tv_sec = (time_t)(until / 1000000000ull);
	ts.tv_nsec = (long)(until % 1000000000ull);
	pthread_mutex_lock(&mu);
	while (rc != ETIMEDOUT) /* nobody signals: only the deadline ends the wait */
		rc = pthread_cond_timedwait(&cv, &mu, &ts);
	pthread_mutex_unlock(&mu);
	assert_true(mono_now_ns() >= until);
	pthread_cond_destroy(&cv);
}

WL_TEST_MAIN(cmocka_unit_test(test_cond_monotonic),
	     cmocka_unit_test(test_stop_wakes_and_joins),
	     cmocka_unit_test(test_stop_before_the_worker_waits),
	     cmocka_unit_test(test_stop_without_a_thread))

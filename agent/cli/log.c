#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum log_level threshold = LOG_INFO;

void log_set_level(enum log_level lvl)
{
	threshold = lvl;
}

bool log_enabled(enum log_level lvl)
{
	return lvl <= threshold;
}

void wl_log(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn ", "info ", "debug" };
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	if (!log_enabled(lvl))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s ", when, ts.tv_nsec / 1000000, names[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void log_note(enum log_level lvl, const char *msg, void *ud)
{
	(void)ud;
	wl_log(lvl, "%s", msg);
}

/* kube_budget.c - the write budget's arithmetic (kube_budget.h). */
#include "kube_budget.h"

#include <errno.h>
#include <math.h>

int kube_budget_valid(double budget_per_s, double ceiling_per_s)
{
	if (!isfinite(budget_per_s) || !isfinite(ceiling_per_s) || budget_per_s < 0 ||
	    ceiling_per_s < 0)
		return -EINVAL;
	if (budget_per_s == 0)
		return 0;
	return ceiling_per_s > 0 ? 1 : -EINVAL;
}

double kube_budget_share(double budget_per_s, double ceiling_per_s, unsigned nodes)
{
	double s;

	if (!(budget_per_s > 0) || !isfinite(budget_per_s))
		return 0;
	s = nodes ? budget_per_s / (double)nodes : KB_UNKNOWN_SHARE;
	if (!nodes && s > budget_per_s)
		s = budget_per_s;
	if (ceiling_per_s > 0 && s > ceiling_per_s)
		s = ceiling_per_s;
	return s;
}

double kube_budget_stretch(double demand_per_s, double share)
{
	double k;

	if (!(share > 0) || !(demand_per_s > 0) || !isfinite(demand_per_s))
		return 1;
	k = demand_per_s / share;
	return k > 1 ? k : 1;
}

double kube_budget_floor(double interval, double k, unsigned refresh_intervals)
{
	double a = interval * (refresh_intervals ? refresh_intervals : 1);
	double b = interval * (k > 1 ? k : 1);
	return a > b ? a : b;
}

double kube_budget_burst(double share, double max_burst)
{
	double b = share * KB_BURST_S;
	if (b > max_burst)
		b = max_burst;
	return b > 2 ? b : 2;
}

uint64_t kube_budget_next_query_ns(uint64_t now_ns, bool ok, double u01)
{
	double s = ok ? KB_REFRESH_S : KB_RETRY_S;
	if (!(u01 >= 0))
		u01 = 0;
	if (u01 >= 1)
		u01 = 1;
	s *= 1 + KB_JITTER * (2 * u01 - 1);
	return now_ns + (uint64_t)(s * 1e9);
}

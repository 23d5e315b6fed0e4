/* main.c - wattlet command line (placeholder; the daemon lands next). */
#include <stdio.h>

int main(void)
{
	puts("wattlet " WATTLET_VERSION);
	return 0;
}

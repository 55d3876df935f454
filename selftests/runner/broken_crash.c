// SPDX-License-Identifier: GPL-2.0
/* Prints a plan, one result, then dies of SIGSEGV: the run must fail. */
#include <signal.h>
#include <stdio.h>

int main(void)
{
	printf("TAP version 13\n1..2\nok 1 before the crash\n");
	fflush(stdout);
	raise(SIGSEGV);
	printf("ok 2 never printed\n");
	return 0;
}

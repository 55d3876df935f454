// SPDX-License-Identifier: GPL-2.0
/*
 * A harness program with one passing case; selected with -r and a case name
 * that does not exist, it runs nothing ("1..0"): the run must fail.
 */
#include "kselftest_harness.h"

TEST(passes)
{
	ASSERT_EQ(1, 1);
}

TEST_HARNESS_MAIN

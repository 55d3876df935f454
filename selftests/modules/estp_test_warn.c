// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: a WARN_ON at load.  selftests/runner_test.sh loads it in
 * a guest to prove that scripts/vm-run fails a run whose dmesg has a splat.
 */
#include <linux/bug.h>
#include <linux/module.h>

static bool fire = true;
module_param(fire, bool, 0444);
MODULE_PARM_DESC(fire, "trigger the WARN_ON (default: yes)");

static int __init estp_test_warn_init(void)
{
	WARN_ON(fire);
	return 0;
}

static void __exit estp_test_warn_exit(void)
{
}

module_init(estp_test_warn_init);
module_exit(estp_test_warn_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ESTP test-only module: WARN_ON at load");

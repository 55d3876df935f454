// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: a congestion control algorithm, "estp_test", added to
 * ESTP from outside estp.ko with estp_register_congestion_control().
 * Its policy is fixed and easy to see: a window of cwnd segments (module
 * parameter, default 4) that never grows and is halved on a timeout.
 * selftests/estp_cc_test.c loads it, selects it on a socket and checks that
 * the socket holds the module.  It needs estp.ko loaded first: it imports
 * estp.ko's symbols.
 */
#include <linux/module.h>
#include <net/sock.h>

#include "estp.h"

static unsigned int cwnd = 4;
module_param(cwnd, uint, 0444);
MODULE_PARM_DESC(cwnd, "the fixed congestion window, in segments (default 4)");

static void estp_test_cc_init(struct sock *sk)
{
	estp_sk(sk)->snd_cwnd = max(cwnd, 1U);
	estp_sk(sk)->snd_ssthresh = max(cwnd, 2U);
}

static u32 estp_test_cc_ssthresh(struct sock *sk)
{
	return max(cwnd / 2, 2U);
}

/* Back to the fixed window, whatever a timeout did. */
static void estp_test_cc_cong_avoid(struct sock *sk, u32 ack, u32 acked)
{
	estp_sk(sk)->snd_cwnd = min(estp_sk(sk)->snd_cwnd + acked, max(cwnd, 1U));
}

static u32 estp_test_cc_undo_cwnd(struct sock *sk)
{
	return max(cwnd, 1U);
}

static struct estp_congestion_ops estp_test_cc = {
	.name		= "estp_test",
	.owner		= THIS_MODULE,
	.init		= estp_test_cc_init,
	.ssthresh	= estp_test_cc_ssthresh,
	.cong_avoid	= estp_test_cc_cong_avoid,
	.undo_cwnd	= estp_test_cc_undo_cwnd,
};

static int __init estp_test_cc_register(void)
{
	return estp_register_congestion_control(&estp_test_cc);
}

static void __exit estp_test_cc_unregister(void)
{
	estp_unregister_congestion_control(&estp_test_cc);
}

module_init(estp_test_cc_register);
module_exit(estp_test_cc_unregister);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ESTP test-only module: a fixed-window congestion control");

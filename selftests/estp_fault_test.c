// SPDX-License-Identifier: GPL-2.0
/*
 * The teardown exits that only a lost race or a failed allocation reaches,
 * provoked through ESTP's fault points (/sys/kernel/debug/estp/fail).  The
 * fault points are ESTP's own, so these tests have no TCP variant.  The
 * runner fails the run on any warning, including estp_csk_destroy_sock()'s.
 * Each test runs in a netns of its own, where the only sockets and rows of
 * /proc/net/estp (estp6) are its own; a guard disarms the fault point
 * should the test be killed with it armed.  Every test runs on IPv4, IPv6
 * and v4-mapped IPv6 (variants estp4, estp6, estp_mapped): the fault
 * points sit on paths the families share.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

#define FAIL_FILE	"/sys/kernel/debug/estp/fail"
#define PORT		20901

/* How long the kernel may take with what a step set off, under TCG. */
#define SETTLE_S	5

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The guard's undo: "none 0" disarms whatever point is armed. */
static void disarm(const void *arg)
{
	FILE *f = fopen(FAIL_FILE, "w");

	(void)arg;
	if (f) {
		fputs("none 0\n", f);
		fclose(f);
	}
}

/* Lines of /proc/net/estp (estp6 for @fam's AF_INET6), its header included. */
static int proc_rows(int fam)
{
	FILE *f = fopen(estp_proc_net(IPPROTO_ESTP, fam), "r");
	char line[256];
	int rows = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		rows++;
	fclose(f);
	return rows;
}

/*
 * A netns of the test's own, and a guard that disarms the fault point if
 * the test dies with it armed.  Before any socket: the guard holds a copy
 * of every fd until it has closed them.
 */
FIXTURE(fault)
{
	struct estp_guard guard;
};

FIXTURE_VARIANT(fault) { int fam; };
FIXTURE_VARIANT_ADD(fault, estp4) { .fam = ESTP_FAM4 };
FIXTURE_VARIANT_ADD(fault, estp6) { .fam = ESTP_FAM6 };
FIXTURE_VARIANT_ADD(fault, estp_mapped) { .fam = ESTP_FAM_MAPPED };

/*
 * ESTP's sockets in this netns, IPv4 and IPv6 ("ESTP" and "ESTPv6" in
 * /proc/net/protocols; a v4-mapped socket is an IPv6 one), or -1.
 */
static long sockets(void)
{
	long v4 = -1, v6 = 0;

	estp_proto_line("ESTP", NULL, &v4);
	estp_proto_line("ESTPv6", NULL, &v6);
	return v4 < 0 || v6 < 0 ? -1 : v4 + v6;
}

FIXTURE_SETUP(fault)
{
	self->guard.pid = -1;
	ASSERT_EQ(0, estp_netns_private());
	ASSERT_EQ(0, estp_guard_start(&self->guard, disarm, NULL));
}

FIXTURE_TEARDOWN(fault)
{
	disarm(NULL);
	estp_guard_stop(&self->guard);
}

/*
 * Waits up to SETTLE_S for the fault point to have fired and the socket
 * count to be @want, and for @fam's /proc/net/estp{,6} to have @rows lines
 * (its header included) when @rows is not -1.
 */
static void settle(int fam, long want, int rows)
{
	double end = now_s() + SETTLE_S;

	while ((estp_fault_left() != 0 || sockets() != want ||
		(rows >= 0 && proc_rows(fam) != rows)) && now_s() < end)
		usleep(5000);
}

/*
 * Listener on PORT (127.0.0.1, ::1 or ::ffff:127.0.0.1 as @fam has it) and
 * a client connected to it; the accept is the test's.
 */
static void connect_pair(struct __test_metadata *_metadata, int fam, int *lfd, int *cfd)
{
	struct sockaddr_storage ss;
	socklen_t len = estp_loopback(fam, PORT, &ss);

	*lfd = estp_socket(IPPROTO_ESTP, fam);
	ASSERT_LE(0, *lfd);
	ASSERT_EQ(0, setsockopt(*lfd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)));
	ASSERT_EQ(0, bind(*lfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(*lfd, 4));
	*cfd = estp_socket(IPPROTO_ESTP, fam);
	ASSERT_LE(0, *cfd);
	ASSERT_EQ(0, connect(*cfd, (struct sockaddr *)&ss, len));
}

static void abort_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/*
 * The child of a completed handshake loses its race for the request's place
 * in the established hash: it is destroyed through estp_done() and
 * estp_csk_destroy_sock(); nothing is queued for accept().
 */
TEST_F(fault, syn_recv_sock_exit)
{
	long before = sockets();
	int lfd, cfd;

	ASSERT_EQ(0, before);
	ASSERT_EQ(0, estp_fault_arm("syn_recv_sock"));
	connect_pair(_metadata, variant->fam, &lfd, &cfd);
	/* The final ACK makes the child, which the fault point ends at once. */
	settle(variant->fam, before + 2, -1);
	EXPECT_EQ(0, estp_fault_left());
	/* Listener and client only: the child is gone. */
	EXPECT_EQ(before + 2, sockets());
	EXPECT_EQ(0, fcntl(lfd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	abort_close(cfd);
	close(lfd);
	settle(variant->fam, before, 1);
	EXPECT_EQ(before, sockets());
	EXPECT_EQ(1, proc_rows(variant->fam));
}

/*
 * No memory for a time-wait minisock: the connection just ends in
 * estp_done(), as TCP's does, counted as TimeWaitOverflow, and no
 * TIME_WAIT entry is left.
 */
TEST_F(fault, time_wait_exit)
{
	long before = sockets(), overflows = estp_stat("TimeWaitOverflow");
	int lfd, cfd, afd;
	char buf[4];

	ASSERT_EQ(0, before);
	ASSERT_LE(0, overflows);
	connect_pair(_metadata, variant->fam, &lfd, &cfd);
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	ASSERT_EQ(0, estp_fault_arm("time_wait"));
	/* The client closes first: its FIN_WAIT2 orphan wants a minisock. */
	close(cfd);
	/* Listener and accepted socket left: the orphan went without a minisock. */
	settle(variant->fam, before + 2, -1);
	EXPECT_EQ(0, estp_fault_left());
	EXPECT_EQ(overflows + 1, estp_stat("TimeWaitOverflow"));
	EXPECT_EQ(0, read(afd, buf, sizeof(buf)));
	close(afd);
	close(lfd);
	settle(variant->fam, before, 1);
	EXPECT_EQ(before, sockets());
	/* Nothing of the connection is listed, not even in TIME_WAIT. */
	EXPECT_EQ(1, proc_rows(variant->fam));
}

ESTP_HARNESS_MAIN("syn_recv_sock_exit", "time_wait_exit")

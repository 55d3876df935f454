// SPDX-License-Identifier: GPL-2.0
/*
 * Many connections through the whole lifecycle, and nothing may leak: opens
 * and closes 10,000 ESTP connections (STRESS=1: 100,000) over loopback,
 * each closed gracefully so that the FIN states and time-wait minisocks are
 * exercised too, then checks that every one of them is gone: the full
 * socks (/proc/net/protocols), the TIME_WAIT minisocks (/proc/net/estp,
 * with net.estp.tw_timeout 1 s), the memory charged to the protocol, and
 * that no SYN was dropped (ListenOverflows, ListenDrops).  It runs in a
 * netns of its own, whose counters start at zero and whose tw_timeout goes
 * with it; the purge of live minisocks at netns exit or rmmod is not what
 * this test checks.  It runs on IPv4, IPv6 and v4-mapped IPv6 (variants
 * estp4, estp6, estp_mapped): AF_INET6 sockets, mapped ones too, are
 * ESTPv6's in /proc/net/protocols and listed in /proc/net/estp6.
 */
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

#define PORT		20950
#define TW_TIMEOUT	"/proc/sys/net/estp/tw_timeout"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Rows of @path (/proc/net/estp{,6}), its header not counted, or -1. */
static int estp_rows(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int rows = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		rows++;
	fclose(f);
	return rows;
}

FIXTURE(stress)
{
	int lfd;
	long lag;		/* estp_memory_lag(), read in the init netns */
};

/* ESTP alone: the counts are ESTP's. */
FIXTURE_VARIANT(stress)
{
	int fam;		/* enum estp_fam */
	const char *name;	/* the protocol's line in /proc/net/protocols */
};

FIXTURE_VARIANT_ADD(stress, estp4) { .fam = ESTP_FAM4, .name = "ESTP" };
FIXTURE_VARIANT_ADD(stress, estp6) { .fam = ESTP_FAM6, .name = "ESTPv6" };
FIXTURE_VARIANT_ADD(stress, estp_mapped) { .fam = ESTP_FAM_MAPPED, .name = "ESTPv6" };

/* The sockets on the variant's line of /proc/net/protocols, or -1. */
static long proto_sockets(const char *name)
{
	long n = -1;

	estp_proto_line(name, NULL, &n);
	return n;
}

FIXTURE_SETUP(stress)
{
	struct sockaddr_storage ss;
	socklen_t len = estp_loopback(variant->fam, PORT, &ss);

	self->lfd = -1;
	self->lag = estp_memory_lag();
	ASSERT_EQ(0, estp_netns_private());
	/* Short TIME_WAIT, so that 100,000 connections do not run out of ports. */
	ASSERT_EQ(0, estp_sysctl_set(TW_TIMEOUT, "1"));
	self->lfd = estp_socket(IPPROTO_ESTP, variant->fam);
	ASSERT_LE(0, self->lfd) TH_LOG("socket: %s", strerror(errno));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(self->lfd, 128));
}

FIXTURE_TEARDOWN(stress)
{
	if (self->lfd >= 0)
		close(self->lfd);
	/* tw_timeout goes with the netns. */
}

TEST_F_TIMEOUT(stress, open_close_many, 900)
{
	const char *proc = estp_proc_net(IPPROTO_ESTP, variant->fam);
	const char *stress = getenv("STRESS");
	int n = stress && atoi(stress) ? 100000 : 10000;
	long mem, sockets, base_mem = estp_proto_memory(variant->name);
	long base_sockets = proto_sockets(variant->name);
	struct sockaddr_storage ss;
	socklen_t len = estp_loopback(variant->fam, PORT, &ss);
	int i, rows = -1;
	double end;
	char buf[1];

	/* The listener alone, in a netns of its own. */
	ASSERT_EQ(1, base_sockets);
	ASSERT_EQ(1, estp_rows(proc));
	ASSERT_LE(0, base_mem);
	ASSERT_EQ(0, estp_stat("ListenOverflows"));
	ASSERT_EQ(0, estp_stat("ListenDrops"));
	for (i = 0; i < n; i++) {
		int cfd = estp_socket(IPPROTO_ESTP, variant->fam);
		int afd;

		ASSERT_LE(0, cfd) TH_LOG("connection %d", i);
		ASSERT_EQ(0, connect(cfd, (struct sockaddr *)&ss, len))
			TH_LOG("connection %d: %s", i, strerror(errno));
		afd = accept(self->lfd, NULL, NULL);
		ASSERT_LE(0, afd) TH_LOG("connection %d", i);
		/* Client first: FIN_WAIT2 -> TIME_WAIT; the server passes LAST_ACK. */
		ASSERT_EQ(0, close(cfd));
		ASSERT_EQ(0, read(afd, buf, sizeof(buf))) TH_LOG("connection %d", i);
		ASSERT_EQ(0, close(afd));
	}
	TH_LOG("%d connections opened and closed", n);

	/*
	 * The last LAST_ACKs end in a moment on loopback, the TIME_WAITs after
	 * their second; the per-CPU reserves may keep some pages from the
	 * protocol's count, never a page for each of n connections.
	 */
	end = now_s() + 30;
	do {
		sockets = proto_sockets(variant->name);
		rows = estp_rows(proc);
		mem = estp_proto_memory(variant->name);
		if (sockets == base_sockets && rows == 1 && mem >= 0 && mem <= base_mem + self->lag)
			break;
		usleep(20000);
	} while (now_s() < end);
	TH_LOG("memory: %ld pages before, %ld after (per-CPU reserves: up to %ld)",
	       base_mem, mem, self->lag);
	EXPECT_EQ(base_sockets, sockets);	/* the listener */
	EXPECT_EQ(1, rows) {			/* the listener, no TIME_WAIT left */
		char line[256];
		FILE *f = fopen(proc, "r");

		/* Which states were left, for the failure's log. */
		while (f && fgets(line, sizeof(line), f))
			TH_LOG("%.100s", line);
		if (f)
			fclose(f);
	}
	EXPECT_GE(base_mem + self->lag, mem);
	EXPECT_LE(0, mem);
	EXPECT_EQ(0, estp_stat("ListenOverflows"));
	EXPECT_EQ(0, estp_stat("ListenDrops"));
}

ESTP_HARNESS_MAIN("open_close_many")

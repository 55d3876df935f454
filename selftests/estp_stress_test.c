// SPDX-License-Identifier: GPL-2.0
/*
 * Many connections through the whole lifecycle, and nothing may leak: opens
 * and closes 10,000 ESTP connections (STRESS=1: 100,000) over loopback,
 * each closed gracefully so that the FIN states and time-wait minisocks are
 * exercised too, then checks that every full sock is gone.  The time-wait
 * minisocks still there are ended by the runner's rmmod, which must succeed.
 * The counts are ESTP's own (/proc/net/protocols, estp_stat).
 */
#include <stdlib.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

#define PORT		20950
#define TW_TIMEOUT	"/proc/sys/net/estp/tw_timeout"

FIXTURE(stress)
{
	char tw_timeout[16];
	int lfd;
};

FIXTURE_SETUP(stress)
{
	struct sockaddr_in sin = estp_sin4("127.0.0.1", PORT);
	FILE *f = fopen(TW_TIMEOUT, "r+");

	/* Short TIME_WAIT, so that 100,000 connections do not run out of ports. */
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(self->tw_timeout, sizeof(self->tw_timeout), f));
	fclose(f);
	f = fopen(TW_TIMEOUT, "w");
	ASSERT_NE(NULL, f);
	fputs("1\n", f);
	fclose(f);
	self->lfd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(self->lfd, 128));
}

FIXTURE_TEARDOWN(stress)
{
	FILE *f = fopen(TW_TIMEOUT, "w");

	close(self->lfd);
	if (f) {
		fputs(self->tw_timeout, f);
		fclose(f);
	}
}

TEST_F_TIMEOUT(stress, open_close_many, 900)
{
	struct sockaddr_in sin = estp_sin4("127.0.0.1", PORT);
	const char *stress = getenv("STRESS");
	int n = stress && atoi(stress) ? 100000 : 10000;
	long drops = estp_stat("ListenDrops");
	long sockets;
	char buf[1];
	int i;

	ASSERT_LE(0, drops);
	for (i = 0; i < n; i++) {
		int cfd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
		int afd;

		ASSERT_LE(0, cfd) TH_LOG("connection %d", i);
		ASSERT_EQ(0, connect(cfd, (struct sockaddr *)&sin, sizeof(sin)))
			TH_LOG("connection %d: %s", i, strerror(errno));
		afd = accept(self->lfd, NULL, NULL);
		ASSERT_LE(0, afd) TH_LOG("connection %d", i);
		/* Client first: FIN_WAIT2 -> TIME_WAIT; the server passes LAST_ACK. */
		ASSERT_EQ(0, close(cfd));
		ASSERT_EQ(0, read(afd, buf, sizeof(buf))) TH_LOG("connection %d", i);
		ASSERT_EQ(0, close(afd));
	}
	/* The last LAST_ACKs finish in a moment on loopback. */
	usleep(200000);
	ASSERT_EQ(0, estp_proto_line("ESTP", NULL, &sockets));
	EXPECT_EQ(1, sockets);		/* the listener */
	EXPECT_EQ(drops, estp_stat("ListenDrops"));
	TH_LOG("%d connections opened and closed", n);
}

TEST_HARNESS_MAIN

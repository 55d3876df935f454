// SPDX-License-Identifier: GPL-2.0
/*
 * Load and faults, for TCP and ESTP alike where TCP defines the outcome:
 *
 *   flood_traffic  a SYN flood from the raw peer at the guest's full rate
 *                  against a listener with SYN cookies, while connections
 *                  it accepted before move data both ways and new clients
 *                  keep arriving: every byte arrives intact, every client
 *                  is accepted, cookies were sent;
 *   cycles         connect/transfer/close cycles from several threads at
 *                  one listener: every byte intact, every socket gone;
 *   mem_pressure   many connections sending at once under a low
 *                  net.estp.mem (net.ipv4.tcp_mem): no hang, the pressure
 *                  counted, and every byte delivered once it ends;
 *   failslab       handshakes and transfers while failslab fails this
 *                  task's allocations (the debug kernel), then ESTP's own
 *                  fault points one after another: errors, never a leak
 *                  (where TCP leaves orphans, below);
 *   mod_cycles     insmod/rmmod of $ESTP_KO with a transfer and a graceful
 *                  close (TIME_WAIT left behind) in every cycle.
 *
 * Sizes come from the environment so that make check runs a bounded slice
 * and make fuzz the full one (Documentation/testing.rst):
 * ESTP_LOAD_SYNS (SYNs in the flood), ESTP_LOAD_CYCLES (connections),
 * ESTP_LOAD_MODCYCLES (module loads).
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "estp_lib.h"
#include "estp_peer.h"

#define LPORT		21000
#define CHUNK		16384

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 10) : def;
}

static const char *proto_name(int proto)
{
	return proto == IPPROTO_TCP ? "TCP" : "ESTP";
}

/* Waits up to @ms for @fd to be ready for @events: 1, 0 on timeout. */
static int wait_fd(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, ms) > 0;
}

static void set_timeouts(int fd, int sec)
{
	struct timeval tv = { .tv_sec = sec };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Sends @len bytes of the pattern @seed: 0, or -1 with errno. */
static int send_pattern(int fd, uint64_t len, uint64_t seed)
{
	unsigned char buf[CHUNK];
	uint64_t off = 0;
	ssize_t n;
	size_t k;

	while (off < len) {
		k = len - off < sizeof(buf) ? len - off : sizeof(buf);
		estp_pattern_fill(buf, k, off, seed);
		n = send(fd, buf, k, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		off += n;
	}
	return 0;
}

/*
 * Reads until end of file and compares with the pattern @seed: the bytes
 * read, or -1 on an error or the first byte that differs.
 */
static long recv_pattern(int fd, uint64_t seed)
{
	unsigned char buf[CHUNK];
	uint64_t off = 0;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			return off;
		if (n < 0 || estp_pattern_check(buf, n, off, seed) >= 0)
			return -1;
		off += n;
	}
}

/* One direction of a connection, run in a thread of its own. */
struct flow {
	int fd;
	bool sender;
	uint64_t len, seed;
	long got;		/* receiver: bytes, -1 on a mismatch or error */
	int err;		/* sender: errno, 0 */
};

static void *flow_run(void *arg)
{
	struct flow *f = arg;

	if (f->sender) {
		f->err = send_pattern(f->fd, f->len, f->seed) ? errno : 0;
		if (!f->err && shutdown(f->fd, SHUT_WR))
			f->err = errno;
	} else {
		f->got = recv_pattern(f->fd, f->seed);
	}
	return NULL;
}

FIXTURE(load)
{
	struct estp_peer peer;
	bool peer_open;
	char cookies[32];
	int lfd;
};

FIXTURE_VARIANTS_TCP_ESTP(load);

FIXTURE_SETUP(load)
{
	self->lfd = -1;
	self->peer_open = false;
	self->cookies[0] = '\0';
}

FIXTURE_TEARDOWN(load)
{
	if (self->lfd >= 0)
		close(self->lfd);
	if (self->peer_open) {
		if (self->cookies[0])
			peer_sysctl(variant->proto == IPPROTO_TCP ?
				    "/proc/sys/net/ipv4/tcp_syncookies" :
				    "/proc/sys/net/estp/syncookies",
				    NULL, 0, self->cookies);
		peer_close(&self->peer);
	}
}

/* A listener on 127.0.0.1:@port with @backlog: the fd, or -1. */
static int listen_at(int proto, int port, int backlog)
{
	struct sockaddr_in sin = estp_sin4("127.0.0.1", port);
	int fd = socket(AF_INET, SOCK_STREAM, proto), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, backlog)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A client of @lfd's port, connected within @ms (its SYN may be lost to
 * the flood on lo and sent again), and the socket @lfd accepted for it.
 */
static int connect_accept(int proto, int lfd, int ms, int *afd)
{
	struct sockaddr_in sin = estp_sin4("127.0.0.1", estp_local_port(lfd));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, proto), fl;

	*afd = -1;
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) && errno != EINPROGRESS)
		goto fail;
	if (!wait_fd(fd, POLLOUT, ms) || estp_so_error(fd))
		goto fail;
	if (!wait_fd(lfd, POLLIN, ms))
		goto fail;
	*afd = accept(lfd, NULL, NULL);
	if (*afd < 0)
		goto fail;
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
fail:
	close(fd);
	return -1;
}

#define FLOOD_PAIRS	4
#define FLOOD_FLOWS	(4 * FLOOD_PAIRS)
#define FLOOD_BYTES	(4 << 20)

/*
 * Each pair's four flows: the client sends stream 2i+1 and reads 2i+2, the
 * accepted socket the other way round.
 */
static void flood_flows(struct flow *f, int i, int cfd, int afd)
{
	f[4 * i] = (struct flow){ .fd = cfd, .sender = true, .len = FLOOD_BYTES,
				  .seed = 2 * i + 1 };
	f[4 * i + 1] = (struct flow){ .fd = afd, .seed = 2 * i + 1 };
	f[4 * i + 2] = (struct flow){ .fd = afd, .sender = true, .len = FLOOD_BYTES,
				      .seed = 2 * i + 2 };
	f[4 * i + 3] = (struct flow){ .fd = cfd, .seed = 2 * i + 2 };
}

/*
 * The flood comes from the raw peer's ports (estp_peer.h), whose answers
 * the tc filter drops: nothing completes its handshakes.
 */
TEST_F_TIMEOUT(load, flood_traffic, 600)
{
	long syns = env_long("ESTP_LOAD_SYNS", 2000), i, sent0, t;
	int proto = variant->proto, cfd[FLOOD_PAIRS], afd[FLOOD_PAIRS], clients = 0, fd, a;
	struct flow f[FLOOD_FLOWS];
	pthread_t th[FLOOD_FLOWS];
	const char *err;
	struct pkt_seg s;

	err = peer_open(&self->peer, proto);
	ASSERT_EQ(NULL, err) TH_LOG("raw peer: %s failed", err);
	self->peer_open = true;
	ASSERT_EQ(0, peer_sysctl(proto == IPPROTO_TCP ? "/proc/sys/net/ipv4/tcp_syncookies" :
				 "/proc/sys/net/estp/syncookies",
				 self->cookies, sizeof(self->cookies), "1"));
	self->lfd = listen_at(proto, LPORT, 64);
	ASSERT_LE(0, self->lfd);
	for (i = 0; i < FLOOD_PAIRS; i++) {
		cfd[i] = connect_accept(proto, self->lfd, 5000, &afd[i]);
		ASSERT_LE(0, cfd[i]);
		set_timeouts(cfd[i], 60);
		set_timeouts(afd[i], 60);
		flood_flows(f, i, cfd[i], afd[i]);
	}
	sent0 = estp_counter(proto, "SyncookiesSent");
	for (i = 0; i < FLOOD_FLOWS; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, flow_run, &f[i]));

	memset(&s, 0, sizeof(s));
	s.dport = LPORT;
	s.flags = PKT_SYN;
	s.win = PEER_WIN;
	s.mss = 1460;
	t = pkt_now_ms();
	for (i = 0; i < syns; i++) {
		s.sport = PEER_PORT_MIN + i % (PEER_PORT_MAX + 1 - PEER_PORT_MIN);
		s.seq = 0x10000000u + (uint32_t)i * 7919u;
		/* lo's backlog may be full: a SYN lost there is a SYN too. */
		peer_send(&self->peer, &s);
		if (i % (syns / 8 + 1) == syns / 16) {
			/* A real client amid the flood gets in (a cookie, or a request). */
			fd = connect_accept(proto, self->lfd, 10000, &a);
			EXPECT_LE(0, fd) TH_LOG("client %d during the flood: %s", clients,
						strerror(errno));
			if (fd >= 0) {
				clients++;
				close(fd);
				close(a);
			}
		}
	}
	TH_LOG("%s: %ld SYNs in %ld ms, %d clients accepted during the flood, %ld cookies",
	       proto_name(proto), syns, pkt_now_ms() - t, clients,
	       estp_counter(proto, "SyncookiesSent") - sent0);
	EXPECT_LT(sent0, estp_counter(proto, "SyncookiesSent"));

	/* Every stream whole, in order, both ways. */
	for (i = 0; i < FLOOD_FLOWS; i++) {
		pthread_join(th[i], NULL);
		if (f[i].sender) {
			EXPECT_EQ(0, f[i].err) TH_LOG("flow %ld: %s", i, strerror(f[i].err));
		} else {
			EXPECT_EQ(FLOOD_BYTES, f[i].got) TH_LOG("flow %ld", i);
		}
	}
	for (i = 0; i < FLOOD_PAIRS; i++) {
		close(cfd[i]);
		close(afd[i]);
	}
	/* And the listener still takes a client once the flood is over. */
	fd = connect_accept(proto, self->lfd, 10000, &a);
	EXPECT_LE(0, fd);
	if (fd >= 0) {
		close(fd);
		close(a);
	}
}

/* Connections each cycle's client sends, and the server's answer. */
#define CYCLE_BYTES	1024
#define CYCLE_THREADS	4

struct cycler {
	int proto, lfd, n;
	atomic_int *ok;
	int fails, first_err;	/* the first failing cycle's errno */
};

/* Accepts, reads a request to its end, answers it and closes, until EBADF. */
static void *serve_run(void *arg)
{
	struct cycler *c = arg;
	int fd;

	for (;;) {
		fd = accept(c->lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		set_timeouts(fd, 30);
		if (recv_pattern(fd, 7) != CYCLE_BYTES || send_pattern(fd, CYCLE_BYTES, 8))
			c->fails++;
		close(fd);
	}
}

static void *cycle_run(void *arg)
{
	struct cycler *c = arg;
	int i, fd;

	for (i = 0; i < c->n; i++) {
		fd = estp_connect_to(c->proto, "127.0.0.1", estp_local_port(c->lfd));
		if (fd >= 0) {
			set_timeouts(fd, 30);
			if (!send_pattern(fd, CYCLE_BYTES, 7) && !shutdown(fd, SHUT_WR) &&
			    recv_pattern(fd, 8) == CYCLE_BYTES) {
				atomic_fetch_add(c->ok, 1);
				close(fd);
				continue;
			}
		}
		if (!c->fails++)
			c->first_err = errno;
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

/*
 * Waits up to @ms for @proto's sockets in use to be back at @base; if they
 * are not, prints the rows of /proc/net/{tcp,estp} that are left.
 */
static long sockets_settle(int proto, long base, int ms)
{
	long end = pkt_now_ms() + ms, n = -1;
	char line[256];
	FILE *f;

	while (!estp_proto_line(proto_name(proto), NULL, &n) && n != base &&
	       pkt_now_ms() < end)
		usleep(10000);
	if (n == base)
		return n;
	f = fopen(ESTP_PROC_NET(proto), "r");
	while (f && fgets(line, sizeof(line), f))
		ksft_print_msg("left: %s", line);
	if (f)
		fclose(f);
	return n;
}

TEST_F_TIMEOUT(load, cycles, 1800)
{
	long n = env_long("ESTP_LOAD_CYCLES", 200), base = -1, t;
	struct cycler c[CYCLE_THREADS], srv[2];
	pthread_t th[CYCLE_THREADS], sth[2];
	int proto = variant->proto, i;
	atomic_int ok = 0;

	ASSERT_EQ(0, estp_netns_private());
	ASSERT_EQ(0, estp_proto_line(proto_name(proto), NULL, &base));
	self->lfd = listen_at(proto, LPORT + 1, 128);
	ASSERT_LE(0, self->lfd);
	t = pkt_now_ms();
	for (i = 0; i < 2; i++) {
		srv[i] = (struct cycler){ .proto = proto, .lfd = self->lfd };
		ASSERT_EQ(0, pthread_create(&sth[i], NULL, serve_run, &srv[i]));
	}
	for (i = 0; i < CYCLE_THREADS; i++) {
		c[i] = (struct cycler){ .proto = proto, .lfd = self->lfd,
					.n = n / CYCLE_THREADS, .ok = &ok };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, cycle_run, &c[i]));
	}
	for (i = 0; i < CYCLE_THREADS; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, c[i].fails) TH_LOG("thread %d: %d cycles failed, the first: %s",
						i, c[i].fails, strerror(c[i].first_err));
	}
	/* The servers' accept() returns once the listener is shut down. */
	shutdown(self->lfd, SHUT_RDWR);
	for (i = 0; i < 2; i++) {
		pthread_join(sth[i], NULL);
		EXPECT_EQ(0, srv[i].fails);
	}
	TH_LOG("%s: %d of %ld connect/transfer/close cycles in %ld ms", proto_name(proto),
	       atomic_load(&ok), n / CYCLE_THREADS * CYCLE_THREADS, pkt_now_ms() - t);
	EXPECT_EQ(n / CYCLE_THREADS * CYCLE_THREADS, atomic_load(&ok));
	close(self->lfd);
	self->lfd = -1;
	EXPECT_EQ(base, sockets_settle(proto, base, 10000));
}

#define PRESSURE_PAIRS	16
#define PRESSURE_BYTES	(1 << 20)

/*
 * net.estp.mem (net.ipv4.tcp_mem) is the init netns's and global: the test
 * runs there, and a guard writes the old value back should it die.
 */
TEST_F_TIMEOUT(load, mem_pressure, 600)
{
	const char *path = variant->proto == IPPROTO_TCP ? "/proc/sys/net/ipv4/tcp_mem" :
			   "/proc/sys/net/estp/mem";
	int proto = variant->proto, cfd[PRESSURE_PAIRS], afd[PRESSURE_PAIRS], i;
	struct flow f[2 * PRESSURE_PAIRS];
	pthread_t th[2 * PRESSURE_PAIRS];
	struct estp_sysctl_saved saved;
	long base, pressures, sockets = -1, end;
	int sndbuf = 1 << 20;
	struct estp_guard g;
	char val[96];

	ASSERT_EQ(0, estp_proto_line(proto_name(proto), NULL, &sockets));
	ASSERT_EQ(0, estp_sysctl_guard(&g, &saved, path));
	for (i = 0; i < PRESSURE_PAIRS; i++) {
		ASSERT_EQ(0, estp_pair_fam(proto, ESTP_FAM4, 0, &cfd[i], &afd[i]));
		set_timeouts(cfd[i], 90);
		set_timeouts(afd[i], 90);
		/* Send queues as long as net.core.wmem_max lets them grow. */
		setsockopt(cfd[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		f[2 * i] = (struct flow){ .fd = cfd[i], .sender = true,
					  .len = PRESSURE_BYTES, .seed = 100 + i };
		f[2 * i + 1] = (struct flow){ .fd = afd[i], .seed = 100 + i };
	}
	/* Half a MiB above what is charged now, per-CPU reserves included. */
	base = estp_proto_memory(proto_name(proto)) + estp_memory_lag();
	ASSERT_LE(0, base);
	snprintf(val, sizeof(val), "%ld %ld %ld", base + 64, base + 96, base + 128);
	ASSERT_EQ(0, estp_sysctl_set(path, val));
	pressures = estp_counter(proto, "MemoryPressures");
	/*
	 * The senders alone first: with nobody reading, the queues grow past
	 * the limits.  The readers start once the protocol said it is under
	 * pressure (or after 30 s, and the test fails): every byte must still
	 * arrive once the pressure ends.
	 */
	for (i = 0; i < 2 * PRESSURE_PAIRS; i += 2)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, flow_run, &f[i]));
	end = pkt_now_ms() + 30000;
	while (estp_counter(proto, "MemoryPressures") == pressures && pkt_now_ms() < end)
		usleep(10000);
	EXPECT_LT(pressures, estp_counter(proto, "MemoryPressures"));
	for (i = 1; i < 2 * PRESSURE_PAIRS; i += 2)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, flow_run, &f[i]));
	for (i = 0; i < 2 * PRESSURE_PAIRS; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(0, estp_sysctl_set(path, saved.val));
	estp_guard_stop(&g);
	TH_LOG("%s: limits %s pages, %ld pressure episodes", proto_name(proto), val,
	       estp_counter(proto, "MemoryPressures") - pressures);
	for (i = 0; i < 2 * PRESSURE_PAIRS; i++) {
		if (f[i].sender) {
			EXPECT_EQ(0, f[i].err) TH_LOG("flow %d: %s", i, strerror(f[i].err));
		} else {
			EXPECT_EQ(PRESSURE_BYTES, f[i].got) TH_LOG("flow %d", i);
		}
	}
	for (i = 0; i < PRESSURE_PAIRS; i++) {
		close(cfd[i]);
		close(afd[i]);
	}
	EXPECT_EQ(sockets, sockets_settle(proto, sockets, 10000));
}

#define FAILSLAB	"/sys/kernel/debug/failslab/"

static int failslab_set(const char *knob, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), FAILSLAB "%s", knob);
	return estp_sysctl_set(path, val);
}

static void failslab_off(const void *arg)
{
	(void)arg;
	failslab_set("probability", "0");
}

/*
 * One handshake, transfer and close with errors allowed anywhere: 0 when
 * every step worked, else the errno of the step that failed.
 */
static int try_cycle(int proto, int lfd, bool graceful)
{
	int fd, a = -1, err = 0;

	fd = connect_accept(proto, lfd, 3000, &a);
	if (fd < 0)
		return errno ? errno : EIO;
	set_timeouts(fd, 5);
	set_timeouts(a, 5);
	if (send_pattern(fd, 8192, 9) || shutdown(fd, SHUT_WR) ||
	    recv_pattern(a, 9) != 8192)
		err = errno ? errno : EIO;
	if (graceful) {
		close(a);
		close(fd);
	} else {
		estp_close_abort(&a);
		estp_close_abort(&fd);
	}
	return err;
}

/*
 * failslab fails the kmem_cache allocations of the tasks marked with
 * make-it-fail, this thread only: handshakes, transfers and closes meet
 * ENOMEM where the socket layer or the protocol allocates.  Then each of
 * ESTP's own fault points (/sys/kernel/debug/estp/fail) fails once amid
 * cycles.  Whatever failed, nothing may be left once the sockets close,
 * and the stack must carry a connection whole afterwards.
 */
TEST_F_TIMEOUT(load, failslab, 900)
{
	static const char * const points[] = {
		"inherit_port", "listen_purge", "reqsk_backoff", "reqsk_queue_add",
		"reqsk_timer", "syn_recv_sock", "time_wait", "xmit_cb_high", "xmit_data",
	};
	long n = env_long("ESTP_LOAD_FAILCYCLES", 100), base = -1, i;
	int proto = variant->proto, failed = 0, err, fd, a, k;
	struct estp_guard g;

	if (access(FAILSLAB "probability", W_OK))
		SKIP(return, "no failslab (CONFIG_FAILSLAB) here: the debug kernel has it");
	ASSERT_EQ(0, estp_guard_start(&g, failslab_off, NULL));
	ASSERT_EQ(0, estp_netns_private());
	ASSERT_EQ(0, estp_proto_line(proto_name(proto), NULL, &base));
	self->lfd = listen_at(proto, LPORT + 2, 64);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, failslab_set("task-filter", "Y"));
	ASSERT_EQ(0, failslab_set("ignore-gfp-wait", "N"));
	ASSERT_EQ(0, failslab_set("interval", "1"));
	ASSERT_EQ(0, failslab_set("times", "-1"));
	ASSERT_EQ(0, failslab_set("verbose", "0"));
	ASSERT_EQ(0, failslab_set("probability", "5"));
	ASSERT_EQ(0, estp_sysctl_set("/proc/thread-self/make-it-fail", "1"));
	for (i = 0; i < n; i++) {
		err = try_cycle(proto, self->lfd, i % 2);
		failed += !!err;
		/* A refused accept() leaves its child queued: take it out. */
		while (wait_fd(self->lfd, POLLIN, 0) && (a = accept(self->lfd, NULL, NULL)) >= 0)
			estp_close_abort(&a);
	}
	EXPECT_EQ(0, estp_sysctl_set("/proc/thread-self/make-it-fail", "0"));
	EXPECT_EQ(0, failslab_set("probability", "0"));
	estp_guard_stop(&g);
	TH_LOG("%s: %d of %ld cycles met a failed allocation", proto_name(proto), failed, n);
	EXPECT_LT(0, failed);

	if (proto == IPPROTO_ESTP && estp_fault_left() >= 0) {
		for (k = 0; k < (int)ARRAY_SIZE(points); k++) {
			ASSERT_EQ(0, estp_fault_arm(points[k]));
			for (i = 0; i < 4; i++)
				try_cycle(proto, self->lfd, true);
			TH_LOG("fault point %s: %s", points[k],
			       estp_fault_left() ? "not reached" : "failed once");
			/* Disarm what was not reached, for the next point. */
			estp_sysctl_set(ESTP_FAIL_FILE, "none 0");
		}
	}
	/* The stack is whole: a connection carries its bytes. */
	fd = connect_accept(proto, self->lfd, 5000, &a);
	ASSERT_LE(0, fd);
	set_timeouts(fd, 30);
	set_timeouts(a, 30);
	EXPECT_EQ(0, send_pattern(fd, 256 << 10, 11));
	EXPECT_EQ(0, shutdown(fd, SHUT_WR));
	EXPECT_EQ(256 << 10, recv_pattern(a, 11));
	close(fd);
	close(a);
	close(self->lfd);
	self->lfd = -1;
	/*
	 * TCP leaves orphans behind here: when tcp_send_fin() cannot allocate
	 * the FIN's skb it returns, and a socket in FIN_WAIT1 or LAST_ACK with
	 * nothing in flight has no timer to send it again (6.12 debug: 12 of
	 * 200 cycles, there for good).  ESTP's FIN is a sequence number, not
	 * an skb (estp_send_fin_now()): the retransmit timer sends it again
	 * until it is acked, and nothing may be left.
	 */
	if (proto == IPPROTO_ESTP) {
		EXPECT_EQ(base, sockets_settle(proto, base, 15000));
	} else {
		TH_LOG("TCP: %ld sockets left (stuck in FIN_WAIT1/LAST_ACK without a timer)",
		       sockets_settle(proto, base, 0) - base);
	}
}

/*
 * Loads and unloads with traffic in between: a transfer each way on IPv4
 * and IPv6, both closed gracefully, so every unload finds time-wait
 * minisocks to purge.  The runner's estp.ko is loaded again at the end.
 */
FIXTURE(mod)
{
};

FIXTURE_SETUP(mod)
{
}

FIXTURE_TEARDOWN(mod)
{
	if (getenv("ESTP_KO") && !estp_module_loaded("estp"))
		EXPECT_EQ(0, estp_load(""));
}

TEST_F_TIMEOUT(mod, cycles, 1800)
{
	long n = env_long("ESTP_LOAD_MODCYCLES", 3), i;
	int fam, cfd, afd, ret;
	struct flow f[2];
	pthread_t th[2];

	if (!getenv("ESTP_KO"))
		SKIP(return, "ESTP_KO is not set: run through scripts/vm-run");
	ASSERT_EQ(0, estp_netns_private());
	for (i = 0; i < n; i++) {
		/*
		 * A closed listener's module reference goes after an RCU grace
		 * period; in the first cycle it may be an earlier test's.
		 */
		ret = estp_unload_wait(ESTP_RCU_WAIT_MS);
		ASSERT_EQ(0, ret) TH_LOG("cycle %ld: %s", i, strerror(-ret));
		ASSERT_EQ(0, estp_load("")) TH_LOG("cycle %ld", i);
		for (fam = ESTP_FAM4; fam <= ESTP_FAM6; fam++) {
			ASSERT_EQ(0, estp_pair_fam(IPPROTO_ESTP, fam, 0, &cfd, &afd));
			set_timeouts(cfd, 30);
			set_timeouts(afd, 30);
			f[0] = (struct flow){ .fd = cfd, .sender = true, .len = 64 << 10,
					      .seed = i };
			f[1] = (struct flow){ .fd = afd, .seed = i };
			ASSERT_EQ(0, pthread_create(&th[0], NULL, flow_run, &f[0]));
			ASSERT_EQ(0, pthread_create(&th[1], NULL, flow_run, &f[1]));
			pthread_join(th[0], NULL);
			pthread_join(th[1], NULL);
			EXPECT_EQ(0, f[0].err);
			EXPECT_EQ(64 << 10, f[1].got) TH_LOG("cycle %ld", i);
			ret = send_pattern(afd, 1000, 5);
			EXPECT_EQ(0, ret);
			close(afd);
			EXPECT_EQ(1000, recv_pattern(cfd, 5));
			close(cfd);
		}
	}
}

ESTP_HARNESS_MAIN_CI_ESTP_ONLY

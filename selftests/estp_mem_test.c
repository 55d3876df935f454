// SPDX-License-Identifier: GPL-2.0
/*
 * Memory accounting and the timeouts that end a connection: the sysctls
 * ESTP shares with TCP (net.estp.* against net.ipv4.tcp_*), default socket
 * buffers, the protocol's memory in /proc/net/protocols, a writer held back
 * by net.estp.mem and let go when the reader drains, an orphan killed for
 * want of memory, and the charge an empty queue forces past the limit.
 * TCP is the specification: every TEST_F runs for TCP and ESTP, on IPv4,
 * IPv6 and v4-mapped IPv6, as fixture variants and asserts what TCP does.
 * (A peer that vanishes, ETIMEDOUT after TCP_USER_TIMEOUT or retries2, is
 * estp_flow_test's peer_gone_*.)
 *
 * tcp_mem and net.estp.mem are global, writable in the init netns only:
 * each TEST_F opens its protocol's there, then moves to a netns of its own
 * (its counters and ports), and writes the limit through that file.  A
 * guard process puts the old value back should the test be killed.
 */
#define _GNU_SOURCE		/* unshare() */
#include <arpa/inet.h>
#include <limits.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

/* Fixed ports below ip_local_port_range, apart from the other tests'. */
#define PORT_BASE	22400

/* Socket buffers the tests force (SO_*BUFFORCE doubles them, as SO_*BUF). */
#define BIG_BUF		(4 << 20)

/* Bytes a send() or recv() moves at most. */
#define CHUNK		65536

/* The byte at stream offset @off: a stream that never repeats. */
static unsigned char pattern(uint64_t off)
{
	return estp_pattern_byte(off, 0x6d656d);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The path of net.ipv4.tcp_@name for TCP, net.estp.@name for ESTP. */
static const char *knob(int proto, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", proto == IPPROTO_TCP ?
		 "/proc/sys/net/ipv4/tcp_" : "/proc/sys/net/estp/", name);
	return buf;
}

/* A sysctl's value with runs of blanks made one space, in @buf: 0 or errno. */
static int sysctl_words(const char *path, char *buf, size_t len)
{
	char raw[256];
	size_t i, n = 0;
	int err = estp_sysctl_get(path, raw, sizeof(raw));

	if (err)
		return err;
	for (i = 0; raw[i] && n + 1 < len; i++) {
		if (raw[i] == ' ' || raw[i] == '\t') {
			if (n && buf[n - 1] != ' ')
				buf[n++] = ' ';
		} else {
			buf[n++] = raw[i];
		}
	}
	buf[n] = '\0';
	return 0;
}

/* The three longs of tcp_mem or net.estp.mem: 0 or -1. */
static int mem_get(int proto, long mem[3])
{
	char path[64], buf[128];

	knob(proto, "mem", path, sizeof(path));
	if (estp_sysctl_get(path, buf, sizeof(buf)))
		return -1;
	return sscanf(buf, "%ld %ld %ld", &mem[0], &mem[1], &mem[2]) == 3 ? 0 : -1;
}

/* The "memory" column (pages) of @proto's line in /proc/net/protocols, or -2. */
static long proto_memory(int proto)
{
	const char *want = proto == IPPROTO_TCP ? "TCP" : "ESTP";
	char line[512], name[64];
	long size, sockets, mem, ret = -2;
	FILE *f = fopen("/proc/net/protocols", "r");

	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld %ld %ld", name, &size, &sockets, &mem) == 4 &&
		    !strcmp(name, want))
			ret = mem;
	fclose(f);
	return ret;
}

/*
 * Pages the protocol's count can lag behind its sockets: each CPU keeps a
 * reserve before it adds to the global (net.core.mem_pcpu_rsv).
 */
static long pcpu_lag(void)
{
	char buf[32];
	long rsv = 256, cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!estp_sysctl_get("/proc/sys/net/core/mem_pcpu_rsv", buf, sizeof(buf)))
		rsv = atol(buf);
	return rsv * (cpus > 0 ? cpus : 1);
}

/* The sysctls ESTP takes from TCP, with their TCP names after "tcp_". */
static const char *const shared_sysctls[] = {
	"retries2", "rmem", "wmem", "timestamps", "sack", "window_scaling", "max_tw_buckets",
	"tw_reuse", "notsent_lowat", "dsack", "frto", "reordering", "max_reordering",
	"min_rtt_wlen",
};

/* Global, as their net.ipv4.tcp_* namesakes: sysctls of the init netns alone. */
static const char *const global_sysctls[] = { "mem", "max_orphans" };

/*
 * Every net.estp.* that has a net.ipv4.tcp_* namesake starts at its value
 * on this kernel; net.estp.mem is computed as tcp_mem is at boot (from the
 * buffer pages then, which the boot's freed memory may have grown).
 */
TEST(sysctl_defaults)
{
	char tpath[64], epath[64], tval[128], eval[128];
	long tmem[3], emem[3];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(shared_sysctls); i++) {
		knob(IPPROTO_TCP, shared_sysctls[i], tpath, sizeof(tpath));
		knob(IPPROTO_ESTP, shared_sysctls[i], epath, sizeof(epath));
		ASSERT_EQ(0, sysctl_words(tpath, tval, sizeof(tval)));
		ASSERT_EQ(0, sysctl_words(epath, eval, sizeof(eval))) TH_LOG("%s", epath);
		EXPECT_STREQ(tval, eval) TH_LOG("%s", epath);
	}
	ASSERT_EQ(0, mem_get(IPPROTO_TCP, tmem));
	ASSERT_EQ(0, mem_get(IPPROTO_ESTP, emem));
	TH_LOG("tcp_mem %ld %ld %ld, net.estp.mem %ld %ld %ld",
	       tmem[0], tmem[1], tmem[2], emem[0], emem[1], emem[2]);
	EXPECT_EQ(emem[1] / 4 * 3, emem[0]);
	EXPECT_EQ(emem[0] * 2, emem[2]);
	for (i = 0; i < 3; i++) {
		EXPECT_LE(tmem[i] * 9 / 10, emem[i]);
		EXPECT_GE(tmem[i] * 11 / 10, emem[i]);
	}
}

/*
 * In another netns the per-netns sysctls are its own, at TCP's values
 * there; net.estp.mem and max_orphans, global as tcp_mem and
 * tcp_max_orphans, are not there at all, as those are not.
 */
TEST(sysctl_netns)
{
	char tpath[64], epath[64], tval[128], eval[128], before[128];
	size_t i;
	int fd;

	knob(IPPROTO_ESTP, "retries2", epath, sizeof(epath));
	ASSERT_EQ(0, sysctl_words(epath, before, sizeof(before)));
	/* The harness runs each test in a child of its own: the netns goes with it. */
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	for (i = 0; i < ARRAY_SIZE(shared_sysctls); i++) {
		knob(IPPROTO_TCP, shared_sysctls[i], tpath, sizeof(tpath));
		knob(IPPROTO_ESTP, shared_sysctls[i], epath, sizeof(epath));
		ASSERT_EQ(0, sysctl_words(tpath, tval, sizeof(tval)));
		ASSERT_EQ(0, sysctl_words(epath, eval, sizeof(eval)));
		EXPECT_STREQ(tval, eval) TH_LOG("%s", epath);
	}
	knob(IPPROTO_ESTP, "retries2", epath, sizeof(epath));
	EXPECT_EQ(0, estp_sysctl_set(epath, "4"));
	ASSERT_EQ(0, sysctl_words(epath, eval, sizeof(eval)));
	EXPECT_STREQ("4", eval);
	for (i = 0; i < ARRAY_SIZE(global_sysctls); i++) {
		knob(IPPROTO_TCP, global_sysctls[i], tpath, sizeof(tpath));
		knob(IPPROTO_ESTP, global_sysctls[i], epath, sizeof(epath));
		EXPECT_EQ(ENOENT, sysctl_words(tpath, tval, sizeof(tval))) TH_LOG("%s", tpath);
		EXPECT_EQ(ENOENT, sysctl_words(epath, eval, sizeof(eval))) TH_LOG("%s", epath);
		fd = open(epath, O_WRONLY);
		EXPECT_EQ(-1, fd);
		EXPECT_EQ(ENOENT, errno);
		if (fd >= 0)
			close(fd);
	}
	/* Only this netns changed. */
	fd = open("/proc/1/ns/net", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setns(fd, CLONE_NEWNET));
	close(fd);
	knob(IPPROTO_ESTP, "retries2", epath, sizeof(epath));
	ASSERT_EQ(0, sysctl_words(epath, eval, sizeof(eval)));
	EXPECT_STREQ(before, eval);
}

/* Connections on loopback in a netns of their own; each test on its own port. */
FIXTURE(mem)
{
	int lfd, cfd, afd;
	int lport, cport;
	int mem_fd;		/* the protocol's mem sysctl, opened in the init netns */
	bool mem_changed;
	struct estp_sysctl_saved mem_saved;
	struct estp_guard guard;	/* writes mem_saved back if the test is killed */
	long lag;		/* pcpu_lag(), read in the init netns */
	int fam;		/* enum estp_fam */
};

/*
 * Tied to no family: IPv4, IPv6 and v4-mapped IPv6.  An IPv6 socket is
 * charged to the same memory and limits as an IPv4 one (TCPv6 shares
 * TCP's, ESTPv6 ESTP's), which /proc/net/protocols shows on the IPv4 line.
 */
FIXTURE_VARIANTS_FAMILIES(mem);

FIXTURE_SETUP(mem)
{
	char path[64];

	self->fam = variant->fam;
	self->lfd = -1;
	self->cfd = -1;
	self->afd = -1;
	self->mem_changed = false;
	self->guard.pid = -1;
	self->lag = pcpu_lag();
	knob(variant->proto, "mem", path, sizeof(path));
	self->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->mem_fd) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ(0, estp_sysctl_guard(&self->guard, &self->mem_saved, path));
	ASSERT_EQ(0, estp_netns_private());
}

/* Writes the protocol's mem sysctl through the file opened in the init netns: 0 or errno. */
static int mem_write(FIXTURE_DATA(mem) *self, const char *val)
{
	ssize_t n = pwrite(self->mem_fd, val, strlen(val), 0);

	return n == (ssize_t)strlen(val) ? 0 : n < 0 ? errno : EIO;
}

/* The three longs of the protocol's mem sysctl, read through that file: 0 or -1. */
static int mem_read(FIXTURE_DATA(mem) *self, long mem[3])
{
	char buf[128];
	ssize_t n = pread(self->mem_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return sscanf(buf, "%ld %ld %ld", &mem[0], &mem[1], &mem[2]) == 3 ? 0 : -1;
}

/* Sets the protocol's memory limits for this test only: 0 or errno. */
static int mem_set(FIXTURE_DATA(mem) *self, const char *val)
{
	self->mem_changed = true;
	return mem_write(self, val);
}

FIXTURE_TEARDOWN(mem)
{
	/* Memory first: the RSTs below must not wait for it. */
	if (self->mem_changed)
		EXPECT_EQ(0, mem_write(self, self->mem_saved.val));
	estp_guard_stop(&self->guard);
	if (self->mem_fd >= 0)
		close(self->mem_fd);
	/* RSTs: nothing is left in TIME_WAIT or as an orphan. */
	estp_close_abort(&self->afd);
	estp_close_abort(&self->cfd);
	estp_close_abort(&self->lfd);
}

static int setopt(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val)) ? errno : 0;
}

/*
 * A listener on 127.0.0.1:@port (::1, ::ffff:127.0.0.1), a client connected to it and the accepted
 * socket; with @big, both directions' buffers are BIG_BUF (forced past
 * net.core.[rw]mem_max, set before the handshake as window scaling needs).
 */
static void open_pair(struct __test_metadata *_metadata, FIXTURE_DATA(mem) *self,
		      int proto, int port, bool big)
{
	struct sockaddr_storage ss;
	socklen_t len = estp_loopback(self->fam, port, &ss);

	self->lport = port;
	self->lfd = estp_socket(proto, self->fam);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, setopt(self->lfd, SOL_SOCKET, SO_REUSEADDR, 1));
	if (big)
		ASSERT_EQ(0, setopt(self->lfd, SOL_SOCKET, SO_RCVBUFFORCE, BIG_BUF));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(self->lfd, 8));
	self->cfd = estp_socket(proto, self->fam);
	ASSERT_LE(0, self->cfd);
	if (big)
		ASSERT_EQ(0, setopt(self->cfd, SOL_SOCKET, SO_SNDBUFFORCE, BIG_BUF));
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&ss, len));
	self->cport = estp_local_port(self->cfd);
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
}

/*
 * Sends the pattern from offset *@off without blocking until three rounds
 * in a row move nothing: the receiver does not read, so the data fills its
 * receive buffer, then our send buffer, or the memory allowed.  Under the
 * memory limit poll() may say POLLOUT while send() still says EAGAIN.
 */
static void fill(int fd, uint64_t *off)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	unsigned char buf[CHUNK];
	int idle = 0;
	uint64_t start;
	ssize_t n;
	size_t i;

	while (idle < 3) {
		start = *off;
		for (;;) {
			for (i = 0; i < sizeof(buf); i++)
				buf[i] = pattern(*off + i);
			n = send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n <= 0)
				break;
			*off += n;
		}
		if (n == 0 || errno != EAGAIN)
			return;
		idle = *off == start ? idle + 1 : 0;
		poll(&pfd, 1, 300);
		usleep(50000);
	}
}

/* A socket's buffers start at tcp_wmem[1] and tcp_rmem[1], as TCP's. */
TEST_F(mem, buf_defaults)
{
	char buf[128];
	int w[3], r[3], fd;

	ASSERT_EQ(0, estp_sysctl_get("/proc/sys/net/ipv4/tcp_wmem", buf, sizeof(buf)));
	ASSERT_EQ(3, sscanf(buf, "%d %d %d", &w[0], &w[1], &w[2]));
	ASSERT_EQ(0, estp_sysctl_get("/proc/sys/net/ipv4/tcp_rmem", buf, sizeof(buf)));
	ASSERT_EQ(3, sscanf(buf, "%d %d %d", &r[0], &r[1], &r[2]));
	fd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, fd);
	EXPECT_EQ(w[1], estp_getsockopt_int(fd, SOL_SOCKET, SO_SNDBUF));
	EXPECT_EQ(r[1], estp_getsockopt_int(fd, SOL_SOCKET, SO_RCVBUF));
	close(fd);

	/* An accepted socket too; SO_SNDBUF makes it the user's. */
	open_pair(_metadata, self, variant->proto, PORT_BASE + 1, false);
	EXPECT_EQ(r[1], estp_getsockopt_int(self->afd, SOL_SOCKET, SO_RCVBUF));
	EXPECT_EQ(0, setopt(self->cfd, SOL_SOCKET, SO_SNDBUF, 65536));
	EXPECT_EQ(2 * 65536, estp_getsockopt_int(self->cfd, SOL_SOCKET, SO_SNDBUF));
}

/*
 * Data nobody reads is charged to the protocol: /proc/net/protocols shows
 * its memory grow, and fall back once the data is read and the sockets
 * closed (within what the per-CPU reserves may hold back).
 */
TEST_F(mem, protocols_memory)
{
	long before, during, after, lag = self->lag;
	uint64_t off = 0, got = 0;
	unsigned char buf[CHUNK];
	bool same = true;
	double end;
	ssize_t n, i;

	before = proto_memory(variant->proto);
	ASSERT_LE(0, before);
	open_pair(_metadata, self, variant->proto, PORT_BASE + 2, true);
	fill(self->cfd, &off);
	during = proto_memory(variant->proto);
	TH_LOG("%lu bytes queued: %ld pages before, %ld with them (lag up to %ld)",
	       (unsigned long)off, before, during, lag);
	ASSERT_LT((uint64_t)1 << 20, off);
	EXPECT_LE(before + (long)(off / 4096) / 2 - lag, during);
	EXPECT_LT(before, during);

	ASSERT_EQ(0, shutdown(self->cfd, SHUT_WR));
	while ((n = recv(self->afd, buf, sizeof(buf), 0)) > 0) {
		for (i = 0; i < n; i++)
			same &= buf[i] == pattern(got + i);
		got += n;
	}
	EXPECT_EQ(0, n);
	EXPECT_EQ(off, got);
	EXPECT_TRUE(same);
	estp_close_abort(&self->afd);
	estp_close_abort(&self->cfd);
	end = now_s() + 3;
	while ((after = proto_memory(variant->proto)) > before + lag && now_s() < end)
		usleep(10000);
	TH_LOG("%ld pages after", after);
	EXPECT_GE(before + lag, after);
	EXPECT_GT(during, after);
}

/* The reader of limit_writer_waits: all until EOF, checking the pattern. */
struct reader {
	int fd;
	uint64_t got;
	bool same;
};

static void *reader_run(void *arg)
{
	struct reader *r = arg;
	unsigned char buf[CHUNK];
	ssize_t n, i;

	r->same = true;
	while ((n = recv(r->fd, buf, sizeof(buf), 0)) > 0) {
		for (i = 0; i < n; i++)
			r->same &= buf[i] == pattern(r->got + i);
		r->got += n;
	}
	return NULL;
}

/*
 * With the protocol's memory limited far below the buffers, a writer
 * whose peer does not read gets EAGAIN long before SO_SNDBUF is full;
 * once the reader drains, a blocking writer goes on, and every byte
 * arrives once, in order.
 */
/*
 * Longer than the socket timeouts below: a stall then fails in the test,
 * and the teardown restores net.estp.mem for the tests after it.
 */
TEST_F_TIMEOUT(mem, limit_writer_waits, 90)
{
	const uint64_t more = 2 << 20;
	struct timeval tv = { .tv_sec = 25 };
	long lag = self->lag, mem[3], base;
	unsigned char buf[CHUNK];
	struct reader r = { 0 };
	char val[64];
	uint64_t off = 0, target;
	pthread_t th;
	size_t i;
	ssize_t n = 0;

	open_pair(_metadata, self, variant->proto, PORT_BASE + 3, true);
	/*
	 * 1 MiB above what the protocol counts already (other sockets, and
	 * per-CPU reserves not yet given back): the pressure and hard limits
	 * are soon reached, and the reader can always get under them.
	 */
	base = proto_memory(variant->proto);
	ASSERT_LE(0, base);
	base += lag;
	snprintf(val, sizeof(val), "%ld %ld %ld", base + 128, base + 192, base + 256);
	ASSERT_EQ(0, mem_set(self, val));
	ASSERT_EQ(0, mem_read(self, mem));
	ASSERT_EQ(base + 256, mem[2]);
	fill(self->cfd, &off);
	TH_LOG("EAGAIN after %lu bytes (SO_SNDBUF %d, lag up to %ld pages)",
	       (unsigned long)off, estp_getsockopt_int(self->cfd, SOL_SOCKET, SO_SNDBUF), lag);
	EXPECT_GT((uint64_t)(mem[2] + lag) * 4096 + (1 << 20), off);

	r.fd = self->afd;
	ASSERT_EQ(0, setsockopt(self->afd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	ASSERT_EQ(0, pthread_create(&th, NULL, reader_run, &r));
	/* Blocking now: each send() waits for memory the reader frees. */
	for (target = off + more; off < target; off += n) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = pattern(off + i);
		n = send(self->cfd, buf, sizeof(buf), MSG_NOSIGNAL);
		if (n <= 0)
			break;
	}
	EXPECT_LE(target, off) TH_LOG("send: %s; RcvQDrop %ld", strerror(errno),
				      estp_counter(variant->proto, "RcvQDrop"));
	ASSERT_EQ(0, shutdown(self->cfd, SHUT_WR));
	pthread_join(th, NULL);
	EXPECT_EQ(off, r.got);
	EXPECT_TRUE(r.same);
}

/*
 * An orphan that holds memory while the protocol is over its hard limit is
 * reset at close() rather than left to send (tcp_check_oom()): AbortOnMemory.
 */
TEST_F(mem, orphan_oom)
{
	uint64_t off = 0;
	long before, mem[3];
	double end;
	int st;

	open_pair(_metadata, self, variant->proto, PORT_BASE + 4, true);
	fill(self->cfd, &off);
	ASSERT_LT((uint64_t)1 << 20, off);
	before = estp_counter(variant->proto, "AbortOnMemory");
	ASSERT_LE(0, before);
	ASSERT_EQ(0, mem_set(self, "1 1 1"));
	ASSERT_EQ(0, mem_read(self, mem));
	ASSERT_EQ(1, mem[2]);
	close(self->cfd);
	self->cfd = -1;
	end = now_s() + 3;
	while ((st = estp_proc_state(variant->proto, self->cport, self->lport)) >= 0 &&
	       now_s() < end)
		usleep(10000);
	EXPECT_EQ(-1, st);
	EXPECT_EQ(before + 1, estp_counter(variant->proto, "AbortOnMemory"));
	/* The peer got the reset. */
	end = now_s() + 3;
	while (estp_proc_state(variant->proto, self->lport, self->cport) >= 0 && now_s() < end)
		usleep(10000);
	EXPECT_EQ(-1, estp_proc_state(variant->proto, self->lport, self->cport));
}

/* A socket's SO_MEMINFO entry @i (SK_MEMINFO_*), signed, or INT_MIN. */
static int meminfo(int fd, int i)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) || len != sizeof(mem))
		return INT_MIN;
	return (int32_t)mem[i];
}

/*
 * Over the hard limit, the segment an empty queue takes anyway is charged
 * by force (sk_forced_mem_schedule() in tcp_data_queue() and
 * tcp_stream_alloc_skb(); review A9 and M3): the socket's forward
 * allocation covers it, where an uncounted charge leaves it below zero
 * (and the protocol's memory short of the bytes) while it is held.  A
 * first pair's unread data takes the protocol over its limit (the limit
 * is checked against the global count, which per-CPU reserves feed in
 * steps); on a second pair the receiver holds its segment unread, and the
 * sender's second write cannot be acknowledged, everything on loopback
 * being lost by then.
 */
TEST_F(mem, forced_charge)
{
	struct sockaddr_storage ss;
	socklen_t len = estp_loopback(variant->fam, PORT_BASE + 6, &ss);
	int lfd, cfd, afd, fwd;
	struct pollfd pfd;
	uint64_t off = 0;
	char buf[1000];

	open_pair(_metadata, self, variant->proto, PORT_BASE + 5, true);
	fill(self->cfd, &off);
	ASSERT_LT((uint64_t)1 << 20, off);
	ASSERT_EQ(0, mem_set(self, "1 1 1"));
	ASSERT_LT(1, proto_memory(variant->proto));

	lfd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(lfd, 1));
	cfd = estp_socket(variant->proto, variant->fam);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, connect(cfd, (struct sockaddr *)&ss, len));
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	memset(buf, 'f', sizeof(buf));

	ASSERT_EQ((ssize_t)sizeof(buf), send(cfd, buf, sizeof(buf), 0));
	pfd = (struct pollfd){ .fd = afd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_LT(0, meminfo(afd, SK_MEMINFO_RMEM_ALLOC));
	fwd = meminfo(afd, SK_MEMINFO_FWD_ALLOC);
	EXPECT_LE(0, fwd) TH_LOG("receiver's forward allocation %d", fwd);

	ASSERT_EQ(0, estp_run("tc qdisc add dev lo root netem loss 100%"));
	ASSERT_EQ((ssize_t)sizeof(buf), send(cfd, buf, sizeof(buf), 0));
	EXPECT_LT(0, meminfo(cfd, SK_MEMINFO_WMEM_QUEUED));
	fwd = meminfo(cfd, SK_MEMINFO_FWD_ALLOC);
	EXPECT_LE(0, fwd) TH_LOG("sender's forward allocation %d", fwd);
	estp_close_abort(&afd);
	estp_close_abort(&cfd);
	estp_close_abort(&lfd);
}

ESTP_HARNESS_MAIN("buf_defaults", "orphan_oom", "estp6.forced_charge")

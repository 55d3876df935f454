// SPDX-License-Identifier: GPL-2.0
/*
 * The security plumbing every inet transport has, with TCP as the
 * specification (every TEST_F runs for TCP and ESTP as fixture variants):
 * a socket filter (SO_ATTACH_FILTER) and a cgroup-BPF ingress program see
 * every segment before it is delivered; IP_MINTTL drops segments with a
 * lower TTL and counts them; a cgroup post_bind4 program that refuses a
 * bind() leaves the port free; a cgroup connect4 program can refuse a
 * connect(); and a child inherits its listener's SO_BINDTODEVICE.
 *
 * The BPF programs are two raw instructions ("r0 = 0; exit") loaded with
 * bpf(2): no libbpf.  The cgroup cases run in a cgroup v2 of their own.
 */
#include <linux/bpf.h>
#include <linux/filter.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

#ifndef IP_MINTTL
#define IP_MINTTL	21
#endif

FIXTURE(sec)
{
	int lfd, cfd, afd;
	int port;
	int cg_fd;		/* our own cgroup v2, -1 when not made */
	char cg_path[512];
	char cg_home[512];	/* the cgroup.procs we came from */
};

FIXTURE_VARIANTS_TCP_ESTP(sec);

FIXTURE_SETUP(sec)
{
	self->lfd = -1;
	self->cfd = -1;
	self->afd = -1;
	self->cg_fd = -1;
	ASSERT_EQ(0, estp_netns_private());
}

/* Back to the cgroup we came from; 0 or -1. */
static int cg_leave(FIXTURE_DATA(sec) *self)
{
	char pid[32];
	int fd, ret;

	if (self->cg_fd < 0)
		return 0;
	fd = open(self->cg_home, O_WRONLY);
	if (fd < 0)
		return -1;
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	ret = write(fd, pid, strlen(pid)) < 0 ? -1 : 0;
	close(fd);
	return ret;
}

FIXTURE_TEARDOWN(sec)
{
	close(self->afd);
	close(self->cfd);
	close(self->lfd);
	if (self->cg_fd >= 0) {
		cg_leave(self);
		close(self->cg_fd);
		/* Its programs go with it. */
		rmdir(self->cg_path);
	}
}

/* A listener on 127.0.0.1, its port in self->port. */
static int listen_on(FIXTURE_DATA(sec) *self, int proto)
{
	struct sockaddr_in a = estp_sin4("127.0.0.1", 0);

	self->lfd = socket(AF_INET, SOCK_STREAM, proto);
	if (self->lfd < 0 || bind(self->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(self->lfd, 8))
		return -1;
	self->port = estp_local_port(self->lfd);
	return self->port > 0 ? 0 : -1;
}

/* A connected pair: cfd the client, afd the accepted end. */
static int pair(FIXTURE_DATA(sec) *self, int proto)
{
	struct sockaddr_in a;

	if (listen_on(self, proto))
		return -1;
	a = estp_sin4("127.0.0.1", self->port);
	self->cfd = socket(AF_INET, SOCK_STREAM, proto);
	if (self->cfd < 0 || connect(self->cfd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	self->afd = accept(self->lfd, NULL, NULL);
	return self->afd < 0 ? -1 : 0;
}

/* poll()'s revents for @events within @ms, 0 on timeout, -1 on error. */
static int wait_for(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, ms);

	return n < 0 ? -1 : n ? p.revents : 0;
}

/*
 * How long a segment that should not arrive gets: loopback delivers in
 * microseconds, so even a TCG guest has long delivered by then.
 */
#define NO_ARRIVAL_MS	1000
/* Room for a few retransmissions once the drop stops. */
#define ARRIVAL_MS	15000

/* "r0 = 0; exit": deny, refuse, drop. */
static const struct bpf_insn deny_insns[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

/* A "deny" program of @type for @attach; its fd, or -errno. */
static int deny_prog(enum bpf_prog_type type, enum bpf_attach_type attach)
{
	static char log[4096];
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.expected_attach_type = attach;
	attr.insns = (uintptr_t)deny_insns;
	attr.insn_cnt = ARRAY_SIZE(deny_insns);
	attr.license = (uintptr_t)"GPL";
	attr.log_buf = (uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0) {
		fd = -errno;
		ksft_print_msg("BPF_PROG_LOAD type %d: %s\n%s\n", type,
			       strerror(-fd), log);
	}
	return fd;
}

/* Where cgroup2 is mounted (mounting it if it is not): 0 or -1. */
static int cg2_root(char *buf, size_t len)
{
	static const char dir[] = "/tmp/estp_cgroup2";
	char line[1024], mnt[512], type[64];
	FILE *f = fopen("/proc/self/mounts", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %511s %63s", mnt, type) == 2 &&
		    !strcmp(type, "cgroup2")) {
			fclose(f);
			snprintf(buf, len, "%s", mnt);
			return 0;
		}
	}
	if (f)
		fclose(f);
	mkdir(dir, 0755);
	if (mount("none", dir, "cgroup2", 0, NULL) && errno != EBUSY)
		return -1;
	snprintf(buf, len, "%s", dir);
	return 0;
}

/*
 * A new cgroup v2 with a deny program of @type at @attach, the calling
 * process moved into it: 0, or a reason in @why for the SKIP it warrants.
 * Sockets made after it are the cgroup's.
 */
static int cg_enter(FIXTURE_DATA(sec) *self, enum bpf_prog_type type,
		    enum bpf_attach_type attach, char *why, size_t wlen)
{
	char root[512], line[512], path[1100], pid[32];
	union bpf_attr attr;
	int prog, fd;
	FILE *f;

	if (cg2_root(root, sizeof(root))) {
		/* ENODEV: no cgroup2 filesystem, as in the debug kernel's config */
		snprintf(why, wlen, "cannot mount cgroup2: %s%s", strerror(errno),
			 errno == ENODEV ? " (kernel built without CONFIG_CGROUPS)" : "");
		return -1;
	}
	f = fopen("/proc/self/cgroup", "r");
	line[0] = 0;
	while (f && fgets(line, sizeof(line), f) && strncmp(line, "0::", 3))
		line[0] = 0;
	if (f)
		fclose(f);
	if (strncmp(line, "0::", 3)) {
		snprintf(why, wlen, "the process has no cgroup v2 (/proc/self/cgroup)");
		return -1;
	}
	line[strcspn(line, "\n")] = 0;
	snprintf(self->cg_home, sizeof(self->cg_home), "%.200s%.280s/cgroup.procs", root, line + 3);
	snprintf(self->cg_path, sizeof(self->cg_path), "%.200s%.280s/estp_security_%d", root,
		 strcmp(line + 3, "/") ? line + 3 : "", getpid());
	prog = deny_prog(type, attach);
	if (prog < 0) {
		snprintf(why, wlen, "bpf(BPF_PROG_LOAD) of a cgroup program: %s%s",
			 strerror(-prog), prog == -ENOSYS ? " (no CONFIG_BPF_SYSCALL)" : "");
		return -1;
	}
	if (mkdir(self->cg_path, 0755)) {
		snprintf(why, wlen, "mkdir %.160s: %s", self->cg_path, strerror(errno));
		close(prog);
		return -1;
	}
	self->cg_fd = open(self->cg_path, O_RDONLY | O_DIRECTORY);
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = self->cg_fd;
	attr.attach_bpf_fd = prog;
	attr.attach_type = attach;
	if (self->cg_fd < 0 || syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr))) {
		snprintf(why, wlen, "BPF_PROG_ATTACH to %.160s: %s", self->cg_path,
			 strerror(errno));
		close(prog);
		return -1;
	}
	/* The cgroup holds the program now. */
	close(prog);
	snprintf(path, sizeof(path), "%.520s/cgroup.procs", self->cg_path);
	fd = open(path, O_WRONLY);
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0) {
		snprintf(why, wlen, "moving into %.160s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * A classic socket filter that drops everything, on the receiving end,
 * stops delivery: the data stays with the sender, which retransmits it
 * once the filter is detached.
 */
TEST_F(sec, so_attach_filter_drops_until_detached)
{
	struct sock_filter drop_all = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &drop_all };
	long before = estp_counter(variant->proto, "FilterDrop");
	int zero = 0;
	char c = 0;

	ASSERT_EQ(0, pair(self, variant->proto));
	ASSERT_EQ(0, setsockopt(self->afd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
				sizeof(prog)));
	ASSERT_EQ(1, send(self->cfd, "x", 1, 0));
	EXPECT_EQ(0, wait_for(self->afd, POLLIN, NO_ARRIVAL_MS));
	/* TCP counts no filter drop in a MIB; ESTP's FilterDrop does. */
	if (variant->proto == IPPROTO_ESTP)
		EXPECT_LT(before, estp_counter(variant->proto, "FilterDrop"));
	/* Detached before teardown: an orphan still filtering would linger. */
	ASSERT_EQ(0, setsockopt(self->afd, SOL_SOCKET, SO_DETACH_FILTER, &zero,
				sizeof(zero)));
	ASSERT_EQ(POLLIN, wait_for(self->afd, POLLIN, ARRIVAL_MS));
	ASSERT_EQ(1, recv(self->afd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ('x', c);
}

/*
 * A cgroup/skb ingress program that drops everything, in the cgroup the
 * sockets were made in, blocks the handshake: connect() never completes.
 */
TEST_F(sec, cgroup_ingress_deny_blocks_connect)
{
	struct sockaddr_in a;
	char why[256];

	if (cg_enter(self, BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS,
		     why, sizeof(why)))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, listen_on(self, variant->proto));
	a = estp_sin4("127.0.0.1", self->port);
	self->cfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, variant->proto);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(-1, connect(self->cfd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(0, wait_for(self->cfd, POLLOUT, 2 * NO_ARRIVAL_MS));
	EXPECT_EQ(0, wait_for(self->lfd, POLLIN, 0));
}

/*
 * A cgroup post_bind4 program that refuses makes bind() fail with EPERM
 * and gives the port back (__inet_bind() calls proto->put_port): the
 * socket listens elsewhere, and another socket binds the port.
 */
TEST_F(sec, cgroup_post_bind_refusal_frees_port)
{
	struct sockaddr_in a = estp_sin4("127.0.0.1", 0);
	char why[256];
	int port, fd;

	/* A port free now: bind, read it, close. */
	fd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&a, sizeof(a)));
	port = estp_local_port(fd);
	close(fd);
	ASSERT_LT(0, port);
	a = estp_sin4("127.0.0.1", port);

	if (cg_enter(self, BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET4_POST_BIND,
		     why, sizeof(why)))
		SKIP(return, "%s", why);
	self->lfd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(-1, bind(self->lfd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(EPERM, errno);
	/* listen() binds a port of its own, not the refused one. */
	ASSERT_EQ(0, listen(self->lfd, 8));
	EXPECT_NE(port, estp_local_port(self->lfd));
	EXPECT_EQ(-1, estp_proc_state(variant->proto, port, -1));
	/* Outside the cgroup, another socket binds the port. */
	ASSERT_EQ(0, cg_leave(self));
	self->cfd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->cfd);
	EXPECT_EQ(0, bind(self->cfd, (struct sockaddr *)&a, sizeof(a)));
}

/* A cgroup connect4 program that refuses makes connect() fail with EPERM. */
TEST_F(sec, cgroup_connect4_refusal)
{
	struct sockaddr_in a;
	char why[256];

	ASSERT_EQ(0, listen_on(self, variant->proto));
	if (cg_enter(self, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT,
		     why, sizeof(why)))
		SKIP(return, "%s", why);
	a = estp_sin4("127.0.0.1", self->port);
	self->cfd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(-1, connect(self->cfd, (struct sockaddr *)&a, sizeof(a)));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(0, wait_for(self->lfd, POLLIN, 0));
}

/*
 * IP_MINTTL 255 on the receiving end drops the sender's segments (TTL 64
 * over loopback) and counts them; lowered again, the retransmission lands.
 */
TEST_F(sec, ip_minttl_drops_and_counts)
{
	const char *name = variant->proto == IPPROTO_TCP ? "TCPMinTTLDrop" : "MinTTLDrop";
	long before;
	int ttl = 255;
	char c = 0;

	ASSERT_EQ(0, pair(self, variant->proto));
	before = estp_counter(variant->proto, name);
	ASSERT_LE(0, before);
	ASSERT_EQ(0, setsockopt(self->afd, IPPROTO_IP, IP_MINTTL, &ttl, sizeof(ttl)));
	ASSERT_EQ(1, send(self->cfd, "y", 1, 0));
	EXPECT_EQ(0, wait_for(self->afd, POLLIN, NO_ARRIVAL_MS));
	EXPECT_LT(before, estp_counter(variant->proto, name));
	ttl = 0;
	ASSERT_EQ(0, setsockopt(self->afd, IPPROTO_IP, IP_MINTTL, &ttl, sizeof(ttl)));
	ASSERT_EQ(POLLIN, wait_for(self->afd, POLLIN, ARRIVAL_MS));
	ASSERT_EQ(1, recv(self->afd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ('y', c);
}

/* A child inherits its listener's SO_BINDTODEVICE (tcp_v4_syn_recv_sock). */
TEST_F(sec, child_inherits_bound_device)
{
	struct sockaddr_in a = estp_sin4("127.0.0.1", 0);
	char dev[IFNAMSIZ] = "";
	socklen_t len = sizeof(dev);

	self->lfd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(self->lfd, 8));
	a = estp_sin4("127.0.0.1", estp_local_port(self->lfd));
	self->cfd = socket(AF_INET, SOCK_STREAM, variant->proto);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, connect(self->cfd, (struct sockaddr *)&a, sizeof(a)));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
	ASSERT_EQ(0, getsockopt(self->afd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len));
	EXPECT_STREQ("lo", dev);
}

TEST_HARNESS_MAIN

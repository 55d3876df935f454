/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the ESTP selftests: /proc readers, sysctls, commands and
 * a veth pair between two netns, module loading.
 */
#ifndef ESTP_LIB_H
#define ESTP_LIB_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <linux/estp.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "kselftest.h"	/* __printf */

/*
 * The states as /proc/net/{tcp,estp}, sock_diag and TCP_INFO give them
 * (include/net/tcp_states.h); ST_GONE: no such socket listed.
 */
#define ST_GONE			(-1)
#define ST_ESTABLISHED		0x01
#define ST_SYN_SENT		0x02
#define ST_SYN_RECV		0x03
#define ST_FIN_WAIT1		0x04
#define ST_FIN_WAIT2		0x05
#define ST_TIME_WAIT		0x06
#define ST_CLOSE		0x07
#define ST_CLOSE_WAIT		0x08
#define ST_LAST_ACK		0x09
#define ST_LISTEN		0x0a
#define ST_CLOSING		0x0b
#define ST_BOUND_INACTIVE	0x0d	/* 6.8 on: a socket only bound, on request */

/* The table of @proto's sockets: /proc/net/tcp or /proc/net/estp. */
#define ESTP_PROC_NET(proto)	((proto) == IPPROTO_TCP ? "/proc/net/tcp" : "/proc/net/estp")
/* The table of @proto's AF_INET6 sockets, v4-mapped ones too. */
#define ESTP_PROC_NET6(proto)	((proto) == IPPROTO_TCP ? "/proc/net/tcp6" : "/proc/net/estp6")

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/*
 * Fields of ESTP's line in /proc/net/protocols: "ESTP <size> <sockets> ...".
 * Returns 0 when the line is there, -1 when it is not.
 */
static inline int estp_proto_line(const char *name, long *size, long *sockets)
{
	char line[512], n[64];
	int found = -1;
	FILE *f;

	f = fopen("/proc/net/protocols", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		long s, k;

		if (sscanf(line, "%63s %ld %ld", n, &s, &k) == 3 && !strcmp(n, name)) {
			if (size)
				*size = s;
			if (sockets)
				*sockets = k;
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* ESTP's sockets in use, from /proc/net/protocols; -1 without the line. */
static inline long estp_sockets(void)
{
	long n = -1;

	estp_proto_line("ESTP", NULL, &n);
	return n;
}

#define ESTP_FAIL_FILE	"/sys/kernel/debug/estp/fail"

/* Arms ESTP's fault point @point for one failure: 0, or -1. */
static inline int estp_fault_arm(const char *point)
{
	FILE *f = fopen(ESTP_FAIL_FILE, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%s 1\n", point) > 0 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

/*
 * What ESTP's fault file says is left to fail ("<point> <n>", "none 0"):
 * n, or -1 when it cannot be read (no debugfs, no estp.ko).
 */
static inline int estp_fault_left(void)
{
	char point[32];
	int left = -1;
	FILE *f = fopen(ESTP_FAIL_FILE, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%31s %d", point, &left) != 2)
		left = -1;
	fclose(f);
	return left;
}

/*
 * Closes *@fd with a RST (SO_LINGER 0) and sets it to -1: no FIN exchange,
 * no TIME_WAIT left behind.
 */
static inline void estp_close_abort(int *fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (*fd < 0)
		return;
	setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(*fd);
	*fd = -1;
}

/* A sysctl's value, newline stripped, in @buf: 0 or errno. */
static inline int estp_sysctl_get(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY), err = 0;
	ssize_t n;

	if (fd < 0)
		return errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		err = errno;
	} else {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
	}
	close(fd);
	return err;
}

/* Writes @val to a sysctl: 0 or errno. */
static inline int estp_sysctl_set(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		err = errno;
	close(fd);
	return err;
}

/* Sysctls a test changed, which its teardown writes back (estp_sysctl_pop()). */
struct estp_sysctl_undo {
	struct {
		char path[64];
		char val[128];
	} saved[4];
	int n;
};

/* Sets a sysctl for this test only, its old value kept in @u: 0 or -1. */
static inline int estp_sysctl_push(struct estp_sysctl_undo *u, const char *path,
				   const char *val)
{
	if ((size_t)u->n == ARRAY_SIZE(u->saved) ||
	    estp_sysctl_get(path, u->saved[u->n].val, sizeof(u->saved[u->n].val)))
		return -1;
	snprintf(u->saved[u->n].path, sizeof(u->saved[u->n].path), "%s", path);
	u->n++;
	return estp_sysctl_set(path, val) ? -1 : 0;
}

/* Writes back the last value estp_sysctl_push() kept in @u: 0 or errno. */
static inline int estp_sysctl_pop(struct estp_sysctl_undo *u)
{
	u->n--;
	return estp_sysctl_set(u->saved[u->n].path, u->saved[u->n].val);
}

#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>

/*
 * A guard for what outlives a test process (a global sysctl, a fault point,
 * a loaded module): a process in a session of its own calls @undo(@arg)
 * when the test process dies without estp_guard_stop().  The harness
 * SIGKILLs the process group of a test that overran its timeout, and no
 * teardown runs then; the guard is not in that group.  It works on a copy
 * of *@arg taken now and stays in the netns the caller is in now: start it
 * before unshare() to restore something of the init netns.  0 or -1.
 */
struct estp_guard {
	pid_t pid;		/* -1: none */
	int fd;			/* the pipe whose end of file wakes the guard */
};

static inline int estp_guard_start(struct estp_guard *g, void (*undo)(const void *arg),
				   const void *arg)
{
	int p[2], fd;
	ssize_t n;
	char c;

	g->pid = -1;
	g->fd = -1;
	if (pipe(p))
		return -1;
	/* No program the test runs (tc, ip) may hold the pipe open. */
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	g->pid = fork();
	if (g->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (!g->pid) {
		/* Out of the test's process group, holding none of its files. */
		setsid();
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		for (fd = 3; fd < 1024; fd++)
			if (fd != p[0])
				close(fd);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		/* End of file: the test died; a byte: estp_guard_stop(). */
		if (n != 1)
			undo(arg);
		_exit(0);
	}
	close(p[0]);
	g->fd = p[1];
	return 0;
}

/* Ends the guard without its undo, once the test has undone things itself. */
static inline void estp_guard_stop(struct estp_guard *g)
{
	if (g->pid <= 0)
		return;
	if (write(g->fd, "", 1) != 1)
		kill(g->pid, SIGKILL);
	close(g->fd);
	waitpid(g->pid, NULL, 0);
	g->pid = -1;
	g->fd = -1;
}

/* A sysctl and the value a guard writes back to it. */
struct estp_sysctl_saved {
	char path[64];
	char val[128];
};

static inline void estp_sysctl_restore(const void *arg)
{
	const struct estp_sysctl_saved *s = arg;

	estp_sysctl_set(s->path, s->val);
}

/*
 * Keeps @path's value in @s and starts a guard that writes it back should
 * the test die before estp_guard_stop(): 0 or -1.
 */
static inline int estp_sysctl_guard(struct estp_guard *g, struct estp_sysctl_saved *s,
				    const char *path)
{
	g->pid = -1;
	g->fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (estp_sysctl_get(path, s->val, sizeof(s->val)))
		return -1;
	return estp_guard_start(g, estp_sysctl_restore, s);
}

#ifndef CLONE_NEWNET
#define CLONE_NEWNET	0x40000000
#endif

/*
 * Moves the calling process into a netns of its own with lo up: its
 * sysctls, counters, ports, qdiscs and TIME_WAIT sockets go with the last
 * process in it, however that process ends.  0 or -1.
 */
static inline int estp_netns_private(void)
{
	struct ifreq ifr;
	int fd, ret = -1;

	if (syscall(SYS_unshare, CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr) ? -1 : 0;
	}
	close(fd);
	return ret;
}

/*
 * Stream content that never repeats: the 8 bytes at offset 8k are a 64-bit
 * hash of k and @seed (splitmix64's finaliser of k times the golden ratio,
 * a bijection), so no two blocks of a stream are alike and data delivered
 * at the wrong offset, by any distance, compares unequal.
 */
static inline uint64_t estp_pattern_word(uint64_t block, uint64_t seed)
{
	uint64_t z = block * 0x9e3779b97f4a7c15ULL + seed;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The byte at stream offset @off. */
static inline unsigned char estp_pattern_byte(uint64_t off, uint64_t seed)
{
	return estp_pattern_word(off / 8, seed) >> (8 * (off % 8));
}

/* Fills @buf with the @len bytes of the stream from offset @off. */
static inline void estp_pattern_fill(unsigned char *buf, size_t len, uint64_t off,
				     uint64_t seed)
{
	uint64_t w = estp_pattern_word(off / 8, seed);
	size_t i;

	for (i = 0; i < len; i++) {
		if (i && (off + i) % 8 == 0)
			w = estp_pattern_word((off + i) / 8, seed);
		buf[i] = w >> (8 * ((off + i) % 8));
	}
}

/* Where @buf first differs from the stream at offset @off, or -1. */
static inline long estp_pattern_check(const unsigned char *buf, size_t len, uint64_t off,
				      uint64_t seed)
{
	uint64_t w = estp_pattern_word(off / 8, seed);
	size_t i;

	for (i = 0; i < len; i++) {
		if (i && (off + i) % 8 == 0)
			w = estp_pattern_word((off + i) / 8, seed);
		if (buf[i] != (unsigned char)(w >> (8 * ((off + i) % 8))))
			return i;
	}
	return -1;
}

/* Runs the command @fmt makes with its output hidden: 0 when it exits 0. */
static inline __printf(1, 2) int estp_runf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	snprintf(buf + n, sizeof(buf) - n, " >/dev/null 2>&1");
	return system(buf) == 0 ? 0 : -1;
}

/* Runs @cmd with its output hidden: 0 when it exits 0. */
static inline int estp_run(const char *cmd)
{
	return estp_runf("%s", cmd);
}

/*
 * The IPv6 address the IPv6 variant uses where the IPv4 one uses @ip4:
 * 127.0.0.1 is ::1, 0.0.0.0 is ::, any other a.b.c.d is fd00::a:b:c:d
 * (its numbers read as hex groups: 10.199.0.2 is fd00::10:199:0:2, all in
 * fd00::/64, which estp_veth_up() puts on a veth pair).  NULL on bad input.
 */
static inline char *estp_ip6_of(const char *ip4, char *buf, size_t len)
{
	unsigned int a, b, c, d;

	if (!strcmp(ip4, "127.0.0.1"))
		snprintf(buf, len, "::1");
	else if (!strcmp(ip4, "0.0.0.0"))
		snprintf(buf, len, "::");
	else if (sscanf(ip4, "%u.%u.%u.%u", &a, &b, &c, &d) == 4)
		snprintf(buf, len, "fd00::%u:%u:%u:%u", a, b, c, d);
	else
		return NULL;
	return buf;
}

/*
 * Two netns joined by a veth pair: @dev_a in @ns_a with address @ip_a/24,
 * @dev_b in @ns_b with @ip_b/24; with @ip6 also estp_ip6_of() each /64,
 * without duplicate address detection (usable at once).
 */
struct estp_veth {
	const char *ns_a, *ns_b;
	const char *dev_a, *dev_b;
	const char *ip_a, *ip_b;
	int ip6;
};

static inline int estp_veth_ip6(const char *ns, const char *dev, const char *ip4)
{
	char buf[INET6_ADDRSTRLEN];

	if (!estp_ip6_of(ip4, buf, sizeof(buf)))
		return -1;
	return estp_runf("ip -n %s addr add %s/64 dev %s nodad", ns, buf, dev);
}

static inline void estp_veth_down(const struct estp_veth *v)
{
	/* The veth pair and its qdiscs go with the netns. */
	estp_runf("ip netns del %s", v->ns_a);
	estp_runf("ip netns del %s", v->ns_b);
}

/*
 * Sets @v up from scratch, both ends up and with a "tc qdisc ... netem
 * @netem" each: 0, or -1 with nothing left behind.
 */
static inline int estp_veth_up(const struct estp_veth *v, const char *netem)
{
	estp_veth_down(v);
	if (estp_runf("ip netns add %s", v->ns_a) || estp_runf("ip netns add %s", v->ns_b) ||
	    estp_runf("ip -n %s link add %s type veth peer name %s netns %s",
		      v->ns_a, v->dev_a, v->dev_b, v->ns_b) ||
	    estp_runf("ip -n %s addr add %s/24 dev %s", v->ns_a, v->ip_a, v->dev_a) ||
	    estp_runf("ip -n %s addr add %s/24 dev %s", v->ns_b, v->ip_b, v->dev_b) ||
	    (v->ip6 && (estp_veth_ip6(v->ns_a, v->dev_a, v->ip_a) ||
			estp_veth_ip6(v->ns_b, v->dev_b, v->ip_b))) ||
	    estp_runf("ip -n %s link set %s up", v->ns_a, v->dev_a) ||
	    estp_runf("ip -n %s link set %s up", v->ns_b, v->dev_b) ||
	    estp_runf("ip netns exec %s tc qdisc add dev %s root netem %s",
		      v->ns_a, v->dev_a, netem) ||
	    estp_runf("ip netns exec %s tc qdisc add dev %s root netem %s",
		      v->ns_b, v->dev_b, netem)) {
		estp_veth_down(v);
		return -1;
	}
	return 0;
}

/*
 * One counter of a /proc file of "Prefix: names" / "Prefix: values" line
 * pairs (/proc/net/netstat, /proc/net/snmp, /proc/net/estp_stat): the value
 * of @field in the pair of @prefix, or -1.
 */
static inline long estp_proc_counter(const char *path, const char *prefix, const char *field)
{
	char *names = NULL, *values = NULL, *np, *vp, *n, *v;
	size_t nlen = 0, vlen = 0, plen = strlen(prefix);
	long ret = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (ret < 0 && getline(&names, &nlen, f) > 0 && getline(&values, &vlen, f) > 0) {
		if (strncmp(names, prefix, plen) || names[plen] != ':')
			continue;
		n = strtok_r(names + plen + 1, " \n", &np);
		v = strtok_r(values + plen + 1, " \n", &vp);
		for (; n && v; n = strtok_r(NULL, " \n", &np), v = strtok_r(NULL, " \n", &vp))
			if (!strcmp(n, field))
				ret = atol(v);
	}
	free(names);
	free(values);
	fclose(f);
	return ret;
}

/* One counter of /proc/net/estp_stat ("Estp: names" / "Estp: values"), or -1. */
static inline long estp_stat(const char *field)
{
	return estp_proc_counter("/proc/net/estp_stat", "Estp", field);
}

/*
 * The counter @name (ESTP's name) of @proto: estp_stat() for ESTP; for TCP
 * the TcpExt counter of /proc/net/netstat that counts the same thing, whose
 * name has a "TCP" prefix for some ("TCPAbortOnLinger"), or the Tcp one of
 * /proc/net/snmp ("AttemptFails").  -1 when none.
 */
/*
 * Whether the running kernel is @major.@minor or later (1 or 0; -1 when its
 * release cannot be read): where TCP itself changed between kernels of the
 * matrix, a test expects the running one's.
 */
static inline int estp_kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return -1;
	return ma > major || (ma == major && mi >= minor);
}

static inline long estp_counter(int proto, const char *name)
{
	static const char *const tcp_prefixed[] = {
		"ChallengeACK", "AbortOnMemory", "AbortOnTimeout",
		"AbortOnLinger", "AbortOnClose", "AbortOnData", "TimeWaitOverflow",
		"ACKSkippedSynRecv", "LossProbes", "SynRetrans", "RcvCollapsed",
		"FastRetrans", "SackRecovery",
		"Timeouts", "FullUndo", "PartialUndo", "LossUndo", "DSACKUndo",
		"SpuriousRTOs", "DSACKOldSent", "DSACKOfoSent", "DSACKRecv",
		"DSACKOfoRecv", "DSACKIgnoredOld", "DSACKIgnoredNoUndo",
		"DSACKIgnoredDubious", "SACKReorder", "TSReorder",
		"LossProbeRecovery", "SlowStartRetrans", "RenoRecovery",
		"RcvQDrop", "MemoryPressures", "MinTTLDrop", "DeferAcceptDrop",
		"FastOpenActive", "FastOpenActiveFail", "FastOpenPassive",
		"FastOpenPassiveFail", "FastOpenListenOverflow", "FastOpenCookieReqd",
		"FastOpenBlackhole", "FastOpenPassiveAltKey", "MD5Unexpected", "AOBad",
		"AOKeyNotFound",
	};
	/* TCP's spelling differs beyond the prefix. */
	static const char *const renamed[][2] = {
		{ "OfoQueue", "TCPOFOQueue" }, { "OfoDrop", "TCPOFODrop" },
		{ "BacklogDrops", "TCPBacklogDrop" },
		{ "SackReneging", "TCPSACKReneging" },
	};
	static const char *const snmp[] = {
		"InSegs", "OutSegs", "RetransSegs", "OutRsts", "InCsumErrors",
		"AttemptFails",
	};
	char tcp_name[64];
	size_t i;

	if (proto != IPPROTO_TCP)
		return estp_stat(name);
	for (i = 0; i < ARRAY_SIZE(snmp); i++)
		if (!strcmp(name, snmp[i]))
			return estp_proc_counter("/proc/net/snmp", "Tcp", name);
	for (i = 0; i < ARRAY_SIZE(renamed); i++)
		if (!strcmp(name, renamed[i][0]))
			return estp_proc_counter("/proc/net/netstat", "TcpExt", renamed[i][1]);
	for (i = 0; i < ARRAY_SIZE(tcp_prefixed); i++) {
		if (!strcmp(name, tcp_prefixed[i])) {
			snprintf(tcp_name, sizeof(tcp_name), "TCP%s", name);
			return estp_proc_counter("/proc/net/netstat", "TcpExt", tcp_name);
		}
	}
	return estp_proc_counter("/proc/net/netstat", "TcpExt", name);
}

/*
 * The state (hex column 4) of the first socket of @proto in
 * /proc/net/{tcp,estp}, then /proc/net/{tcp6,estp6}, with local port
 * @lport and remote port @rport, a
 * negative port matching any: -1 when there is none, -2 when the file
 * cannot be read (so that it is not taken for a socket gone).
 */
static inline int estp_proc_state(int proto, int lport, int rport)
{
	unsigned int lp, rp, st;
	char line[256];
	int state = -1, i;
	FILE *f;

	for (i = 0; i < 2 && state < 0; i++) {
		f = fopen(i ? ESTP_PROC_NET6(proto) : ESTP_PROC_NET(proto), "r");
		if (!f) {
			/* No IPv6 table is no IPv6 socket; no IPv4 one, no answer. */
			if (!i)
				return -2;
			continue;
		}
		while (state < 0 && fgets(line, sizeof(line), f))
			if (sscanf(line, " %*u: %*x:%x %*x:%x %x", &lp, &rp, &st) == 3 &&
			    (lport < 0 || (int)lp == lport) && (rport < 0 || (int)rp == rport))
				state = st;
		fclose(f);
	}
	return state;
}

/*
 * RTO (clock ticks), cwnd and ssthresh of the socket with local port
 * @lport and remote port @rport, from the columns /proc/net/tcp has after
 * the inode: 0, or -1 when there is no such line.
 */
static const char estp_proc_cc_fmt[] =
	" %*u: %*x:%x %*x:%x %*x %*x:%*x %*x:%*x %*x %*u %*d %*u %*d %*s %ld %*d %*d %ld %ld";

static inline int estp_proc_cc(int proto, int lport, int rport, long *rto, long *cwnd,
			       long *ssthresh)
{
	unsigned int lp, rp;
	char line[512];
	int ret = -1, i;
	FILE *f;

	for (i = 0; i < 2 && ret; i++) {
		f = fopen(i ? ESTP_PROC_NET6(proto) : ESTP_PROC_NET(proto), "r");
		if (!f)
			continue;
		while (ret && fgets(line, sizeof(line), f))
			if (sscanf(line, estp_proc_cc_fmt, &lp, &rp, rto, cwnd, ssthresh) == 5 &&
			    (int)lp == lport && (int)rp == rport)
				ret = 0;
		fclose(f);
	}
	return ret;
}

/*
 * Reads an open /proc/net/{tcp,estp} again from the start into a static
 * buffer.  The file stays bound to the netns it was opened in, which lets
 * one process watch two netns.
 */
static inline char *estp_proc_read(int pfd)
{
	static char buf[65536];
	size_t len = 0;
	ssize_t n;

	if (lseek(pfd, 0, SEEK_SET) < 0)
		return NULL;
	while (len < sizeof(buf) - 1 &&
	       (n = read(pfd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	return buf;
}

/* One row's ports, state and inode: 0, or -1 for the header. */
static inline int estp_proc_row(const char *line, int *lp, int *rp, int *st,
				unsigned long *ino)
{
	unsigned int l, r, s;

	if (sscanf(line, " %*u: %*x:%x %*x:%x %x %*x:%*x %*x:%*x %*x %*u %*d %lu",
		   &l, &r, &s, ino) != 4)
		return -1;
	*lp = l;
	*rp = r;
	*st = s;
	return 0;
}

/*
 * The state of the socket with local port @lport and remote port @rport in
 * an open /proc/net/{tcp,estp}, its inode in @ino (when not NULL); -1 when
 * it is not listed.
 */
static inline int estp_proc_find(int pfd, int lport, int rport, unsigned long *ino)
{
	char *buf = estp_proc_read(pfd), *line, *save;
	unsigned long i;
	int lp, rp, st;

	for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (estp_proc_row(line, &lp, &rp, &st, &i) || lp != lport || rp != rport)
			continue;
		if (ino)
			*ino = i;
		return st;
	}
	return -1;
}

/* Sockets in an open /proc/net/{tcp,estp} with either port in [@lo, @hi]. */
static inline int estp_proc_count(int pfd, int lo, int hi)
{
	char *buf = estp_proc_read(pfd), *line, *save;
	int lp, rp, st, n = 0;
	unsigned long i;

	for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		if (!estp_proc_row(line, &lp, &rp, &st, &i) &&
		    ((lp >= lo && lp <= hi) || (rp >= lo && rp <= hi)))
			n++;
	return n;
}

/* An IPv4 socket address from a dotted quad and a port. */
static inline struct sockaddr_in estp_sin4(const char *ip, int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
	};

	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

/* A stream socket of @proto connected to @ip:@port: its fd, or -1. */
static inline int estp_connect_to(int proto, const char *ip, int port)
{
	struct sockaddr_in sin = estp_sin4(ip, port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* An int socket option, or -1. */
static inline int estp_getsockopt_int(int fd, int level, int opt)
{
	int val = -1;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, level, opt, &val, &len))
		return -1;
	return val;
}

/* The socket's pending error (SO_ERROR, which reading clears), or -1. */
static inline int estp_so_error(int fd)
{
	return estp_getsockopt_int(fd, SOL_SOCKET, SO_ERROR);
}

/* The port of an AF_INET or AF_INET6 address, or -1. */
static inline int estp_sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

/* The socket's local port, IPv4 or IPv6, or -1. */
static inline int estp_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	return estp_sockaddr_port(&ss);
}

/* The socket's peer port, IPv4 or IPv6, or -1. */
static inline int estp_peer_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		return -1;
	return estp_sockaddr_port(&ss);
}

/* A sock_diag request: its netlink header and inet_diag_req_v2. */
struct estp_diag_msg {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 req;
};

/*
 * A NETLINK_SOCK_DIAG socket, and @msg filled as a request of @type with
 * @flags for the socks of @proto and @family in @states: the socket, or
 * -errno.  A TCG guest on a busy host can be slow: answers get 30 s.
 */
static inline int estp_diag_start(struct estp_diag_msg *msg, int type, int flags, int family,
				  int proto, uint32_t states)
{
	struct timeval tv = { .tv_sec = 30, .tv_usec = 0 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(msg, 0, sizeof(*msg));
	msg->nlh.nlmsg_len = sizeof(*msg);
	msg->nlh.nlmsg_type = type;
	msg->nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	msg->nlh.nlmsg_seq = 1;
	msg->req.sdiag_family = family;
	msg->req.sdiag_protocol = proto;
	msg->req.idiag_states = states;
	return fd;
}

/*
 * SOCK_DESTROY, over NETLINK_SOCK_DIAG (ESTP's estp_abort(), TCP's
 * tcp_abort()), of the sock of @proto and @family named by @id, as a
 * sock_diag dump gives it (a sock bound to a device is found only with
 * its idiag_if, TCP's as ESTP's): 0 or the -errno its ACK gives.
 */
static inline int estp_sock_destroy_id(int proto, int family, const struct inet_diag_sockid *id)
{
	struct estp_diag_msg msg;
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	} ans;
	int fd = estp_diag_start(&msg, SOCK_DESTROY, NLM_F_ACK, family, proto, ~0U), ret = -EIO;

	if (fd < 0)
		return fd;
	msg.req.id = *id;
	if (send(fd, &msg, sizeof(msg), 0) == (ssize_t)sizeof(msg) &&
	    recv(fd, &ans, sizeof(ans), 0) >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) &&
	    ans.nlh.nlmsg_type == NLMSG_ERROR)
		ret = ((struct nlmsgerr *)NLMSG_DATA(&ans.nlh))->error;
	close(fd);
	return ret;
}

/*
 * SOCK_DESTROY of the sock of @proto and @family (AF_INET: 4 bytes of
 * address, AF_INET6: 16, v4-mapped ones too) on @src:@sport - @dst:@dport
 * with cookie @cookie, bound to no device: 0 or -errno.
 */
static inline int estp_sock_destroy(int proto, int family, const void *src, int sport,
				    const void *dst, int dport, uint64_t cookie)
{
	struct inet_diag_sockid id;
	size_t alen = family == AF_INET ? 4 : 16;

	memset(&id, 0, sizeof(id));
	id.idiag_sport = htons(sport);
	id.idiag_dport = htons(dport);
	memcpy(id.idiag_src, src, alen);
	memcpy(id.idiag_dst, dst, alen);
	id.idiag_cookie[0] = (uint32_t)cookie;
	id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	return estp_sock_destroy_id(proto, family, &id);
}

/*
 * SOCK_DESTROY of the connected socket @fd of @proto, named by its own
 * family, addresses and SO_COOKIE (a v4-mapped sock by its AF_INET6
 * mapped addresses, as ss -K names it): 0 or -errno.
 */
static inline int estp_sock_destroy_fd(int proto, int fd)
{
	struct sockaddr_storage src, dst;
	socklen_t slen = sizeof(src), dlen = sizeof(dst), clen = sizeof(uint64_t);
	uint64_t cookie = 0;
	const void *s, *d;

	if (getsockname(fd, (struct sockaddr *)&src, &slen) ||
	    getpeername(fd, (struct sockaddr *)&dst, &dlen) ||
	    getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &clen))
		return -errno;
	if (src.ss_family == AF_INET) {
		s = &((struct sockaddr_in *)&src)->sin_addr;
		d = &((struct sockaddr_in *)&dst)->sin_addr;
	} else {
		s = &((struct sockaddr_in6 *)&src)->sin6_addr;
		d = &((struct sockaddr_in6 *)&dst)->sin6_addr;
	}
	return estp_sock_destroy(proto, src.ss_family, s, estp_sockaddr_port(&src), d,
				 estp_sockaddr_port(&dst), cookie);
}

/*
 * The address families a test that is not tied to one runs on (as fixture
 * variants, FIXTURE_VARIANTS_FAMILIES()): IPv4, IPv6, and v4-mapped IPv6,
 * an AF_INET6 socket whose peer is ::ffff:a.b.c.d, which the IPv4 stack
 * carries.  A test names its addresses in IPv4 (estp_sockaddr()), and each
 * family turns them into its own.
 */
enum estp_fam { ESTP_FAM4, ESTP_FAM6, ESTP_FAM_MAPPED };

/* The socket domain of @fam: AF_INET, or AF_INET6 (mapped too). */
static inline int estp_fam_domain(int fam)
{
	return fam == ESTP_FAM4 ? AF_INET : AF_INET6;
}

/* The family's name, for a test's log. */
#define ESTP_FAM_NAME(fam)						\
	((fam) == ESTP_FAM4 ? "ipv4" : (fam) == ESTP_FAM6 ? "ipv6" : "v4-mapped")

/* /proc/net/{tcp,estp} for an IPv4 socket, /proc/net/{tcp6,estp6} else. */
#define estp_proc_net(proto, fam)					\
	((fam) == ESTP_FAM4 ? ESTP_PROC_NET(proto) : ESTP_PROC_NET6(proto))

/*
 * The address of @fam for the IPv4 address @ip4 and @port in *@ss (IPv6:
 * estp_ip6_of(); v4-mapped: ::ffff:@ip4, 0.0.0.0 staying ::): its length,
 * or 0 on bad input.
 */
static inline socklen_t estp_sockaddr(int fam, const char *ip4, int port,
				      struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char buf[INET6_ADDRSTRLEN];
	const char *ip6 = buf;

	memset(ss, 0, sizeof(*ss));
	if (fam == ESTP_FAM4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return inet_pton(AF_INET, ip4, &sin->sin_addr) == 1 ? sizeof(*sin) : 0;
	}
	if (fam == ESTP_FAM6)
		ip6 = estp_ip6_of(ip4, buf, sizeof(buf));
	else if (!strcmp(ip4, "0.0.0.0"))
		ip6 = "::";
	else
		snprintf(buf, sizeof(buf), "::ffff:%s", ip4);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	return ip6 && inet_pton(AF_INET6, ip6, &sin6->sin6_addr) == 1 ? sizeof(*sin6) : 0;
}

/* 127.0.0.1:@port in @fam (::1, ::ffff:127.0.0.1): its length. */
static inline socklen_t estp_loopback(int fam, int port, struct sockaddr_storage *ss)
{
	return estp_sockaddr(fam, "127.0.0.1", port, ss);
}

/* Whether two AF_INET/AF_INET6 addresses are the same address and port. */
static inline int estp_sockaddr_eq(const struct sockaddr_storage *a,
				   const struct sockaddr_storage *b)
{
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a->ss_family == AF_INET6 && a6->sin6_port == b6->sin6_port &&
	       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

/* "127.0.0.1:80" or "[::1]:80" in @buf, for a test's log. */
static inline char *estp_sockaddr_str(const struct sockaddr_storage *ss, char *buf,
				      size_t len)
{
	const struct sockaddr_in6 *sin6 = (const void *)ss;
	const struct sockaddr_in *sin = (const void *)ss;
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%d", a, ntohs(sin->sin_port));
	} else {
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%d", a, estp_sockaddr_port(ss));
	}
	return buf;
}

/* A stream socket of @proto in @fam's domain: its fd, or -1. */
static inline int estp_socket(int proto, int fam)
{
	return socket(estp_fam_domain(fam), SOCK_STREAM, proto);
}

/* connect() to @ip4:@port in @fam: 0 or errno. */
static inline int estp_connect_errno(int fd, int fam, const char *ip4, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = estp_sockaddr(fam, ip4, port, &ss);

	return connect(fd, (struct sockaddr *)&ss, len) ? errno : 0;
}

/* bind() to @ip4:@port in @fam: 0 or errno. */
static inline int estp_bind_errno(int fd, int fam, const char *ip4, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = estp_sockaddr(fam, ip4, port, &ss);

	return bind(fd, (struct sockaddr *)&ss, len) ? errno : 0;
}

/* A stream socket of @proto and @fam connected to @ip4:@port: fd, or -1. */
static inline int estp_connect_fam(int proto, int fam, const char *ip4, int port)
{
	int fd = estp_socket(proto, fam);

	if (fd < 0)
		return -1;
	if (estp_connect_errno(fd, fam, ip4, port)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A listener of @proto and @fam on @ip4:@port (0: an ephemeral port, which
 * estp_local_port() tells) with @backlog, SO_REUSEADDR set: fd, or -1.
 */
static inline int estp_listen_fam(int proto, int fam, const char *ip4, int port,
				  int backlog)
{
	int fd = estp_socket(proto, fam), one = 1;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    estp_bind_errno(fd, fam, ip4, port) || listen(fd, backlog)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A connection of @proto and @fam over loopback: the listener's port is
 * @port (0: ephemeral), the client in *@cfd, the accepted end in *@afd,
 * the listener closed.  0, or -1 with nothing left open.
 */
static inline int estp_pair_fam(int proto, int fam, int port, int *cfd, int *afd)
{
	int lfd = estp_listen_fam(proto, fam, "127.0.0.1", port, 1);

	*cfd = -1;
	*afd = -1;
	if (lfd < 0)
		return -1;
	*cfd = estp_connect_fam(proto, fam, "127.0.0.1", estp_local_port(lfd));
	if (*cfd >= 0)
		*afd = accept(lfd, NULL, NULL);
	close(lfd);
	if (*afd < 0) {
		if (*cfd >= 0)
			close(*cfd);
		*cfd = -1;
		return -1;
	}
	return 0;
}

#ifdef FIXTURE_VARIANT
/*
 * The variants of a fixture whose tests are tied to no address family:
 * TCP and ESTP, each on IPv4, IPv6 and v4-mapped IPv6.  Tests read
 * variant->proto and variant->fam (enum estp_fam).  A test tied to IPv4
 * (IP_TOS, IPv4 headers on the wire) stays in a fixture of
 * FIXTURE_VARIANTS_TCP_ESTP().
 */
#define FIXTURE_VARIANTS_FAMILIES(fixture)				\
	FIXTURE_VARIANT(fixture) { int proto; int fam; };		\
	FIXTURE_VARIANT_ADD(fixture, tcp4) {				\
		.proto = IPPROTO_TCP, .fam = ESTP_FAM4 };		\
	FIXTURE_VARIANT_ADD(fixture, tcp6) {				\
		.proto = IPPROTO_TCP, .fam = ESTP_FAM6 };		\
	FIXTURE_VARIANT_ADD(fixture, tcp_mapped) {			\
		.proto = IPPROTO_TCP, .fam = ESTP_FAM_MAPPED };		\
	FIXTURE_VARIANT_ADD(fixture, estp4) {				\
		.proto = IPPROTO_ESTP, .fam = ESTP_FAM4 };		\
	FIXTURE_VARIANT_ADD(fixture, estp6) {				\
		.proto = IPPROTO_ESTP, .fam = ESTP_FAM6 };		\
	FIXTURE_VARIANT_ADD(fixture, estp_mapped) {			\
		.proto = IPPROTO_ESTP, .fam = ESTP_FAM_MAPPED }
#endif

/* Whether a module is loaded, from /proc/modules. */
static inline int estp_module_loaded(const char *name)
{
	char line[512];
	size_t len = strlen(name);
	int found = 0;
	FILE *f;

	f = fopen("/proc/modules", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ' ')
			found = 1;
	fclose(f);
	return found;
}

/* finit_module() of $ESTP_KO with @params: 0 or -errno. */
static inline int estp_load(const char *params)
{
	const char *ko = getenv("ESTP_KO");
	int fd, ret;

	if (!ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * The kernel's taint mask (/proc/sys/kernel/tainted), or -1.  Bit 9 (W) is
 * set by the first WARN: a test that holds a window open on purpose checks
 * that it did not newly set it.
 */
#define ESTP_TAINT_WARN	(1L << 9)
static inline long estp_tainted(void)
{
	char buf[32];

	if (estp_sysctl_get("/proc/sys/kernel/tainted", buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

/* delete_module("estp"): 0 or -errno. */
static inline int estp_unload(void)
{
	return syscall(SYS_delete_module, "estp", O_NONBLOCK) ? -errno : 0;
}

/* estp.ko's use count (the third column of /proc/modules), or -1. */
static inline int estp_module_refs(void)
{
	char line[512], name[64];
	int refs = -1, r;
	long size;
	FILE *f;

	f = fopen("/proc/modules", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld %d", name, &size, &r) == 3 && !strcmp(name, "estp"))
			refs = r;
	fclose(f);
	return refs;
}

/*
 * The longest a test waits for an RCU grace period to end, e.g. for a
 * closed listener's module reference: CI saw the debug kernel under TCG
 * take past 10 s.  A bound against a hang, not an expected time.
 */
#define ESTP_RCU_WAIT_MS	60000

/*
 * delete_module("estp") once its use count falls to 0, polled for up to @ms:
 * 0 or -errno.  A closed listener holds the module until an RCU grace
 * period ends (SOCK_RCU_FREE, as TCP's): 1-2 s on the debug kernel under
 * TCG, past 10 s once in CI; a socket leaked holds it for good.  On
 * failure it says what still holds it; after a wait of 5 s or more, how
 * long it took.
 */
static inline int estp_unload_wait(int ms)
{
	struct timespec t;
	long t0, now, n = -1;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t0 = t.tv_sec * 1000L + t.tv_nsec / 1000000;
	for (;;) {
		ret = estp_unload();
		clock_gettime(CLOCK_MONOTONIC, &t);
		now = t.tv_sec * 1000L + t.tv_nsec / 1000000;
		if (ret != -EAGAIN || now - t0 >= ms)
			break;
		usleep(10000);
	}
	if (ret) {
		estp_proto_line("ESTP", NULL, &n);
		ksft_print_msg("estp.ko not unloaded after %ld ms: %s; use count %d, ESTP sockets %ld\n",
			       now - t0, strerror(-ret), estp_module_refs(), n);
	} else if (now - t0 >= 5000) {
		ksft_print_msg("estp.ko unloaded after %ld ms\n", now - t0);
	}
	return ret;
}

#ifdef FIXTURE_VARIANT
/*
 * The tcp and estp variants of a fixture whose behaviour TCP specifies:
 * tests read variant->proto.
 */
#define FIXTURE_VARIANTS_TCP_ESTP(fixture)				\
	FIXTURE_VARIANT(fixture) { int proto; };			\
	FIXTURE_VARIANT_ADD(fixture, tcp) { .proto = IPPROTO_TCP };	\
	FIXTURE_VARIANT_ADD(fixture, estp) { .proto = IPPROTO_ESTP }
#endif

/* The "memory" column (pages) of @name's line in /proc/net/protocols, or -1. */
static inline long estp_proto_memory(const char *name)
{
	char line[512], n[64];
	long size, sockets, mem, ret = -1;
	FILE *f = fopen("/proc/net/protocols", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld %ld %ld", n, &size, &sockets, &mem) == 4 &&
		    !strcmp(n, name))
			ret = mem;
	fclose(f);
	return ret;
}

/*
 * Pages a protocol's "memory" may lag behind its sockets: each CPU keeps a
 * reserve before it adds to the global count (net.core.mem_pcpu_rsv, of
 * the init netns only; 256 pages before it was a sysctl).
 */
static inline long estp_memory_lag(void)
{
	long rsv = 256, cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char buf[32];

	if (!estp_sysctl_get("/proc/sys/net/core/mem_pcpu_rsv", buf, sizeof(buf)))
		rsv = atol(buf);
	return rsv * (cpus > 0 ? cpus : 1);
}

#ifdef TEST_HARNESS_MAIN
/*
 * The harness's main for a program whose "tcp" variants are TCP's side of
 * a comparison that make fuzz makes (the fuzzers, the load tests): in CI's
 * guests (ESTP_FAMILIES=subset) and with no argument they are left out,
 * "-V tcp", neither run nor counted; a run with arguments, or without
 * ESTP_FAMILIES=subset, runs every variant.
 */
#define ESTP_HARNESS_MAIN_CI_ESTP_ONLY					\
	int main(int argc, char **argv)					\
	{								\
		const char *mode = getenv("ESTP_FAMILIES");		\
		char *estp_only[] = { argv[0], "-V", "tcp", NULL };	\
									\
		if (argc == 1 && mode && !strcmp(mode, "subset"))	\
			return test_harness_run(3, estp_only);		\
		return test_harness_run(argc, argv);			\
	}

/* Whether a variant's name is an IPv6 or v4-mapped one ("tcp6", "estp_mapped_loss"). */
static inline int estp_variant_is_v6(const char *name)
{
	const char *p = !strncmp(name, "tcp", 3) ? name + 3 :
			!strncmp(name, "estp", 4) ? name + 4 : NULL;

	if (!p)
		return 0;
	if (*p == '6')
		p++;
	else if (!strncmp(p, "_mapped", 7))
		p += 7;
	else
		return 0;
	return !*p || *p == '_';
}

/*
 * The harness's main with the families' share of CI time in hand: with
 * ESTP_FAMILIES=subset in the environment (and no argument), the IPv6 and
 * v4-mapped variants run only the cases @subset names ("TEST" in every
 * such variant, or "VARIANT.TEST"), the IPv4 ones all of theirs; unset or "all", everything runs.  A case left out is not
 * run and not counted, never reported as a pass.  It hands the harness one
 * "-r FIXTURE.VARIANT.TEST" per case that runs.
 */
struct estp_args {
	char **v;
	int n, cap;
};

/* Appends "-r @f.@v.@t" (@v empty: "-r @f.@t") to @a: 0 or -1. */
static inline int estp_args_run(struct estp_args *a, const char *f, const char *v,
				const char *t)
{
	char **nv, *arg;

	if (a->n + 3 > a->cap) {
		nv = realloc(a->v, a->cap * 2 * sizeof(*nv));
		if (!nv)
			return -1;
		a->v = nv;
		a->cap *= 2;
	}
	if (asprintf(&arg, *v ? "%s.%s.%s" : "%s.%s%s", f, v, t) < 0)
		return -1;
	a->v[a->n++] = "-r";
	a->v[a->n++] = arg;
	a->v[a->n] = NULL;
	return 0;
}

/* Whether a subset entry, "TEST" or "VARIANT.TEST", names this case. */
static inline int estp_subset_has(const char *entry, const char *v, const char *t)
{
	size_t vlen = strlen(v);

	return !strcmp(entry, t) ||
	       (!strncmp(entry, v, vlen) && entry[vlen] == '.' && !strcmp(entry + vlen + 1, t));
}

static inline int estp_harness_run(int argc, char **argv, const char *const *subset)
{
	const char *mode = getenv("ESTP_FAMILIES");
	struct __fixture_variant_metadata *v;
	struct estp_args a = { NULL, 0, 0 };
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	const char *const *n;
	int keep;

	if (argc > 1 || !mode || !strcmp(mode, "all"))
		return test_harness_run(argc, argv);
	if (strcmp(mode, "subset")) {
		fprintf(stderr, "ESTP_FAMILIES=%s: all or subset\n", mode);
		return KSFT_FAIL;
	}
	a.cap = 64;
	a.v = calloc(a.cap, sizeof(*a.v));
	if (!a.v)
		return KSFT_FAIL;
	a.v[a.n++] = argv[0];
	for (f = __fixture_list; f; f = f->next) {
		for (t = f->tests; !f->variant && t; t = t->next)
			if (estp_args_run(&a, f->name, "", t->name))
				return KSFT_FAIL;
		for (v = f->variant; v; v = v->next) {
			for (t = f->tests; t; t = t->next) {
				keep = !estp_variant_is_v6(v->name);
				for (n = subset; !keep && *n; n++)
					keep = estp_subset_has(*n, v->name, t->name);
				if (keep && estp_args_run(&a, f->name, v->name, t->name))
					return KSFT_FAIL;
			}
		}
	}
	/* A name that matches no case is a typo that would drop cases unseen. */
	for (n = subset; *n; n++) {
		keep = 0;
		for (f = __fixture_list; f && !keep; f = f->next)
			for (v = f->variant; v && !keep; v = v->next)
				for (t = f->tests; t && !keep; t = t->next)
					keep = estp_variant_is_v6(v->name) &&
					       estp_subset_has(*n, v->name, t->name);
		if (!keep) {
			fprintf(stderr, "ESTP_HARNESS_MAIN: \"%s\" names no IPv6 case\n", *n);
			return KSFT_FAIL;
		}
	}
	a.v[a.n] = NULL;
	return test_harness_run(a.n, a.v);
}

/*
 * TEST_HARNESS_MAIN for a program with FIXTURE_VARIANTS_FAMILIES(): the
 * arguments name the tests the IPv6 and v4-mapped variants run under
 * ESTP_FAMILIES=subset (estp_harness_run()).
 */
#define ESTP_HARNESS_MAIN(...)						\
	int main(int argc, char **argv)					\
	{								\
		static const char *const subset[] = { __VA_ARGS__, NULL }; \
									\
		return estp_harness_run(argc, argv, subset);		\
	}
#endif

#ifdef FIXTURE_VARIANT
/*
 * For a case marked XFAIL_ADD(): the one-line reason its TAP line gives
 * ("ok N name # XFAIL reason"), in the field the harness's SKIP() fills.
 */
#define ESTP_XFAIL_REASON(fmt, ...)					\
	snprintf(_metadata->results->reason,				\
		 sizeof(_metadata->results->reason), fmt, ##__VA_ARGS__)
#endif

#endif /* ESTP_LIB_H */

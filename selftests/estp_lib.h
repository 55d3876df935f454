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
#include <linux/estp.h>

#include "kselftest.h"	/* __printf */

/* The table of @proto's sockets: /proc/net/tcp or /proc/net/estp. */
#define ESTP_PROC_NET(proto)	((proto) == IPPROTO_TCP ? "/proc/net/tcp" : "/proc/net/estp")

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
 * Two netns joined by a veth pair: @dev_a in @ns_a with address @ip_a/24,
 * @dev_b in @ns_b with @ip_b/24.
 */
struct estp_veth {
	const char *ns_a, *ns_b;
	const char *dev_a, *dev_b;
	const char *ip_a, *ip_b;
};

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
 * /proc/net/{tcp,estp} with local port @lport and remote port @rport, a
 * negative port matching any: -1 when there is none, -2 when the file
 * cannot be read (so that it is not taken for a socket gone).
 */
static inline int estp_proc_state(int proto, int lport, int rport)
{
	const char *path = ESTP_PROC_NET(proto);
	unsigned int lp, rp, st;
	char line[256];
	int state = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -2;
	while (state < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, " %*u: %*x:%x %*x:%x %x", &lp, &rp, &st) == 3 &&
		    (lport < 0 || (int)lp == lport) && (rport < 0 || (int)rp == rport))
			state = st;
	fclose(f);
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
	const char *path = ESTP_PROC_NET(proto);
	unsigned int lp, rp;
	char line[512];
	int ret = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (ret && fgets(line, sizeof(line), f))
		if (sscanf(line, estp_proc_cc_fmt, &lp, &rp, rto, cwnd, ssthresh) == 5 &&
		    (int)lp == lport && (int)rp == rport)
			ret = 0;
	fclose(f);
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

/* The socket's local IPv4 port, or -1. */
static inline int estp_local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) || sin.sin_family != AF_INET)
		return -1;
	return ntohs(sin.sin_port);
}

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

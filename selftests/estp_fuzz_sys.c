// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded syscall fuzzer for ESTP sockets.  Worker threads share a table
 * of descriptors (ESTP sockets of AF_INET and AF_INET6, listeners among
 * them) and run random sequences of the socket calls on them: socket,
 * bind, listen, connect, accept, setsockopt/getsockopt at every level with
 * bad lengths and pointers, send/recv with every flag, splice, sendfile,
 * ioctl, shutdown, close, dup2, fork, SCM_RIGHTS passing, and SIGUSR1s
 * that interrupt whatever blocks.  No call may hang (a watchdog names the
 * call each thread is in) or fail with an errno outside a list of sane
 * ones; afterwards no socket but closing ones may be left in the netns and
 * a new connection must carry 1 MiB each way intact.
 *
 * The same sequences run against TCP as a control, and a fixed set of
 * single calls compares ESTP's return and errno with TCP's.
 *
 *   ESTP_FUZZ_SEED=N	seed (default: from the clock); printed as "# seed N"
 *   ESTP_FUZZ_N=N	sequences per thread (default SEQS_DEFAULT)
 *   ESTP_FUZZ_SECS=S	time cap of the ESTP run (default SECS_DEFAULT, 0: none)
 *
 * A run is replayed by its seed: each thread's sequence k draws from a
 * stream derived from (seed, thread, k) only, though the threads' timing
 * is the scheduler's.
 */
#define _GNU_SOURCE
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <linux/types.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

#ifndef SOL_TCP
#define SOL_TCP			IPPROTO_TCP
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY		0x4000000
#endif
#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN		0x20000000
#endif
#ifndef IPV6_FLOWINFO
#define IPV6_FLOWINFO		11
#endif
#ifndef IPV6_FLOWLABEL_MGR
#define IPV6_FLOWLABEL_MGR	32
#endif
#ifndef IPV6_FLOWINFO_SEND
#define IPV6_FLOWINFO_SEND	33
#endif
#ifndef IPV6_ADDR_PREFERENCES
#define IPV6_ADDR_PREFERENCES	72
#endif
#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT	73
#endif
#ifndef IPV6_RECVORIGDSTADDR
#define IPV6_RECVORIGDSTADDR	74
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT	75
#endif
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND		78
#endif
#ifndef IPV6_AUTOFLOWLABEL
#define IPV6_AUTOFLOWLABEL	70
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif
#ifndef IP_RECVFRAGSIZE
#define IP_RECVFRAGSIZE		25
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE	51
#endif
#ifndef SIOCOUTQNSD
#define SIOCOUTQNSD		0x894B
#endif
#ifndef TCP_ULP
#define TCP_ULP			31
#endif

#define NTHREADS	4
#define MAX_OPS		24
#define NSLOTS		16
#define NLPORTS		8	/* listener ports remembered for connect() */
#define PORT_BASE	20000	/* bind() picks among a few ports to collide */
#define NPORTS		8
#define SEQ_OPS		16	/* calls per sequence */
#define SEQS_DEFAULT	400	/* sequences per thread */
#define SECS_DEFAULT	12	/* time cap of the ESTP run */
#define TCP_SECS	4	/* time cap of the TCP run */
#define WATCHDOG_S	40	/* a thread without progress that long hangs */
/*
 * The harness's limit on the ESTP case: make fuzz runs as long as asked
 * (ESTP_FUZZ_SECS=0), 100,000 sequences are about 90 minutes on the
 * debug kernel, and a hang is the watchdog's to report, in 40 s.
 */
#define FUZZ_ESTP_TIMEOUT	(4 * 3600)
#define TIMEO_US	200000	/* SO_RCVTIMEO/SO_SNDTIMEO of every socket */
#define BUF_SZ		65536
#define LEFT_WAIT_S	20	/* for sockets to reach a closing state */
#define XFER_SZ		(1024 * 1024)

/* The state of one run, shared by its threads. */
struct fuzz {
	int proto;
	const char *name;
	__u64 seed;
	long nseq;
	long secs;
	struct timespec start;
	atomic_int slot[NSLOTS];
	atomic_int lport[NLPORTS];
	atomic_int go;		/* every thread's id is known */
	atomic_int stop;
	atomic_long nbad;
	atomic_long nops;
	atomic_long nok[MAX_OPS];	/* calls that succeeded, per op */
	atomic_long nerr[MAX_OPS];	/* and that failed */
	int unixfd[2];		/* SOCK_DGRAM pair that SCM_RIGHTS go through */
	unsigned char *guard;	/* a page, then a PROT_NONE one */
	long pagesz;
};

struct worker {
	struct fuzz *fz;
	pthread_t tid;
	int idx;
	__u64 rng;
	long seq;
	int opi;		/* index in ops[] */
	atomic_long progress;
	atomic_uintptr_t op;	/* the call it is in, a string */
	atomic_int done;
	int pipefd[2];
	int memfd;
	unsigned char *buf;
};

/* Buffers for options and control messages, aligned as either needs. */
union abuf {
	unsigned char b[512];
	struct cmsghdr c;
	long l;
};

static const char *fuzz_prog = "estp_fuzz_sys";

/* xorshift64* */
static __u64 rnd(__u64 *s)
{
	__u64 x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* splitmix64's finaliser: a stream's start from (a, b), never 0. */
static __u64 mix(__u64 a, __u64 b)
{
	__u64 z = a + 0x9E3779B97F4A7C15ULL * (b + 1);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z ? z : 1;
}

static unsigned int rn(struct worker *w, unsigned int n)
{
	return n ? rnd(&w->rng) % n : 0;
}

static long elapsed_ms(const struct timespec *from)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - from->tv_sec) * 1000 + (now.tv_nsec - from->tv_nsec) / 1000000;
}

/*
 * The errnos a socket call may give for bad arguments, wrong states and
 * a busy or torn-down connection.  Beyond the obvious: ENODEV and ENOTTY
 * (SO_BINDTODEVICE to no device, ioctls no one has), EDOM (a timeval out
 * of range), EPROTO (TCP's answer to multicast joins), ERANGE and ENODATA
 * (SO_PEERGROUPS, SO_PEERSEC), ENAMETOOLONG (device names),
 * ESRCH (IPV6_FLOWLABEL_MGR of a label not held), EBADMSG (seen once from
 * TCP's getsockopt() on 6.18, an option ESTP does not have), EMFILE/ENFILE
 * (the system's limits, not the socket's).
 */
static int errno_ok(int e)
{
	switch (e) {
	case EINVAL: case EFAULT: case EBADF: case ENOTCONN: case EISCONN:
	case EALREADY: case EINPROGRESS: case ECONNREFUSED: case EAGAIN:
	case EADDRINUSE: case EADDRNOTAVAIL: case EAFNOSUPPORT: case EOPNOTSUPP:
	case ENOPROTOOPT: case EPIPE: case ECONNRESET: case EINTR: case ETIMEDOUT:
	case ENOTSOCK: case ENOENT: case EPERM: case EACCES: case ENOBUFS:
	case ENOMEM: case EDESTADDRREQ: case EMSGSIZE: case ESPIPE: case EBUSY:
	case ENOSPC: case EHOSTUNREACH: case ENETUNREACH: case ECONNABORTED:
	case ESOCKTNOSUPPORT: case EPROTONOSUPPORT: case EFBIG: case ENODEV:
	case ENOTTY: case EDOM: case EPROTO: case ERANGE: case ENODATA:
	case ENAMETOOLONG: case ESRCH: case EMFILE: case ENFILE:
	case EBADMSG:
		return 1;
	}
	return 0;
}

/* Whether @ret's errno is a sane one; logs and counts it if not. */
static void chk(struct worker *w, const char *what, long ret)
{
	int e = errno;

	atomic_fetch_add(ret >= 0 ? &w->fz->nok[w->opi] : &w->fz->nerr[w->opi], 1);
	if (ret >= 0 || errno_ok(e))
		return;
	atomic_fetch_add(&w->fz->nbad, 1);
	fprintf(stderr, "# %s thread %d seq %ld: %s: unexpected errno %d (%s)\n",
		w->fz->name, w->idx, w->seq, what, e, strerror(e));
}

static void set_op(struct worker *w, const char *op)
{
	atomic_store(&w->op, (uintptr_t)op);
}

static void no_handler(int sig)
{
	(void)sig;
}

/* A slot's descriptor, or now and then -1 or one that is no socket. */
static int pick_fd(struct worker *w)
{
	switch (rn(w, 32)) {
	case 0:
		return -1;
	case 1:
		return w->pipefd[0];
	default:
		return atomic_load(&w->fz->slot[rn(w, NSLOTS)]);
	}
}

/* Stores @fd in slot @i; the descriptor there before is closed. */
static void slot_put(struct fuzz *fz, int i, int fd)
{
	int old = atomic_exchange(&fz->slot[i], fd);

	if (old >= 0)
		close(old);
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = TIMEO_US };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A new socket of the run's protocol, with the timeouts every one has. */
static int new_sock(struct worker *w)
{
	int domain = rn(w, 2) ? AF_INET6 : AF_INET;
	int type = SOCK_STREAM | SOCK_CLOEXEC;
	int fd;

	if (!rn(w, 3))
		type |= SOCK_NONBLOCK;
	fd = socket(domain, type, w->fz->proto);
	chk(w, "socket", fd);
	if (fd >= 0)
		set_timeouts(fd);
	return fd;
}

/* A port to bind or connect to: colliding, a listener's, 0 or any. */
static int pick_port(struct worker *w)
{
	int p;

	switch (rn(w, 6)) {
	case 0:
		return 0;
	case 1:
		return 1 + rn(w, 65535);
	case 2:
	case 3:
		p = atomic_load(&w->fz->lport[rn(w, NLPORTS)]);
		return p ? p : PORT_BASE + (int)rn(w, NPORTS);
	}
	return PORT_BASE + rn(w, NPORTS);
}

/*
 * A sockaddr in @ss for bind() or connect(): loopback, any, foreign or
 * v4-mapped, of either family, AF_UNSPEC or garbage; its length, mostly
 * right.  *@ptr is &ss, or NULL, or an address running into the guard page.
 */
static socklen_t pick_addr(struct worker *w, struct sockaddr_storage *ss, void **ptr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	int port = htons(pick_port(w));
	socklen_t len;

	memset(ss, 0, sizeof(*ss));
	switch (rn(w, 9)) {
	case 0:
	case 1:
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		break;
	case 2:
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = rn(w, 2) ? htonl(INADDR_ANY) : htonl(0x0a090909);
		break;
	case 3:
	case 4:
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		break;
	case 5:
		sin6->sin6_family = AF_INET6;
		if (rn(w, 2)) {
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			sin6->sin6_addr.s6_addr[12] = 127;
			sin6->sin6_addr.s6_addr[15] = 1;
		} else if (rn(w, 2)) {
			sin6->sin6_addr.s6_addr[0] = 0xfe;	/* link-local, no scope */
			sin6->sin6_addr.s6_addr[1] = 0x80;
			sin6->sin6_addr.s6_addr[15] = 1;
		}
		sin6->sin6_scope_id = rn(w, 4) ? 0 : rn(w, 4);
		sin6->sin6_flowinfo = rn(w, 4) ? 0 : rnd(&w->rng);
		break;
	case 6:
		ss->ss_family = AF_UNSPEC;
		sin->sin_addr.s_addr = rn(w, 2) ? htonl(INADDR_ANY) : htonl(INADDR_LOOPBACK);
		break;
	case 7:
		ss->ss_family = rn(w, 64);
		break;
	default:
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(0x7f000000 | rn(w, 4));
		break;
	}
	sin->sin_port = port;	/* sin6_port is at the same offset */
	len = ss->ss_family == AF_INET6 ? sizeof(*sin6) : sizeof(*sin);
	*ptr = ss;
	switch (rn(w, 16)) {
	case 0:
		return 0;
	case 1:
		return 1 + rn(w, len - 1);
	case 2:
		return sizeof(*ss) + rn(w, 2) * 4096;
	case 3:
		*ptr = NULL;
		return len;
	case 4:
		*ptr = w->fz->guard + w->fz->pagesz - rn(w, len);
		memcpy(*ptr, ss, w->fz->guard + w->fz->pagesz - (unsigned char *)*ptr);
		return len;
	case 5:
		return rn(w, 2) ? sizeof(*sin6) : sizeof(*sin);
	}
	return len;
}

static void op_socket(struct worker *w)
{
	int fd = new_sock(w);

	if (fd >= 0)
		slot_put(w->fz, rn(w, NSLOTS), fd);
	if (!rn(w, 16)) {
		/* Types and protocols around the one that exists. */
		int types[] = { SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, 77 };

		fd = socket(rn(w, 2) ? AF_INET : AF_INET6, types[rn(w, 4)], w->fz->proto);
		chk(w, "socket(type)", fd);
		if (fd >= 0)
			close(fd);
	}
}

static void op_bind(struct worker *w)
{
	struct sockaddr_storage ss;
	void *p;
	socklen_t len = pick_addr(w, &ss, &p);

	chk(w, "bind", bind(pick_fd(w), p, len));
}

static void op_listen(struct worker *w)
{
	static const int backlog[] = { -1, 0, 1, 2, 16, 128, INT_MAX, INT_MIN, 4096 };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = pick_fd(w), ret;

	ret = listen(fd, backlog[rn(w, ARRAY_SIZE(backlog))]);
	chk(w, "listen", ret);
	if (!ret && !getsockname(fd, (struct sockaddr *)&ss, &len))
		atomic_store(&w->fz->lport[rn(w, NLPORTS)], estp_sockaddr_port(&ss));
}

static void op_connect(struct worker *w)
{
	struct sockaddr_storage ss;
	int fd = pick_fd(w);
	void *p;
	socklen_t len = pick_addr(w, &ss, &p);

	if (rn(w, 2) && fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	chk(w, "connect", connect(fd, p, len));
}

static void op_accept(struct worker *w)
{
	static const int flags[] = { 0, SOCK_NONBLOCK, SOCK_CLOEXEC, 1, SOCK_NONBLOCK | 0x40 };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = pick_fd(w), nfd;
	void *addr = &ss;
	socklen_t *lenp = &len;

	switch (rn(w, 6)) {
	case 0:
		addr = NULL;
		lenp = NULL;
		break;
	case 1:
		len = rn(w, 8);
		break;
	case 2:
		len = -1;
		break;
	case 3:
		addr = w->fz->guard + w->fz->pagesz - 4;
		break;
	}
	/* Blocking sometimes: the listener's SO_RCVTIMEO or a signal ends it. */
	if (rn(w, 2))
		nfd = accept4(fd, addr, lenp, flags[rn(w, ARRAY_SIZE(flags))]);
	else
		nfd = accept(fd, addr, lenp);
	chk(w, "accept", nfd);
	if (nfd >= 0)
		slot_put(w->fz, rn(w, NSLOTS), nfd);
}

/* A connected pair through a listener in the table, to have data to move. */
static void op_pair(struct worker *w)
{
	struct sockaddr_storage ss;
	int port = atomic_load(&w->fz->lport[rn(w, NLPORTS)]);
	int fd, i, fam = rn(w, 2) ? ESTP_FAM6 : ESTP_FAM4;
	socklen_t len;

	if (!port)
		return;
	fd = socket(estp_fam_domain(fam), SOCK_STREAM | SOCK_CLOEXEC, w->fz->proto);
	chk(w, "socket(pair)", fd);
	if (fd < 0)
		return;
	set_timeouts(fd);
	len = estp_sockaddr(fam, "127.0.0.1", port, &ss);
	chk(w, "connect(pair)", connect(fd, (struct sockaddr *)&ss, len));
	slot_put(w->fz, rn(w, NSLOTS), fd);
	/* The other end, from whichever listener has one. */
	for (i = 0; i < NSLOTS; i++) {
		struct pollfd p = { .fd = atomic_load(&w->fz->slot[i]), .events = POLLIN };

		if (p.fd < 0 || poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
			continue;
		fd = accept4(p.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			slot_put(w->fz, rn(w, NSLOTS), fd);
			break;
		}
	}
}

/* An int-ish value: the edges, TCP's limits, anything. */
static int pick_int(struct worker *w)
{
	static const int v[] = { 0, 1, -1, 2, 3, 7, 88, 536, 1460, 32767, 65535,
				 INT_MAX, INT_MIN, 255, 256, 4096, 1 << 20 };

	return rn(w, 4) ? v[rn(w, ARRAY_SIZE(v))] : (int)rnd(&w->rng);
}

enum { K_INT, K_TIMEO, K_LINGER, K_STR, K_CC, K_IPOPT, K_V6EXT, K_BYTES, K_FILTER };

struct optdesc {
	int level;
	int name;
	int kind;
};

static const struct optdesc sol_opts[] = {
	{ SOL_SOCKET, SO_DEBUG, K_INT }, { SOL_SOCKET, SO_REUSEADDR, K_INT },
	{ SOL_SOCKET, SO_TYPE, K_INT }, { SOL_SOCKET, SO_ERROR, K_INT },
	{ SOL_SOCKET, SO_DONTROUTE, K_INT }, { SOL_SOCKET, SO_BROADCAST, K_INT },
	{ SOL_SOCKET, SO_SNDBUF, K_INT }, { SOL_SOCKET, SO_RCVBUF, K_INT },
	{ SOL_SOCKET, SO_SNDBUFFORCE, K_INT }, { SOL_SOCKET, SO_RCVBUFFORCE, K_INT },
	{ SOL_SOCKET, SO_KEEPALIVE, K_INT }, { SOL_SOCKET, SO_OOBINLINE, K_INT },
	{ SOL_SOCKET, SO_NO_CHECK, K_INT }, { SOL_SOCKET, SO_PRIORITY, K_INT },
	{ SOL_SOCKET, SO_LINGER, K_LINGER }, { SOL_SOCKET, SO_BSDCOMPAT, K_INT },
	{ SOL_SOCKET, SO_REUSEPORT, K_INT }, { SOL_SOCKET, SO_PASSCRED, K_INT },
	{ SOL_SOCKET, SO_PEERCRED, K_BYTES }, { SOL_SOCKET, SO_RCVLOWAT, K_INT },
	{ SOL_SOCKET, SO_SNDLOWAT, K_INT }, { SOL_SOCKET, SO_RCVTIMEO, K_TIMEO },
	{ SOL_SOCKET, SO_SNDTIMEO, K_TIMEO }, { SOL_SOCKET, SO_BINDTODEVICE, K_STR },
	{ SOL_SOCKET, SO_ATTACH_FILTER, K_FILTER }, { SOL_SOCKET, SO_DETACH_FILTER, K_INT },
	{ SOL_SOCKET, SO_PEERNAME, K_BYTES }, { SOL_SOCKET, SO_TIMESTAMP, K_INT },
	{ SOL_SOCKET, SO_ACCEPTCONN, K_INT }, { SOL_SOCKET, SO_PEERSEC, K_BYTES },
	{ SOL_SOCKET, SO_PASSSEC, K_INT }, { SOL_SOCKET, SO_TIMESTAMPNS, K_INT },
	{ SOL_SOCKET, SO_MARK, K_INT }, { SOL_SOCKET, SO_TIMESTAMPING, K_INT },
	{ SOL_SOCKET, SO_PROTOCOL, K_INT }, { SOL_SOCKET, SO_DOMAIN, K_INT },
	{ SOL_SOCKET, SO_RXQ_OVFL, K_INT }, { SOL_SOCKET, SO_PEEK_OFF, K_INT },
	{ SOL_SOCKET, SO_NOFCS, K_INT }, { SOL_SOCKET, SO_LOCK_FILTER, K_INT },
	{ SOL_SOCKET, SO_SELECT_ERR_QUEUE, K_INT }, { SOL_SOCKET, SO_BUSY_POLL, K_INT },
	{ SOL_SOCKET, SO_MAX_PACING_RATE, K_INT }, { SOL_SOCKET, SO_INCOMING_CPU, K_INT },
	{ SOL_SOCKET, SO_ZEROCOPY, K_INT }, { SOL_SOCKET, SO_TXTIME, K_BYTES },
	{ SOL_SOCKET, SO_BINDTOIFINDEX, K_INT }, { SOL_SOCKET, SO_COOKIE, K_BYTES },
	{ SOL_SOCKET, SO_MEMINFO, K_BYTES }, { SOL_SOCKET, SO_PEERGROUPS, K_BYTES },
#ifdef SO_PREFER_BUSY_POLL
	{ SOL_SOCKET, SO_PREFER_BUSY_POLL, K_INT },
#endif
#ifdef SO_BUF_LOCK
	{ SOL_SOCKET, SO_BUF_LOCK, K_INT },
#endif
#ifdef SO_RESERVE_MEM
	{ SOL_SOCKET, SO_RESERVE_MEM, K_INT },
#endif
#ifdef SO_TXREHASH
	{ SOL_SOCKET, SO_TXREHASH, K_INT },
#endif
#ifdef SO_RCVMARK
	{ SOL_SOCKET, SO_RCVMARK, K_INT },
#endif
	{ SOL_IP, IP_TOS, K_INT }, { SOL_IP, IP_TTL, K_INT },
	{ SOL_IP, IP_HDRINCL, K_INT }, { SOL_IP, IP_OPTIONS, K_IPOPT },
	{ SOL_IP, IP_RECVOPTS, K_INT }, { SOL_IP, IP_RETOPTS, K_INT },
	{ SOL_IP, IP_PKTINFO, K_INT }, { SOL_IP, IP_PKTOPTIONS, K_BYTES },
	{ SOL_IP, IP_MTU_DISCOVER, K_INT }, { SOL_IP, IP_RECVERR, K_INT },
	{ SOL_IP, IP_RECVTTL, K_INT }, { SOL_IP, IP_RECVTOS, K_INT },
	{ SOL_IP, IP_MTU, K_INT }, { SOL_IP, IP_FREEBIND, K_INT },
	{ SOL_IP, IP_TRANSPARENT, K_INT }, { SOL_IP, IP_MINTTL, K_INT },
	{ SOL_IP, IP_NODEFRAG, K_INT }, { SOL_IP, IP_BIND_ADDRESS_NO_PORT, K_INT },
	{ SOL_IP, IP_RECVFRAGSIZE, K_INT }, { SOL_IP, IP_LOCAL_PORT_RANGE, K_INT },
	{ SOL_IP, IP_MULTICAST_TTL, K_INT }, { SOL_IP, IP_MULTICAST_LOOP, K_INT },
	{ SOL_IP, IP_MULTICAST_IF, K_BYTES }, { SOL_IP, IP_ADD_MEMBERSHIP, K_BYTES },
	{ SOL_IP, IP_DROP_MEMBERSHIP, K_BYTES }, { SOL_IP, IP_UNICAST_IF, K_INT },
	{ SOL_IPV6, IPV6_ADDRFORM, K_INT }, { SOL_IPV6, IPV6_UNICAST_HOPS, K_INT },
	{ SOL_IPV6, IPV6_MULTICAST_HOPS, K_INT }, { SOL_IPV6, IPV6_MULTICAST_LOOP, K_INT },
	{ SOL_IPV6, IPV6_JOIN_GROUP, K_BYTES }, { SOL_IPV6, IPV6_LEAVE_GROUP, K_BYTES },
	{ SOL_IPV6, IPV6_MTU_DISCOVER, K_INT }, { SOL_IPV6, IPV6_MTU, K_INT },
	{ SOL_IPV6, IPV6_RECVERR, K_INT }, { SOL_IPV6, IPV6_V6ONLY, K_INT },
	{ SOL_IPV6, IPV6_RECVPKTINFO, K_INT }, { SOL_IPV6, IPV6_PKTINFO, K_BYTES },
	{ SOL_IPV6, IPV6_RECVHOPLIMIT, K_INT }, { SOL_IPV6, IPV6_HOPOPTS, K_V6EXT },
	{ SOL_IPV6, IPV6_RTHDR, K_V6EXT }, { SOL_IPV6, IPV6_DSTOPTS, K_V6EXT },
	{ SOL_IPV6, IPV6_RTHDRDSTOPTS, K_V6EXT }, { SOL_IPV6, IPV6_RECVTCLASS, K_INT },
	{ SOL_IPV6, IPV6_TCLASS, K_INT }, { SOL_IPV6, IPV6_FLOWINFO, K_INT },
	{ SOL_IPV6, IPV6_FLOWINFO_SEND, K_INT }, { SOL_IPV6, IPV6_FLOWLABEL_MGR, K_BYTES },
	{ SOL_IPV6, IPV6_AUTOFLOWLABEL, K_INT }, { SOL_IPV6, IPV6_DONTFRAG, K_INT },
	{ SOL_IPV6, IPV6_TRANSPARENT, K_INT }, { SOL_IPV6, IPV6_FREEBIND, K_INT },
	{ SOL_IPV6, IPV6_MINHOPCOUNT, K_INT }, { SOL_IPV6, IPV6_ADDR_PREFERENCES, K_INT },
	{ SOL_IPV6, IPV6_RECVORIGDSTADDR, K_INT },
};

/* SOL_TCP: TCP's option numbers, those ESTP has and those it does not. */
static int tcp_kind(int name)
{
	switch (name) {
	case TCP_CONGESTION:
		return K_CC;
	case TCP_ULP:
		return K_STR;
	case TCP_INFO: case TCP_CC_INFO: case TCP_FASTOPEN_KEY: case TCP_MD5SIG:
	case TCP_MD5SIG_EXT: case TCP_REPAIR_OPTIONS: case TCP_REPAIR_WINDOW:
	case TCP_SAVED_SYN: case TCP_ZEROCOPY_RECEIVE:
		return K_BYTES;
	}
	return K_INT;
}

/*
 * Fills @buf for an option of @kind; returns the length that goes with
 * it (the right one, mostly).
 */
static int fill_opt(struct worker *w, int kind, unsigned char *buf, int max)
{
	static const char * const cc[] = { "cubic", "reno", "", "cubicX" };
	static const unsigned char ipopt[][8] = {
		{ 1, 1, 1, 0 },			/* NOP NOP NOP END */
		{ 7, 7, 4, 0, 0, 0, 0, 1 },	/* record route, one slot; NOP */
		{ 68, 8, 5, 0, 0, 0, 0, 0 },	/* timestamps, one */
		{ 130, 11, 0 },			/* security, short */
	};
	static const struct sock_filter filters[] = {
		BPF_STMT(BPF_RET | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, 20),
		BPF_STMT(BPF_RET | BPF_K, 40), BPF_STMT(BPF_RET | BPF_K, 0xffff),
	};
	struct timeval tv;
	struct linger l;
	struct sock_fprog prog;
	int len, i;

	switch (kind) {
	case K_TIMEO:
		/* Never {0, 0}: no timeout would let a call block for good. */
		tv.tv_sec = rn(w, 8) ? 0 : (rn(w, 2) ? -1 : 1);
		tv.tv_usec = rn(w, 8) ? 1 + rn(w, 300000) : 1000000 + rn(w, 10);
		memcpy(buf, &tv, sizeof(tv));
		return sizeof(tv);
	case K_LINGER:
		/* At most a second of lingering in close(). */
		l.l_onoff = rn(w, 2);
		l.l_linger = rn(w, 3) ? 0 : 1;
		memcpy(buf, &l, sizeof(l));
		return sizeof(l);
	case K_STR:
		snprintf((char *)buf, max, "%s", rn(w, 2) ? "lo" : "nosuchdev");
		return strlen((char *)buf) + rn(w, 2);
	case K_CC:
		/* Names that exist or fail: none that loads another module. */
		snprintf((char *)buf, max, "%s", cc[rn(w, 16) ? rn(w, 2) : 2 + rn(w, 2)]);
		return strlen((char *)buf) + rn(w, 2);
	case K_IPOPT:
		i = rn(w, ARRAY_SIZE(ipopt) + 1);
		if (i == ARRAY_SIZE(ipopt)) {
			len = rn(w, 44);
			for (i = 0; i < len; i++)
				buf[i] = rnd(&w->rng);
			return len;
		}
		memcpy(buf, ipopt[i], 8);
		return i == 0 ? 4 : 8;
	case K_V6EXT:
		/* An extension header of PadN, or of anything. */
		memset(buf, 0, 16);
		buf[1] = rn(w, 4) ? 0 : 1;
		buf[2] = 1;
		buf[3] = buf[1] ? 12 : 4;
		if (!rn(w, 4))
			for (i = 0; i < 16; i++)
				buf[i] = rnd(&w->rng);
		return buf[1] ? 16 : 8;
	case K_FILTER:
		/* One instruction: accept 0, 20, 40 bytes or all of it. */
		i = rn(w, 4);
		prog.len = rn(w, 8) ? 1 : rn(w, 70000);
		prog.filter = (struct sock_filter *)&filters[i];
		memcpy(buf, &prog, sizeof(prog));
		return sizeof(prog);
	case K_BYTES:
		len = rn(w, 4) ? rn(w, 256) : rn(w, max);
		for (i = 0; i < len; i++)
			buf[i] = rnd(&w->rng);
		return len;
	}
	i = pick_int(w);
	memcpy(buf, &i, sizeof(i));
	memset(buf + sizeof(i), 0, 4);
	return sizeof(i);
}

/* An option to set or get: SOL_SOCKET/IP/IPv6, SOL_TCP, SOL_ESTP, random. */
static void pick_opt(struct worker *w, int *level, int *name, int *kind)
{
	static const int levels[] = { SOL_SOCKET, SOL_IP, SOL_IPV6, SOL_TCP, SOL_ESTP, -1 };
	const struct optdesc *d;

	switch (rn(w, 8)) {
	case 0:
	case 1:
	case 2:
		d = &sol_opts[rn(w, ARRAY_SIZE(sol_opts))];
		*level = d->level;
		*name = d->name;
		*kind = d->kind;
		return;
	case 7:
		*level = levels[rn(w, ARRAY_SIZE(levels))];
		if (*level == -1)
			*level = rnd(&w->rng);
		*name = rn(w, 101);
		*kind = K_BYTES;
		break;
	default:
		*level = rn(w, 4) ? SOL_TCP : SOL_ESTP;
		*name = rn(w, 8) ? 1 + rn(w, 46) : rn(w, 101);
		*kind = tcp_kind(*name);
		break;
	}
	/* Keep the blocking calls bounded and the module set as it is. */
	if (*level == SOL_SOCKET && (*name == SO_RCVTIMEO || *name == SO_SNDTIMEO))
		*kind = K_TIMEO;
	if (*level == SOL_SOCKET && *name == SO_LINGER)
		*kind = K_LINGER;
	if (*level == SOL_SOCKET && *name == SO_ATTACH_FILTER)
		*kind = K_FILTER;
	if ((*level == SOL_TCP || *level == SOL_ESTP) && *name == TCP_CONGESTION)
		*kind = K_CC;
	if ((*level == SOL_TCP || *level == SOL_ESTP) && *name == TCP_ULP)
		*name = 0;	/* "tls", "mptcp" or a modprobe of garbage */
}

static void op_setsockopt(struct worker *w)
{
	union abuf u;
	unsigned char *val = u.b;
	int level, name, kind, len, ret, fd = pick_fd(w);
	void *p = val;
	char what[64];

	pick_opt(w, &level, &name, &kind);
	len = fill_opt(w, kind, val, sizeof(u.b));
	switch (rn(w, 12)) {
	case 0:
		p = NULL;
		break;
	case 1:
		len = rn(w, 2) ? 0 : rn(w, 3);
		break;
	case 2:
		len = rn(w, 2) ? -1 : len + 1 + (int)rn(w, 8);
		if (kind == K_TIMEO || kind == K_LINGER || kind == K_FILTER)
			len = rn(w, 4);
		break;
	case 3:
		/* Runs into the guard page. */
		p = w->fz->guard + w->fz->pagesz - rn(w, len + 1);
		memcpy(p, val, w->fz->guard + w->fz->pagesz - (unsigned char *)p);
		break;
	case 4:
		p = w->buf + 1;	/* unaligned */
		memcpy(p, val, len > 0 ? len : 0);
		break;
	}
	if (kind == K_TIMEO && p == val && len >= (int)sizeof(struct timeval)) {
		struct timeval tv;

		memcpy(&tv, val, sizeof(tv));
		if (!tv.tv_sec && !tv.tv_usec)
			return;
	}
	ret = setsockopt(fd, level, name, p, len);
	snprintf(what, sizeof(what), "setsockopt(level %d, opt %d, len %d)", level, name, len);
	chk(w, what, ret);
}

static void op_getsockopt(struct worker *w)
{
	union abuf u;
	unsigned char *val = u.b;
	socklen_t len = sizeof(int);
	int level, name, kind, ret, fd = pick_fd(w);
	void *p = val;
	char what[64];
	socklen_t *lp = &len;

	pick_opt(w, &level, &name, &kind);
	switch (rn(w, 10)) {
	case 0:
		p = NULL;
		break;
	case 1:
		lp = NULL;
		break;
	case 2:
		len = rn(w, 2) ? -1 : INT_MIN;
		break;
	case 3:
		len = rn(w, 9);
		break;
	case 4:
		p = w->fz->guard + w->fz->pagesz - rn(w, 16);
		len = 4 + rn(w, 300);
		break;
	case 5:
		p = w->buf + 1 + rn(w, 7);
		len = rn(w, 2) ? rn(w, 600) : BUF_SZ - 8;
		break;
	default:
		len = rn(w, 2) ? sizeof(int) : sizeof(u.b);
		break;
	}
	ret = getsockopt(fd, level, name, p, lp);
	if (ret < 0 && errno == ENOTSOCK && fd == w->pipefd[0])
		return;
	snprintf(what, sizeof(what), "getsockopt(level %d, opt %d)", level, name);
	chk(w, what, ret);
}

/* Send flags: each alone, in pairs, random bits; never one that blocks long. */
static int pick_flags(struct worker *w, int send)
{
	static const int f[] = { 0, MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_DONTWAIT,
				 MSG_WAITALL, MSG_TRUNC, MSG_MORE, MSG_ZEROCOPY,
				 MSG_FASTOPEN, MSG_ERRQUEUE, MSG_EOR, MSG_CONFIRM,
				 MSG_CTRUNC, MSG_NOSIGNAL, MSG_CMSG_CLOEXEC };
	int flags = f[rn(w, ARRAY_SIZE(f))] | f[rn(w, ARRAY_SIZE(f))];

	if (!rn(w, 8))
		flags = rnd(&w->rng);
	if (rn(w, 4))
		flags |= MSG_DONTWAIT;
	if (send)
		flags |= MSG_NOSIGNAL;
	return flags;
}

static void op_send(struct worker *w)
{
	struct sockaddr_storage ss;
	struct iovec iov[3];
	struct msghdr msg = { .msg_iov = iov };
	union abuf u;
	char *cbuf = (char *)u.b;
	int fd = pick_fd(w), i, flags = pick_flags(w, 1);
	size_t len = rn(w, 4) ? rn(w, 2048) : rn(w, BUF_SZ);
	void *p;

	switch (rn(w, 4)) {
	case 0:
		chk(w, "send", send(fd, w->buf, len, flags));
		return;
	case 1:
		msg.msg_namelen = pick_addr(w, &ss, &p);
		chk(w, "sendto", sendto(fd, w->buf, len, flags | (rn(w, 2) ? MSG_FASTOPEN : 0),
					p, msg.msg_namelen));
		return;
	}
	msg.msg_iovlen = 1 + rn(w, 3);
	for (i = 0; i < (int)msg.msg_iovlen; i++) {
		iov[i].iov_base = w->buf + rn(w, 64);
		iov[i].iov_len = rn(w, 4) ? rn(w, 4096) : rn(w, BUF_SZ - 64);
	}
	if (!rn(w, 8))
		iov[0].iov_base = w->fz->guard + w->fz->pagesz - rn(w, 64);
	if (!rn(w, 6)) {
		struct cmsghdr *c = (struct cmsghdr *)cbuf;

		memset(cbuf, 0, CMSG_SPACE(sizeof(int)) * 2);
		c->cmsg_len = CMSG_LEN(sizeof(int));
		c->cmsg_level = rn(w, 2) ? SOL_SOCKET : SOL_IP;
		c->cmsg_type = rn(w, 2) ? SO_TIMESTAMPING : rn(w, 64);
		i = pick_int(w);
		memcpy(CMSG_DATA(c), &i, sizeof(i));
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int));
		if (!rn(w, 4))
			msg.msg_controllen = rn(w, 2 * msg.msg_controllen);
	}
	if (!rn(w, 6)) {
		msg.msg_namelen = pick_addr(w, &ss, &p);
		msg.msg_name = p;
	}
	chk(w, "sendmsg", sendmsg(fd, &msg, flags));
}

static void op_recv(struct worker *w)
{
	struct iovec iov[2];
	struct msghdr msg = { .msg_iov = iov };
	union abuf u;
	char *cbuf = (char *)u.b;
	int fd = pick_fd(w), flags = pick_flags(w, 0);
	size_t len = rn(w, 2) ? rn(w, 4096) : rn(w, BUF_SZ);
	ssize_t ret;

	if (rn(w, 2)) {
		ret = recv(fd, rn(w, 16) ? w->buf : NULL, len, flags);
		chk(w, "recv", ret);
		return;
	}
	msg.msg_iovlen = 1 + rn(w, 2);
	iov[0].iov_base = w->buf;
	iov[0].iov_len = len / 2;
	iov[1].iov_base = rn(w, 8) ? w->buf + len / 2 : w->fz->guard + w->fz->pagesz - 8;
	iov[1].iov_len = len - len / 2;
	if (rn(w, 2)) {
		msg.msg_control = cbuf;
		msg.msg_controllen = rn(w, 4) ? 256 : rn(w, 24);
	}
	ret = recvmsg(fd, &msg, flags);
	chk(w, "recvmsg", ret);
	if (ret >= 0 && msg.msg_controllen && !(flags & MSG_CMSG_CLOEXEC)) {
		struct cmsghdr *c;

		/* Nothing here carries descriptors; if one did, close them. */
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				fprintf(stderr, "# %s: SCM_RIGHTS from a stream socket\n",
					w->fz->name);
	}
}

static void drain_pipe(struct worker *w)
{
	while (read(w->pipefd[0], w->buf, BUF_SZ) > 0)
		;
}

static void op_splice(struct worker *w)
{
	int fd = pick_fd(w);
	size_t len = 1 + rn(w, BUF_SZ);
	unsigned int fl = rn(w, 4) ? SPLICE_F_NONBLOCK : 0;

	if (rn(w, 2)) {
		chk(w, "splice(in)",
		    splice(fd, NULL, w->pipefd[1], NULL, len, fl | SPLICE_F_NONBLOCK));
	} else {
		if (write(w->pipefd[1], w->buf, 1 + rn(w, 8192)) < 0 && errno != EAGAIN)
			chk(w, "write(pipe)", -1);
		chk(w, "splice(out)",
		    splice(w->pipefd[0], NULL, fd, NULL, len, fl | SPLICE_F_MORE));
	}
	drain_pipe(w);
}

static void op_sendfile(struct worker *w)
{
	off_t off = rn(w, 4) ? 0 : rn(w, BUF_SZ + 8);
	int fd = pick_fd(w);

	chk(w, "sendfile", sendfile(fd, w->memfd, rn(w, 4) ? &off : NULL, rn(w, BUF_SZ)));
	if (!rn(w, 4))
		lseek(w->memfd, 0, SEEK_SET);
}

static void op_ioctl(struct worker *w)
{
	static const unsigned long cmd[] = { FIONREAD, SIOCOUTQ, SIOCATMARK, SIOCOUTQNSD,
					     FIONBIO, SIOCGSTAMP, SIOCGSTAMPNS, 0x54ff,
					     0x12345678 };
	int fd = pick_fd(w), arg = rn(w, 2), ret;
	unsigned long c = cmd[rn(w, ARRAY_SIZE(cmd))];
	void *p = rn(w, 8) ? (void *)w->buf : NULL;

	if (c == FIONBIO)
		p = &arg;
	ret = ioctl(fd, c, p);
	if (ret < 0 && fd == w->pipefd[0])
		return;
	chk(w, "ioctl", ret);
}

static void op_shutdown(struct worker *w)
{
	static const int how[] = { SHUT_RD, SHUT_WR, SHUT_RDWR, -1, 3, INT_MAX };

	chk(w, "shutdown", shutdown(pick_fd(w), how[rn(w, ARRAY_SIZE(how))]));
}

static void op_close(struct worker *w)
{
	int i = rn(w, NSLOTS), fd;

	if (!rn(w, 4)) {
		/* Aborts: SO_LINGER 0, a RST. */
		fd = atomic_load(&w->fz->slot[i]);
		if (fd >= 0) {
			struct linger l = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
	}
	fd = atomic_exchange(&w->fz->slot[i], -1);
	if (fd >= 0)
		close(fd);
	if (rn(w, 2)) {
		fd = new_sock(w);
		if (fd >= 0)
			slot_put(w->fz, i, fd);
	}
}

/* dup2() of a slot onto another's descriptor, or dup() into an empty one. */
static void op_dup(struct worker *w)
{
	int src = pick_fd(w), j = rn(w, NSLOTS);
	int dst = atomic_load(&w->fz->slot[j]), fd;

	if (src == w->pipefd[0])
		return;
	if (dst >= 0 && rn(w, 2)) {
		chk(w, "dup2", dup2(src, dst));
		return;
	}
	fd = fcntl(src, F_DUPFD_CLOEXEC, 3);
	chk(w, "dup", fd);
	if (fd >= 0)
		slot_put(w->fz, j, fd);
}

/*
 * A child that does a few calls on the descriptors it inherits and exits:
 * 0, or 2 when one failed with an errno outside the list.  alarm() ends it
 * if a call hangs; nothing in it takes a lock of the parent's threads.
 */
static void op_fork(struct worker *w)
{
	int status, i, fd, ret;
	pid_t pid;

	pid = fork();
	chk(w, "fork", pid);
	if (pid < 0)
		return;
	if (!pid) {
		alarm(5);
		for (i = 0; i < 4; i++) {
			fd = atomic_load(&w->fz->slot[rn(w, NSLOTS)]);
			switch (rn(w, 6)) {
			case 0:
				ret = send(fd, w->buf, rn(w, 8192), MSG_DONTWAIT | MSG_NOSIGNAL);
				break;
			case 1:
				ret = recv(fd, w->buf, BUF_SZ, MSG_DONTWAIT);
				break;
			case 2:
				ret = shutdown(fd, rn(w, 3));
				break;
			case 3:
				ret = listen(fd, rn(w, 8));
				break;
			case 4:
				ret = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
				break;
			default:
				ret = close(fd);
				break;
			}
			if (ret < 0 && !errno_ok(errno))
				_exit(2);
		}
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		atomic_fetch_add(&w->fz->nbad, 1);
		fprintf(stderr, "# %s thread %d seq %ld: fork child: status 0x%x\n",
			w->fz->name, w->idx, w->seq, status);
	}
}

/* Sends 1-3 slot descriptors through the unix pair, for any thread to take. */
static void op_scm_send(struct worker *w)
{
	union abuf u;
	char *cbuf = (char *)u.b;
	struct iovec iov = { .iov_base = w->buf, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf };
	struct cmsghdr *c = (struct cmsghdr *)cbuf;
	int fds[3], n = 1 + rn(w, 3), i;

	for (i = 0; i < n; i++)
		fds[i] = atomic_load(&w->fz->slot[rn(w, NSLOTS)]);
	memset(cbuf, 0, CMSG_SPACE(3 * sizeof(int)));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
	chk(w, "sendmsg(SCM_RIGHTS)", sendmsg(w->fz->unixfd[0], &msg, MSG_DONTWAIT));
}

/* Takes what came through the unix pair: into slots, or closed. */
static int scm_recv(struct fuzz *fz, struct worker *w)
{
	union abuf u;
	char *cbuf = (char *)u.b;
	char b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = CMSG_SPACE(3 * sizeof(int)) };
	struct cmsghdr *c;
	int fds[3], n, i;

	if (recvmsg(fz->unixfd[1], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0) {
		if (w)
			chk(w, "recvmsg(SCM_RIGHTS)", -1);
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		for (i = 0; i < n; i++) {
			if (w)
				slot_put(fz, rn(w, NSLOTS), fds[i]);
			else
				close(fds[i]);
		}
	}
	return 0;
}

static void op_getname(struct worker *w)
{
	struct sockaddr_storage ss;
	socklen_t len = rn(w, 4) ? sizeof(ss) : rn(w, 8);
	int fd = pick_fd(w);

	if (rn(w, 2))
		chk(w, "getsockname", getsockname(fd, (struct sockaddr *)&ss, &len));
	else
		chk(w, "getpeername", getpeername(fd, (struct sockaddr *)&ss, &len));
}

static void op_poll(struct worker *w)
{
	struct pollfd p = { .fd = pick_fd(w), .events = POLLIN | POLLOUT | POLLPRI };

	chk(w, "poll", poll(&p, 1, rn(w, 20)));
}

static void op_signal(struct worker *w);

static const struct {
	const char *name;
	void (*fn)(struct worker *w);
	int weight;
} ops[] = {
	{ "socket", op_socket, 6 }, { "bind", op_bind, 6 }, { "listen", op_listen, 5 },
	{ "connect", op_connect, 6 }, { "accept", op_accept, 5 }, { "pair", op_pair, 5 },
	{ "setsockopt", op_setsockopt, 12 }, { "getsockopt", op_getsockopt, 8 },
	{ "send", op_send, 10 }, { "recv", op_recv, 10 }, { "splice", op_splice, 3 },
	{ "sendfile", op_sendfile, 3 }, { "ioctl", op_ioctl, 3 },
	{ "shutdown", op_shutdown, 3 }, { "close", op_close, 4 }, { "dup", op_dup, 2 },
	{ "fork", op_fork, 1 }, { "scm_send", op_scm_send, 2 }, { "getname", op_getname, 2 },
	{ "poll", op_poll, 2 }, { "signal", op_signal, 2 },
};

static struct worker workers[NTHREADS];

/* SIGUSR1 to another thread, which may be blocked in accept/recv/connect. */
static void op_signal(struct worker *w)
{
	struct worker *t = &workers[rn(w, NTHREADS)];

	if (!atomic_load(&t->done))
		pthread_kill(t->tid, SIGUSR1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fuzz *fz = w->fz;
	int total = 0, i, k, r;

	for (i = 0; i < (int)ARRAY_SIZE(ops); i++)
		total += ops[i].weight;
	while (!atomic_load(&fz->go))
		sched_yield();
	for (w->seq = 0; w->seq < fz->nseq && !atomic_load(&fz->stop); w->seq++) {
		w->rng = mix(mix(fz->seed, w->idx), w->seq);
		for (k = 0; k < SEQ_OPS; k++) {
			r = rn(w, total);
			for (i = 0; r >= ops[i].weight; i++)
				r -= ops[i].weight;
			w->opi = i;
			if (!strcmp(ops[i].name, "scm_send") && rn(w, 2)) {
				set_op(w, "scm_recv");
				scm_recv(fz, w);
			} else {
				set_op(w, ops[i].name);
				ops[i].fn(w);
			}
			atomic_fetch_add(&w->progress, 1);
			atomic_fetch_add(&fz->nops, 1);
		}
		if (fz->secs && elapsed_ms(&fz->start) > fz->secs * 1000)
			break;
	}
	set_op(w, "done");
	atomic_store(&w->done, 1);
	return NULL;
}

/* Sends SIGUSR1 to a random worker every few ms until told to stop. */
static void *signaller_main(void *arg)
{
	struct fuzz *fz = arg;
	__u64 s = mix(fz->seed, 1000);
	struct timespec ts = { 0 };

	while (!atomic_load(&fz->go))
		sched_yield();
	while (!atomic_load(&fz->stop)) {
		struct worker *t = &workers[rnd(&s) % NTHREADS];

		if (!atomic_load(&t->done))
			pthread_kill(t->tid, SIGUSR1);
		ts.tv_nsec = (10 + rnd(&s) % 40) * 1000000L;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void print_replay(struct fuzz *fz)
{
	fprintf(stderr, "# replay: ESTP_FUZZ_SEED=%llu ESTP_FUZZ_N=%ld ./%s\n",
		(unsigned long long)fz->seed, fz->nseq, fuzz_prog);
}

/* Whether @fd is an inet socket of @proto (one of the fuzz's). */
static int is_ours(int fd, int proto)
{
	socklen_t len = sizeof(int);
	int p, d;

	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &p, &len) || p != proto)
		return 0;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &len))
		return 0;
	return d == AF_INET || d == AF_INET6;
}

/*
 * Rows of /proc/net/{estp,tcp}{,6} in a state other than the closing ones
 * (FIN_WAIT1/2, TIME_WAIT, LAST_ACK, CLOSING): their count, printed if
 * @print.
 */
static int proc_open_socks(int proto, int print)
{
	const char * const files[] = { ESTP_PROC_NET(proto), ESTP_PROC_NET6(proto) };
	char line[512];
	unsigned int st;
	int i, n = 0;
	FILE *f;

	for (i = 0; i < 2; i++) {
		f = fopen(files[i], "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, " %*s %*s %*s %x", &st) != 1)
				continue;
			if (st == 4 || st == 5 || st == 6 || st == 9 || st == 11)
				continue;
			n++;
			if (print)
				fprintf(stderr, "# left: %s", line);
		}
		fclose(f);
	}
	return n;
}

/* FIN_WAIT1 (4), FIN_WAIT2 (5), TIME_WAIT (6), LAST_ACK (9), CLOSING (11) */
#define CLOSING_STATES	0xa70u
#define MAX_DUMPED	4096

/*
 * The ids (interface and cookie included) and states of the @proto socks
 * of @family in @states, from a sock_diag dump: how many, or -errno.
 */
static int diag_ids(int proto, int family, uint32_t states, struct inet_diag_sockid *ids,
		    unsigned char *st, int max)
{
	static union {
		struct nlmsghdr nlh;
		char b[32768];
	} buf;
	struct estp_diag_msg msg;
	int fd = estp_diag_start(&msg, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, family, proto, states);
	int n = 0, len, done = 0;
	struct nlmsghdr *nlh;

	if (fd < 0)
		return fd;
	if (send(fd, &msg, sizeof(msg), 0) != (ssize_t)sizeof(msg))
		done = -errno;
	while (!done) {
		len = recv(fd, &buf, sizeof(buf), 0);
		if (len <= 0) {
			done = len ? -errno : -EIO;
			break;
		}
		for (nlh = &buf.nlh; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
			const struct inet_diag_msg *m = NLMSG_DATA(nlh);

			if (nlh->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				done = ((struct nlmsgerr *)NLMSG_DATA(nlh))->error ? : -EIO;
				break;
			}
			if (n < max) {
				ids[n] = m->id;
				st[n++] = m->idiag_state;
			}
		}
	}
	close(fd);
	return done < 0 ? done : n;
}

/*
 * The closing sockets still there (orphans in FIN_WAIT1/2, LAST_ACK,
 * CLOSING, TIME_WAIT): counted, then destroyed with SOCK_DESTROY, so that
 * none holds the module for minutes.  Named as a dump names them, as
 * ss -K does: one bound to a device (SO_BINDTODEVICE) is found only with
 * its interface, and a FIN_WAIT1 orphan probing a zero window that way
 * lives for minutes.  Returns how many were listed.
 */
static int destroy_closing(int proto, const char *name)
{
	static struct inet_diag_sockid ids[MAX_DUMPED];
	static unsigned char st[MAX_DUMPED];
	static const int fams[] = { AF_INET, AF_INET6 };
	unsigned int counts[16] = { 0 }, bound = 0;
	int i, j, n, total = 0, err;

	for (i = 0; i < 2; i++) {
		n = diag_ids(proto, fams[i], CLOSING_STATES, ids, st, MAX_DUMPED);
		if (n < 0) {
			fprintf(stderr, "# %s: sock_diag dump: %s\n", name, strerror(-n));
			continue;
		}
		for (j = 0; j < n; j++) {
			counts[st[j] & 15]++;
			bound += !!ids[j].idiag_if;
			err = estp_sock_destroy_id(proto, fams[i], &ids[j]);
			if (err && err != -ENOENT)
				fprintf(stderr, "# %s: SOCK_DESTROY of state %x (if %u): %s\n",
					name, st[j], ids[j].idiag_if, strerror(-err));
		}
		total += n;
	}
	if (total) {
		fprintf(stderr, "# %s: %d closing sockets left, by state:", name, total);
		for (i = 0; i < 16; i++)
			if (counts[i])
				fprintf(stderr, " %x:%u", i, counts[i]);
		fprintf(stderr, "; %u bound to a device; destroyed\n", bound);
	}
	return total;
}

static void print_file(const char *path, const char *prefix)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!prefix || !strncmp(line, prefix, strlen(prefix)))
			fprintf(stderr, "#   %s: %s", path, line);
	fclose(f);
}

/*
 * What may still hold estp.ko once the fuzz's sockets are gone: this
 * netns's count of ESTP socks (created, not yet destroyed), its hashed
 * socks with their timers, and the live objects of ESTP's slab caches
 * (every netns's: a sock destroyed but never freed shows only there).
 * Booted with slub_debug=U, the kernel also tells where each live object
 * was allocated (debugfs's slab/<cache>/alloc_traces): a sock from
 * socket(), from a listener's handshake, a syncookie or Fast Open.
 */
static void print_holders(void)
{
	static const char * const files[] = { "/sys/kernel/slab/%s/objects",
					      "/sys/kernel/debug/slab/%s/alloc_traces" };
	char path[PATH_MAX];
	size_t i, j;
	glob_t g;

	print_file("/proc/net/protocols", "ESTP");
	print_file("/proc/net/estp", NULL);
	print_file("/proc/net/estp6", NULL);
	if (glob("/sys/kernel/slab/*ESTP*", 0, NULL, &g))
		return;
	for (j = 0; j < ARRAY_SIZE(files); j++)
		for (i = 0; i < g.gl_pathc; i++) {
			snprintf(path, sizeof(path), files[j], strrchr(g.gl_pathv[i], '/') + 1);
			print_file(path, NULL);
		}
	globfree(&g);
}

/* 1 MiB each way through a new connection, compared: 0 or -1. */
static int transfer_check(int proto)
{
	static unsigned char tx[2][XFER_SZ], rx[2][XFER_SZ];
	size_t sent[2] = { 0 }, got[2] = { 0 };
	struct timespec start;
	int l, fd[2], i, ret = -1;
	struct pollfd p[2];

	l = estp_listen_fam(proto, ESTP_FAM4, "127.0.0.1", 0, 4);
	if (l < 0)
		return -1;
	fd[0] = estp_connect_fam(proto, ESTP_FAM4, "127.0.0.1", estp_local_port(l));
	fd[1] = fd[0] >= 0 ? accept(l, NULL, NULL) : -1;
	close(l);
	if (fd[0] < 0 || fd[1] < 0) {
		fprintf(stderr, "# transfer: connect/accept: %s\n", strerror(errno));
		goto out;
	}
	for (i = 0; i < 2; i++) {
		estp_pattern_fill(tx[i], XFER_SZ, 0, 77 + i);
		fcntl(fd[i], F_SETFL, O_NONBLOCK);
		p[i].fd = fd[i];
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((got[0] < XFER_SZ || got[1] < XFER_SZ) && elapsed_ms(&start) < 60000) {
		for (i = 0; i < 2; i++)
			p[i].events = (got[i] < XFER_SZ ? POLLIN : 0) |
				      (sent[i] < XFER_SZ ? POLLOUT : 0);
		if (poll(p, 2, 1000) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (sent[i] < XFER_SZ && (p[i].revents & POLLOUT)) {
				n = send(fd[i], tx[i] + sent[i], XFER_SZ - sent[i], MSG_NOSIGNAL);
				if (n > 0)
					sent[i] += n;
			}
			if (got[i] < XFER_SZ && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
				n = recv(fd[i], rx[i] + got[i], XFER_SZ - got[i], 0);
				if (n > 0) {
					got[i] += n;
				} else if (n == 0 || errno != EAGAIN) {
					fprintf(stderr, "# transfer: recv: %zd %s\n", n,
						strerror(errno));
					goto out;
				}
			}
		}
	}
	/* fd[0] got what fd[1] sent and the other way round. */
	if (got[0] != XFER_SZ || got[1] != XFER_SZ) {
		fprintf(stderr, "# transfer: %zu and %zu bytes of %d\n", got[0], got[1], XFER_SZ);
		goto out;
	}
	if (memcmp(rx[0], tx[1], XFER_SZ) || memcmp(rx[1], tx[0], XFER_SZ)) {
		fprintf(stderr, "# transfer: data differ\n");
		goto out;
	}
	ret = 0;
out:
	if (fd[0] >= 0)
		close(fd[0]);
	if (fd[1] >= 0)
		close(fd[1]);
	return ret;
}

static long env_long(const char *name, long def)
{
	const char *s = getenv(name);

	return s && *s ? strtol(s, NULL, 0) : def;
}

static __u64 fuzz_seed(void)
{
	const char *s = getenv("ESTP_FUZZ_SEED");
	struct timespec ts;

	if (s && *s)
		return strtoull(s, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000003 + ts.tv_nsec / 1000;
}

/*
 * One run of the fuzzer on @proto: 0 when every thread finished, every
 * errno was a sane one, nothing was left open and a transfer works.
 */
static int run_fuzz(struct __test_metadata *_metadata, int proto, long nseq, long secs)
{
	static struct fuzz fzs;
	struct fuzz *fz = &fzs;
	struct sigaction sa = { .sa_handler = no_handler };
	long last[NTHREADS], still[NTHREADS];
	pthread_t sig;
	int i, fd, left = -1, running, failed = 0;
	int refs, now = -1;

	memset(fz, 0, sizeof(*fz));
	fz->proto = proto;
	fz->name = proto == IPPROTO_TCP ? "tcp" : "estp";
	fz->seed = fuzz_seed();
	fz->nseq = nseq;
	fz->secs = secs;
	fz->pagesz = sysconf(_SC_PAGESIZE);
	fprintf(stderr, "# seed %llu (%s, %ld sequences of %d calls per thread, cap %ld s)\n",
		(unsigned long long)fz->seed, fz->name, nseq, SEQ_OPS, secs);
	refs = proto == IPPROTO_ESTP ? estp_module_refs() : -1;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: blocked calls return EINTR */
	signal(SIGPIPE, SIG_IGN);
	fz->guard = mmap(NULL, 2 * fz->pagesz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, fz->guard);
	ASSERT_EQ(0, mprotect(fz->guard + fz->pagesz, fz->pagesz, PROT_NONE));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fz->unixfd));
	for (i = 0; i < NSLOTS; i++)
		atomic_store(&fz->slot[i], -1);

	/* Every descriptor besides the slots' is open before the first call. */
	for (i = 0; i < NTHREADS; i++) {
		struct worker *w = &workers[i];

		memset(w, 0, sizeof(*w));
		w->fz = fz;
		w->idx = i;
		w->buf = mmap(NULL, BUF_SZ, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, w->buf);
		estp_pattern_fill(w->buf, BUF_SZ, 0, i);
		ASSERT_EQ(0, pipe2(w->pipefd, O_NONBLOCK | O_CLOEXEC));
		w->memfd = memfd_create("estp_fuzz", MFD_CLOEXEC);
		ASSERT_LE(0, w->memfd);
		ASSERT_EQ(BUF_SZ, write(w->memfd, w->buf, BUF_SZ));
		set_op(w, "start");
	}
	clock_gettime(CLOCK_MONOTONIC, &fz->start);
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]));
	ASSERT_EQ(0, pthread_create(&sig, NULL, signaller_main, fz));
	atomic_store(&fz->go, 1);

	/* The watchdog: a thread that makes no progress for WATCHDOG_S hangs. */
	for (i = 0; i < NTHREADS; i++) {
		last[i] = -1;
		still[i] = 0;
	}
	do {
		sleep(1);
		running = 0;
		for (i = 0; i < NTHREADS; i++) {
			long p = atomic_load(&workers[i].progress);

			if (atomic_load(&workers[i].done))
				continue;
			running++;
			still[i] = p == last[i] ? still[i] + 1 : 0;
			last[i] = p;
			if (still[i] < WATCHDOG_S)
				continue;
			fprintf(stderr, "# %s: no progress for %d s; seed %llu\n", fz->name,
				WATCHDOG_S, (unsigned long long)fz->seed);
			for (i = 0; i < NTHREADS; i++)
				fprintf(stderr, "#   thread %d seq %ld in %s (%s)\n", i,
					workers[i].seq, (const char *)atomic_load(&workers[i].op),
					atomic_load(&workers[i].done) ? "done" : "running");
			print_replay(fz);
			fflush(stderr);
			_exit(KSFT_FAIL);
		}
	} while (running);
	/* The signaller first: no pthread_kill() of a thread joined already. */
	atomic_store(&fz->stop, 1);
	pthread_join(sig, NULL);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(workers[i].tid, NULL);
	fprintf(stderr, "# %s: %ld calls in %ld ms, %ld bad errnos\n", fz->name,
		atomic_load(&fz->nops), elapsed_ms(&fz->start), atomic_load(&fz->nbad));

	for (i = 0; i < (int)ARRAY_SIZE(ops); i++)
		fprintf(stderr, "#   %-10s %6ld ok %6ld failed\n", ops[i].name,
			atomic_load(&fz->nok[i]), atomic_load(&fz->nerr[i]));

	/* Close everything: the slots, what is in flight, what a race leaked. */
	for (i = 0; i < NSLOTS; i++)
		slot_put(fz, i, -1);
	while (!scm_recv(fz, NULL))
		;
	close(fz->unixfd[0]);
	close(fz->unixfd[1]);
	for (fd = 3; fd < 1024; fd++)
		if (is_ours(fd, proto))
			close(fd);
	for (i = 0; i < NTHREADS; i++) {
		close(workers[i].pipefd[0]);
		close(workers[i].pipefd[1]);
		close(workers[i].memfd);
		munmap(workers[i].buf, BUF_SZ);
	}
	munmap(fz->guard, 2 * fz->pagesz);

	for (i = 0; i < LEFT_WAIT_S * 10; i++) {
		left = proc_open_socks(proto, 0);
		if (!left)
			break;
		usleep(100000);
	}
	if (left) {
		TH_LOG("%s: %d sockets not closing after %d s", fz->name, left, LEFT_WAIT_S);
		proc_open_socks(proto, 1);
		failed = 1;
	}
	destroy_closing(proto, fz->name);
	if (transfer_check(proto)) {
		TH_LOG("%s: 1 MiB each way failed after the fuzz", fz->name);
		failed = 1;
	}
	/*
	 * Every ESTP sock (estp_prot.owner) and socket file (the proto_ops'
	 * owner) holds estp.ko until freed, so all the fuzz made are gone
	 * once its use count is back where it was.  What closes lingers a
	 * retransmission or two, a listener an RCU grace period; a closing
	 * sock still there is destroyed.
	 */
	for (i = 0; refs >= 0 && i < ESTP_RCU_WAIT_MS / 100; i++) {
		now = estp_module_refs();
		if (now <= refs)
			break;
		if (i % 10 == 9)
			destroy_closing(proto, fz->name);
		usleep(100000);
	}
	if (refs >= 0 && now > refs) {
		TH_LOG("%s: estp.ko held after %d s: use count %d, %d before the fuzz",
		       fz->name, ESTP_RCU_WAIT_MS / 1000, now, refs);
		print_holders();
		failed = 1;
	}
	if (atomic_load(&fz->nbad)) {
		TH_LOG("%s: %ld calls failed with an unexpected errno",
		       fz->name, atomic_load(&fz->nbad));
		failed = 1;
	}
	if (failed)
		print_replay(fz);
	return failed ? -1 : 0;
}

FIXTURE(fuzz)
{
	int unused;
};

FIXTURE_SETUP(fuzz)
{
	ASSERT_EQ(0, estp_netns_private()) TH_LOG("netns: %s", strerror(errno));
}

FIXTURE_TEARDOWN(fuzz)
{
}

/* The fuzz on ESTP, against its checks. */
TEST_F_TIMEOUT(fuzz, estp, FUZZ_ESTP_TIMEOUT)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);

	if (fd < 0)
		SKIP(return, "no ESTP: %s", strerror(errno));
	close(fd);
	ASSERT_EQ(0, run_fuzz(_metadata, IPPROTO_ESTP, env_long("ESTP_FUZZ_N", SEQS_DEFAULT),
			      env_long("ESTP_FUZZ_SECS", SECS_DEFAULT)));
}

/* The same sequences on TCP: the checks themselves are sane. */
TEST_F_TIMEOUT(fuzz, tcp, 300)
{
	long n = env_long("ESTP_FUZZ_N", SEQS_DEFAULT) / 4;
	long secs = env_long("ESTP_FUZZ_SECS", SECS_DEFAULT);

	ASSERT_EQ(0, run_fuzz(_metadata, IPPROTO_TCP, n ? n : 1,
			      secs && secs < TCP_SECS ? secs : TCP_SECS));
}

/*
 * Fixed single calls on a TCP and an ESTP socket in the same state: the
 * same return, errno and (for getsockopt) length.
 */
enum { PREP_FRESH, PREP_BOUND, PREP_LISTEN, PREP_CONN, PREP_ACCEPTED, PREP_SHUT, NPREP };
static const char * const st_name[] = { "fresh", "bound", "listen", "connected",
					"accepted", "shut" };

struct cmp_sock {
	int fd;		/* the socket in the state */
	int other[2];	/* its listener and peer, kept open */
};

static void cmp_close(struct cmp_sock *s)
{
	if (s->fd >= 0)
		estp_close_abort(&s->fd);
	if (s->other[0] >= 0)
		estp_close_abort(&s->other[0]);
	if (s->other[1] >= 0)
		estp_close_abort(&s->other[1]);
}

/* A socket of @proto and family @fam in state @st: 0 or -1. */
static int cmp_make(struct cmp_sock *s, int proto, int fam, int st)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l, c, a;

	s->fd = -1;
	s->other[0] = -1;
	s->other[1] = -1;
	if (st == PREP_FRESH || st == PREP_BOUND) {
		s->fd = estp_socket(proto, fam);
		if (s->fd < 0)
			return -1;
		set_timeouts(s->fd);
		len = estp_sockaddr(fam, "127.0.0.1", 0, &ss);
		return st == PREP_BOUND ? bind(s->fd, (struct sockaddr *)&ss, len) : 0;
	}
	l = estp_listen_fam(proto, fam, "127.0.0.1", 0, 8);
	if (l < 0)
		return -1;
	if (st == PREP_LISTEN) {
		s->fd = l;
		set_timeouts(l);
		return 0;
	}
	c = estp_connect_fam(proto, fam, "127.0.0.1", estp_local_port(l));
	a = c >= 0 ? accept(l, NULL, NULL) : -1;
	s->other[0] = l;
	if (c < 0 || a < 0) {
		if (c >= 0)
			close(c);
		return -1;
	}
	set_timeouts(c);
	set_timeouts(a);
	s->fd = st == PREP_ACCEPTED ? a : c;
	s->other[1] = st == PREP_ACCEPTED ? c : a;
	if (st == PREP_SHUT)
		shutdown(c, SHUT_WR);
	return 0;
}

struct cmp_res {
	int ret;
	int err;
	int len;
};

/* The calls: setsockopt/getsockopt, then calls that change the state. */
enum { C_SET, C_GET, C_OTHER };

struct cmp_call {
	int type;
	int level;
	int name;
	int len;	/* -100: NULL optval, -200: NULL optlen */
};

#define NULL_VAL	(-100)
#define NULL_LEN	(-200)

static struct cmp_res cmp_do(const struct cmp_call *k, int fd, int fam, int other_port)
{
	union abuf u;
	unsigned char *buf = u.b;
	struct cmp_res r = { 0, 0, -1 };
	struct sockaddr_storage ss;
	socklen_t len, sl;
	int v;

	memset(buf, 0, sizeof(u.b));
	v = 1;
	memcpy(buf, &v, sizeof(v));
	memcpy(buf + 4, &v, sizeof(v));
	if (k->type == C_SET) {
		if (k->level == SOL_TCP && k->name == TCP_CONGESTION)
			memcpy(buf, "reno", 5);
		r.ret = setsockopt(fd, k->level, k->name, k->len == NULL_VAL ? NULL : buf,
				   k->len == NULL_VAL ? 4 : k->len);
	} else if (k->type == C_GET) {
		len = k->len < 0 ? 4 : k->len;
		r.ret = getsockopt(fd, k->level, k->name, k->len == NULL_VAL ? NULL : buf,
				   k->len == NULL_LEN ? NULL : &len);
		r.len = len;
	} else {
		sl = estp_sockaddr(fam, "127.0.0.1", other_port, &ss);
		switch (k->name) {
		case 0:
			r.ret = listen(fd, 4);
			break;
		case 1:
			r.ret = connect(fd, (struct sockaddr *)&ss, sl);
			break;
		case 2:
			ss.ss_family = AF_UNSPEC;
			r.ret = connect(fd, (struct sockaddr *)&ss, sl);
			break;
		case 3:
			r.ret = connect(fd, (struct sockaddr *)&ss, sl - 1);
			break;
		case 4:
			r.ret = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
			if (r.ret >= 0) {
				close(r.ret);
				r.ret = 0;
			}
			break;
		case 5:
			r.ret = accept4(fd, NULL, NULL, 1);
			break;
		case 6: case 7: case 8: case 9: case 10:
			r.ret = shutdown(fd, k->name == 10 ? -1 : k->name - 6);
			break;
		case 11:
			sl = estp_sockaddr(fam, "127.0.0.1", 0, &ss);
			r.ret = bind(fd, (struct sockaddr *)&ss, sl);
			break;
		case 12:
			r.ret = bind(fd, (struct sockaddr *)&ss, sl - 1);
			break;
		case 13:
			len = sizeof(ss);
			r.ret = getpeername(fd, (struct sockaddr *)&ss, &len);
			break;
		case 14:
			r.ret = send(fd, buf, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			break;
		case 15:
			r.ret = recv(fd, buf, 1, MSG_DONTWAIT);
			break;
		case 16:
			r.ret = recv(fd, buf, 1, MSG_DONTWAIT | MSG_OOB);
			break;
		case 17:
			r.ret = recv(fd, buf, 1, MSG_DONTWAIT | MSG_PEEK);
			break;
		case 18:
			r.ret = ioctl(fd, SIOCINQ, &v);
			break;
		case 19:
			r.ret = ioctl(fd, SIOCOUTQ, &v);
			break;
		case 20:
			r.ret = ioctl(fd, SIOCATMARK, &v);
			break;
		case 21:
			r.ret = ioctl(fd, SIOCOUTQNSD, &v);
			break;
		case 22:
			r.ret = recv(fd, buf, 1, MSG_DONTWAIT | MSG_ERRQUEUE);
			break;
		case 23:
			r.ret = send(fd, buf, 1, MSG_DONTWAIT | MSG_NOSIGNAL | MSG_OOB);
			break;
		case 24:
			r.ret = sendto(fd, buf, 1, MSG_DONTWAIT | MSG_NOSIGNAL | MSG_FASTOPEN,
				       (struct sockaddr *)&ss, sl);
			break;
		}
	}
	if (r.ret < 0) {
		r.err = errno;
		r.ret = -1;
	} else if (k->type == C_OTHER) {
		r.ret = r.ret > 0 ? 1 : 0;	/* bytes moved: the fact, not the count */
	}
	return r;
}

#define NOTHER	25
static const char * const other_name[NOTHER] = {
	"listen", "connect", "connect(AF_UNSPEC)", "connect(short)", "accept4",
	"accept4(bad flags)", "shutdown(RD)", "shutdown(WR)", "shutdown(RDWR)",
	"shutdown(3)", "shutdown(-1)", "bind", "bind(short)", "getpeername",
	"send", "recv", "recv(OOB)", "recv(PEEK)", "SIOCINQ", "SIOCOUTQ",
	"SIOCATMARK", "SIOCOUTQNSD", "recv(ERRQUEUE)", "send(OOB)", "sendto(FASTOPEN)",
};

/*
 * The SOL_TCP options compared: those ESTP implements, and numbers TCP has
 * none for.  Left out, as ESTP does not have them (ENOPROTOOPT, by
 * design): TCP_MD5SIG(_EXT), TCP_THIN_*, TCP_REPAIR*, TCP_QUEUE_SEQ,
 * TCP_TIMESTAMP, TCP_SAVE_SYN, TCP_SAVED_SYN, TCP_ULP, TCP_ZEROCOPY_RECEIVE,
 * TCP_TX_DELAY, TCP_AO_* and the newer ones from 42 on.
 */
static const int cmp_tcp_opts[] = {
	TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
	TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_INFO,
	TCP_QUICKACK, TCP_CONGESTION, TCP_USER_TIMEOUT, TCP_FASTOPEN, TCP_NOTSENT_LOWAT,
	TCP_CC_INFO, TCP_FASTOPEN_CONNECT, TCP_FASTOPEN_KEY, TCP_FASTOPEN_NO_COOKIE,
	TCP_INQ, 0, 15, 100,
};

/*
 * Left out as the core kernel decides them by protocol number, not by
 * anything ESTP does: SO_ZEROCOPY (sock_setsockopt() takes it for TCP and
 * UDP only: EOPNOTSUPP) and IPV6_ADDRFORM (ipv6_{set,get}sockopt() know
 * TCP and UDP only: ENOPROTOOPT).
 */
static const struct optdesc cmp_ip_opts[] = {
	{ SOL_IP, IP_OPTIONS, K_INT }, { SOL_IP, IP_TOS, K_INT },
	{ SOL_IP, IP_MTU, K_INT }, { SOL_IP, IP_ADD_MEMBERSHIP, K_INT },
	{ SOL_IP, IP_TTL, K_INT }, { SOL_IP, IP_RECVERR, K_INT },
	{ SOL_IPV6, IPV6_JOIN_GROUP, K_INT }, { SOL_IPV6, IPV6_MTU, K_INT },
	{ SOL_IPV6, IPV6_V6ONLY, K_INT },
	{ SOL_IPV6, IPV6_TCLASS, K_INT }, { SOL_IPV6, IPV6_HOPOPTS, K_INT },
	{ SOL_SOCKET, SO_ACCEPTCONN, K_INT }, { SOL_SOCKET, SO_ERROR, K_INT },
	{ SOL_SOCKET, SO_PEEK_OFF, K_INT }, { SOL_SOCKET, SO_RCVLOWAT, K_INT },
	{ SOL_SOCKET, SO_PEERNAME, K_INT },
};

static const int set_lens[] = { 0, 1, 3, 4, 8, NULL_VAL };
static const int get_lens[] = { 0, 1, 3, 4, 8, 200, -1, NULL_VAL, NULL_LEN };

static int cmp_calls(struct cmp_call *calls, int max)
{
	int n = 0, i, j;

	for (i = 0; i < (int)(ARRAY_SIZE(cmp_tcp_opts) + ARRAY_SIZE(cmp_ip_opts)); i++) {
		int level = SOL_TCP, name;

		if (i < (int)ARRAY_SIZE(cmp_tcp_opts)) {
			name = cmp_tcp_opts[i];
		} else {
			level = cmp_ip_opts[i - ARRAY_SIZE(cmp_tcp_opts)].level;
			name = cmp_ip_opts[i - ARRAY_SIZE(cmp_tcp_opts)].name;
		}
		for (j = 0; j < (int)ARRAY_SIZE(set_lens) && n < max; j++)
			calls[n++] = (struct cmp_call){ C_SET, level, name, set_lens[j] };
		for (j = 0; j < (int)ARRAY_SIZE(get_lens) && n < max; j++)
			calls[n++] = (struct cmp_call){ C_GET, level, name, get_lens[j] };
	}
	for (i = 0; i < NOTHER && n < max; i++)
		calls[n++] = (struct cmp_call){ C_OTHER, 0, i, 0 };
	return n;
}

static void cmp_desc(const struct cmp_call *k, char *buf, size_t len)
{
	if (k->type == C_OTHER)
		snprintf(buf, len, "%s", other_name[k->name]);
	else
		snprintf(buf, len, "%ssockopt(level %d, opt %d, %s%d)",
			 k->type == C_SET ? "set" : "get", k->level, k->name,
			 k->len == NULL_VAL ? "NULL optval, " :
			 k->len == NULL_LEN ? "NULL optlen, " : "len ",
			 k->len < -1 ? 4 : k->len);
}

/* A mismatch: TCP's and ESTP's results, and the family/state pairs. */
struct cmp_seen {
	struct cmp_res r[2];
	unsigned int where;	/* bit f * NPREP + st */
};

static void cmp_log(struct __test_metadata *_metadata, const struct cmp_call *k,
		    const struct cmp_seen *m)
{
	char d[128], where[256] = "";
	size_t off = 0;
	int b;

	cmp_desc(k, d, sizeof(d));
	for (b = 0; b < 2 * NPREP; b++)
		if (m->where & (1U << b))
			off += snprintf(where + off, sizeof(where) - off, " %s/%s",
					b < NPREP ? "v4" : "v6", st_name[b % NPREP]);
	TH_LOG("mismatch: %s: tcp %d/%s/len %d, estp %d/%s/len %d;%s", d,
	       m->r[0].ret, m->r[0].err ? strerror(m->r[0].err) : "-", m->r[0].len,
	       m->r[1].ret, m->r[1].err ? strerror(m->r[1].err) : "-", m->r[1].len, where);
}

TEST_F_TIMEOUT(fuzz, errno_vs_tcp, 300)
{
	static struct cmp_call calls[1024];
	static struct cmp_seen seen[1024];
	static const int fams[] = { ESTP_FAM4, ESTP_FAM6 };
	int n = cmp_calls(calls, ARRAY_SIZE(calls)), f, st, i, j, mismatches = 0;
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
	int ports[2];

	if (fd < 0)
		SKIP(return, "no ESTP: %s", strerror(errno));
	close(fd);
	signal(SIGPIPE, SIG_IGN);
	for (f = 0; f < (int)ARRAY_SIZE(fams); f++) {
		/* A listener of each protocol for the connect() calls. */
		int lis[2];

		for (j = 0; j < 2; j++) {
			lis[j] = estp_listen_fam(j ? IPPROTO_ESTP : IPPROTO_TCP, fams[f],
						 "127.0.0.1", 0, 512);
			ASSERT_LE(0, lis[j]);
			ASSERT_EQ(0, fcntl(lis[j], F_SETFL, O_NONBLOCK));
			ports[j] = estp_local_port(lis[j]);
		}
		for (st = 0; st < NPREP; st++) {
			struct cmp_sock s[2];
			int fresh = 0;

			for (i = 0; i < n; i++) {
				struct cmp_res r[2];

				/* Calls that may change the state get fresh sockets. */
				if (!fresh) {
					for (j = 0; j < 2; j++)
						ASSERT_EQ(0, cmp_make(&s[j], j ? IPPROTO_ESTP :
								      IPPROTO_TCP, fams[f], st))
							TH_LOG("%s: %s", st_name[st],
							       strerror(errno));
					fresh = 1;
				}
				for (j = 0; j < 2; j++)
					r[j] = cmp_do(&calls[i], s[j].fd, fams[f], ports[j]);
				/*
				 * A failed call leaves the state as it was, an
				 * option set on both leaves them alike.
				 */
				if (calls[i].type == C_OTHER ? r[0].ret >= 0 || r[1].ret >= 0 :
				    calls[i].type == C_SET && r[0].ret != r[1].ret) {
					cmp_close(&s[0]);
					cmp_close(&s[1]);
					fresh = 0;
				}
				/* Drain accepted connections of the shared listeners. */
				for (j = 0; j < 2; j++) {
					int a;

					a = accept4(lis[j], NULL, NULL, SOCK_NONBLOCK);
					while (a >= 0) {
						estp_close_abort(&a);
						a = accept4(lis[j], NULL, NULL, SOCK_NONBLOCK);
					}
				}
				if (r[0].ret == r[1].ret && r[0].err == r[1].err &&
				    r[0].len == r[1].len)
					continue;
				mismatches++;
				/* One line per call and pair of results: where, below. */
				if (seen[i].where && !memcmp(seen[i].r, r, sizeof(r))) {
					seen[i].where |= 1U << (f * NPREP + st);
					continue;
				}
				if (seen[i].where)
					cmp_log(_metadata, &calls[i], &seen[i]);
				memcpy(seen[i].r, r, sizeof(r));
				seen[i].where = 1U << (f * NPREP + st);
			}
			if (fresh) {
				cmp_close(&s[0]);
				cmp_close(&s[1]);
			}
		}
		close(lis[0]);
		close(lis[1]);
	}
	for (i = 0; i < n; i++)
		if (seen[i].where)
			cmp_log(_metadata, &calls[i], &seen[i]);
	TH_LOG("%d calls in %d states, %d families: %d mismatches", n, NPREP,
	       (int)ARRAY_SIZE(fams), mismatches);
	EXPECT_EQ(0, mismatches);
}

int main(int argc, char **argv)
{
	const char *p = strrchr(argv[0], '/');

	fuzz_prog = p ? p + 1 : argv[0];
	return test_harness_run(argc, argv);
}

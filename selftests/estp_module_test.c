// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and unloading estp.ko ($ESTP_KO): protocol numbers that are taken
 * or out of range, load/unload cycles with sockets in between, unload refused
 * while a socket is open, socket() refused once the module is gone.  Every
 * test leaves the module loaded with its defaults, as the runner loaded it.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "estp_lib.h"

FIXTURE(mod)
{
};

/*
 * Loads are slow where these tests run: each reads estp.ko over 9p and
 * relocates it, on KASAN under TCG beside other guests seconds apiece.  The
 * tests that load get a timeout of LOAD_TIMEOUT s instead of the harness's
 * 30; one killed by it cannot reload the module in its teardown, so the
 * next test's setup and the program's end do (module_settle()).
 */
#define LOAD_TIMEOUT	180

/*
 * Brings estp.ko to @want (loaded with its defaults, or out), from whatever
 * the test before left: one killed by its timeout failed already, but its
 * finit_module() or delete_module() may still be running.  Waits while the
 * module is coming or going (its initstate; -EEXIST, -EBUSY or -ENOENT from
 * a call that raced one), then loads or unloads it: 0 or -errno.
 */
static int module_settle(bool want)
{
	int i, ret = -ETIMEDOUT;
	bool in;
	char st[16];

	for (i = 0; i < LOAD_TIMEOUT * 5; i++) {
		in = !estp_sysctl_get("/sys/module/estp/initstate", st, sizeof(st));
		if (in == want && (!in || !strcmp(st, "live")))
			return 0;
		if (!in || !strcmp(st, "live")) {
			ret = want ? estp_load("") : estp_unload();
			if (!ret)
				return 0;
			if (ret != -EEXIST && ret != -EBUSY && ret != -ENOENT)
				return ret;
		}
		usleep(100000);
	}
	return ret;
}

FIXTURE_SETUP(mod)
{
	if (!getenv("ESTP_KO"))
		SKIP(return, "ESTP_KO is not set: run through scripts/vm-run");
	ASSERT_EQ(0, module_settle(false));
	ASSERT_FALSE(estp_module_loaded("estp"));
}

FIXTURE_TEARDOWN(mod)
{
	if (!estp_module_loaded("estp"))
		EXPECT_EQ(0, estp_load(""));
}

/* The runner's programs after this one find the module loaded, as it left it. */
static void __attribute__((destructor)) reload_at_exit(void)
{
	int ret;

	if (!getenv("ESTP_KO"))
		return;
	ret = module_settle(true);
	if (ret)
		fprintf(stderr, "# estp.ko not loaded again: %s\n", strerror(-ret));
}

/* Nothing of ESTP is visible: no module, no protocol, no socket. */
static void assert_unregistered(struct __test_metadata *_metadata)
{
	EXPECT_FALSE(estp_module_loaded("estp"));
	EXPECT_EQ(-1, estp_proto_line("ESTP", NULL, NULL));
	EXPECT_EQ(-1, socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
	/* IPv6's protosw went too: it must not be permanent. */
	EXPECT_EQ(-1, estp_proto_line("ESTPv6", NULL, NULL));
	EXPECT_EQ(-1, socket(AF_INET6, SOCK_STREAM, IPPROTO_ESTP));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
}

TEST_F_TIMEOUT(mod, gone_after_unload, LOAD_TIMEOUT)
{
	assert_unregistered(_metadata);
	/* The raw protocol is the kernel's again: no handler counts it. */
	EXPECT_EQ(-1, estp_stat("InSegs"));
}

TEST_F_TIMEOUT(mod, ipproto_taken, LOAD_TIMEOUT)
{
	static const char * const taken[] = { "ipproto=6", "ipproto=17", "ipproto=1" };
	int i;

	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-EBUSY, estp_load(taken[i])) TH_LOG("%s", taken[i]);
		assert_unregistered(_metadata);
	}
	/* TCP still works after the refused load. */
	i = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	EXPECT_LE(0, i);
	close(i);
}

TEST_F_TIMEOUT(mod, ipproto_out_of_range, LOAD_TIMEOUT)
{
	static const char * const bad[] = { "ipproto=0", "ipproto=255", "ipproto=256",
					    "ipproto=-1", "ipproto=100000" };
	int i;

	for (i = 0; i < 5; i++) {
		EXPECT_EQ(-EINVAL, estp_load(bad[i])) TH_LOG("%s", bad[i]);
		assert_unregistered(_metadata);
	}
}

/* Another free number works, and only that number is ESTP. */
TEST_F_TIMEOUT(mod, ipproto_other_number, LOAD_TIMEOUT)
{
	int fd;

	ASSERT_EQ(0, estp_load("ipproto=252"));
	fd = socket(AF_INET, SOCK_STREAM, 252);
	EXPECT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-1, socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
	ASSERT_EQ(0, estp_unload());
}

static long read_long(const char *path)
{
	char buf[64];

	if (estp_sysctl_get(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

/*
 * The established hash is sized as TCP's: one bucket per 128 KiB of memory
 * by default, or hash_entries (thash_entries) rounded up to a power of two.
 * Its size shows as TCP's does, in the default of max_orphans: half the
 * buckets.
 */
TEST_F_TIMEOUT(mod, hash_entries, LOAD_TIMEOUT)
{
	ASSERT_EQ(0, estp_load(""));
	EXPECT_EQ(read_long("/proc/sys/net/ipv4/tcp_max_orphans"),
		  read_long("/proc/sys/net/estp/max_orphans"));
	ASSERT_EQ(0, estp_unload());
	ASSERT_EQ(0, estp_load("hash_entries=5000"));
	EXPECT_EQ(4096, read_long("/proc/sys/net/estp/max_orphans"));
	ASSERT_EQ(0, estp_unload());
	/* Past 2^19, the default's limit: 2^20 buckets, 16 MiB of them. */
	ASSERT_EQ(0, estp_load("hash_entries=1000000"));
	EXPECT_EQ(1 << 19, read_long("/proc/sys/net/estp/max_orphans"));
	ASSERT_EQ(0, estp_unload());
}

TEST_F_TIMEOUT(mod, unload_refused_while_socket_open, LOAD_TIMEOUT)
{
	long sockets;
	int fd;

	ASSERT_EQ(0, estp_load(""));
	fd = socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EWOULDBLOCK, estp_unload());
	EXPECT_TRUE(estp_module_loaded("estp"));
	ASSERT_EQ(0, estp_proto_line("ESTP", NULL, &sockets));
	EXPECT_EQ(1, sockets);
	close(fd);
	EXPECT_EQ(0, estp_unload());
	assert_unregistered(_metadata);
}

/* Each cycle also waits for RCU grace periods on unload. */
TEST_F_TIMEOUT(mod, load_unload_cycles, LOAD_TIMEOUT)
{
	long sockets;
	int i, j, fd[4];

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, estp_load("")) TH_LOG("cycle %d", i);
		/* Two of each family: IPv6 registers again on every load. */
		for (j = 0; j < 4; j++) {
			fd[j] = socket(j < 2 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_ESTP);
			ASSERT_LE(0, fd[j]) TH_LOG("cycle %d socket %d: %s", i, j, strerror(errno));
		}
		ASSERT_EQ(0, estp_proto_line("ESTP", NULL, &sockets));
		EXPECT_EQ(2, sockets);
		ASSERT_EQ(0, estp_proto_line("ESTPv6", NULL, &sockets));
		EXPECT_EQ(2, sockets);
		for (j = 0; j < 4; j++)
			close(fd[j]);
		ASSERT_EQ(0, estp_proto_line("ESTP", NULL, &sockets));
		EXPECT_EQ(0, sockets);
		ASSERT_EQ(0, estp_proto_line("ESTPv6", NULL, &sockets));
		EXPECT_EQ(0, sockets);
		ASSERT_EQ(0, estp_unload()) TH_LOG("cycle %d", i);
		assert_unregistered(_metadata);
	}
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What chain updates leave under the pin root, against a stand-in core:
 * a failed clear leaves every chain usable; a bank that may still carry
 * packets is never emptied without a grace period; an NF's own maps are
 * its own (pinned under its name, removed with it), maps declared
 * LIBBPF_PIN_BY_NAME are shared by name, and a pin path the caller chose
 * is kept; a leftover pin of an interrupted update does not block a name.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mizar/nf.h>

#include "nf_testcore.h"
#include "pktbuild.h"
#include "testenv.h"

#define HOOK MZR_HOOK_BOUNCER

static struct testcore tc;
static struct pkt frame;

static const char *pin(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tc.host.pin_root, rel);
	return buf[i];
}

static bool exists(const char *rel)
{
	return !access(pin(rel), F_OK);
}

/* Id of the map or program pinned at @rel, 0 when none. */
static __u32 pinned_id(const char *rel)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(pin(rel));

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

static __u32 map_id(struct mzr_nf *nf, const char *name)
{
	struct bpf_object *obj = mzr_nf__bpf_object(nf);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_object__find_map_fd_by_name(obj, name);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

static __u64 pinned_u64(const char *rel)
{
	__u32 zero = 0;
	__u64 v = 0;
	int fd = bpf_obj_get(pin(rel));

	if (fd >= 0) {
		bpf_map_lookup_elem(fd, &zero, &v);
		close(fd);
	}
	return v;
}

/* The NF ids the last packet's chain recorded (nf_append), "-" when the
 * continuation did not run. */
static int run(char *ids, size_t n)
{
	struct mzr_ctx c;
	size_t off = 0;
	int verdict, i;

	testcore_result_clear(&tc);
	verdict = testcore_run(&tc, frame.data, frame.len);
	testcore_result(&tc, &c);
	ids[0] = '\0';
	if (!c.version)
		snprintf(ids, n, "-");
	for (i = 0; c.version && i < c.scratch[0] && i < 15; i++)
		off += snprintf(ids + off, n - off, "%s%u", i ? "," : "",
				c.scratch[1 + i]);
	return verdict;
}

static __u32 cfg(__u32 key)
{
	__u32 v = 0;

	bpf_map_lookup_elem(tc.host.map_fds[MZRI_MAP_CHAIN_CFG], &key, &v);
	return v;
}

static void test_clear_failure(void)
{
	struct mzr_nf *a = nf_open_obj("nf_append_1"), *b = nf_open_obj("nf_append_2");
	int cfg_fd = tc.host.map_fds[MZRI_MAP_CHAIN_CFG];
	char ids[64];
	int err;

	CHECK(!mzr_host__nf_insert(&tc.host, "c1", a, HOOK, MZR_NF_POS_END),
	      "insert c1");
	/* The chain configuration cannot be written: publishing fails. */
	tc.host.map_fds[MZRI_MAP_CHAIN_CFG] = -1;
	err = mzr_host__nf_clear(&tc.host);
	tc.host.map_fds[MZRI_MAP_CHAIN_CFG] = cfg_fd;
	CHECK(err < 0, "a clear that cannot publish fails (%d)", err);
	CHECK(exists("nf/c1"),
	      "after a failed clear, the chain member's program is still "
	      "pinned");
	err = mzr_host__nf_insert(&tc.host, "c2", b, HOOK, MZR_NF_POS_END);
	CHECK(!err, "after a failed clear, the chains can still be updated "
		    "(insert: %d)", err);
	CHECK(run(ids, sizeof(ids)) == XDP_TX && !strcmp(ids, "1,2"),
	      "and run c1 then c2 (ids '%s')", ids);
	CHECK(!mzr_host__nf_clear(&tc.host) && !exists("nf/c1") &&
		      !exists("nf/c2"),
	      "a clear that succeeds unpins every chain member");
	mzr_nf__close(a);
	mzr_nf__close(b);
}

/* Leave no way to wait for an RCU grace period in this process: both
 * membarrier() and BPF map creation (the map-in-map fallback) fail. */
static int deny_grace_periods(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 3),
		/* The command: low word of args[0] (little endian). */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BPF_MAP_CREATE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]),
				   .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return -errno;
	return 0;
}

static void test_grace_period(void)
{
	struct mzr_nf *a = nf_open_obj("nf_append_1"), *b = nf_open_obj("nf_append_2");
	int res[3] = { -1, -1, -1 }, pfd[2], status;
	__u32 bank, stale;
	char ids[64];
	pid_t pid;

	CHECK(!mzr_host__nf_insert(&tc.host, "g1", a, HOOK, MZR_NF_POS_END) &&
		      !mzr_nf__load(b, &tc.host),
	      "insert g1; load g2's program");
	if (pipe(pfd))
		exit(1);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		res[0] = deny_grace_periods();
		if (!res[0]) {
			res[1] = mzr_host__nf_insert(&tc.host, "g2", b, HOOK,
						     MZR_NF_POS_END);
			res[2] = mzr_host__nf_remove(&tc.host, "g2");
		}
		_exit(write(pfd[1], res, sizeof(res)) != sizeof(res));
	}
	close(pfd[1]);
	if (read(pfd[0], res, sizeof(res)) != sizeof(res))
		res[0] = -EIO;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	CHECK(!res[0], "a process without RCU grace periods (seccomp: %d)",
	      res[0]);
	CHECK(!res[1], "inserts g2: the new chain is live although the old "
		       "bank could not be released (%d)", res[1]);
	CHECK(res[2] == -EBUSY,
	      "its next update is refused (-EBUSY, got %d): the old bank may "
	      "still carry packets and cannot be emptied without a grace "
	      "period", res[2]);

	bank = cfg(MZR_CHAIN_CFG_BANK) & 1;
	stale = !bank;
	CHECK(cfg(MZR_CHAIN_CFG_LEN(bank, HOOK)) == 2 &&
		      cfg(MZR_CHAIN_CFG_LEN(stale, HOOK)) == 1,
	      "the live chain is g1,g2; the old bank still holds g1 for "
	      "packets in flight on it");
	CHECK(run(ids, sizeof(ids)) == XDP_TX && !strcmp(ids, "1,2"),
	      "packets run g1,g2 (ids '%s')", ids);

	CHECK(!mzr_host__nf_remove(&tc.host, "g2"),
	      "where grace periods work, the update goes through");
	bank = cfg(MZR_CHAIN_CFG_BANK) & 1;
	CHECK(run(ids, sizeof(ids)) == XDP_TX && !strcmp(ids, "1") &&
		      cfg(MZR_CHAIN_CFG_LEN(!bank, HOOK)) == 0,
	      "the chain is g1 again and the old bank is empty (ids '%s')",
	      ids);
	CHECK(!mzr_host__nf_clear(&tc.host), "clear");
	mzr_nf__close(a);
	mzr_nf__close(b);
}

static void test_maps(void)
{
	struct mzr_nf *s1 = nf_open_obj("nf_state_1"), *s2 = nf_open_obj("nf_state_2");
	struct mzr_nf *s3 = nf_open_obj("nf_state_1");
	struct bpf_map *m;
	char ids[64];
	int err;

	/* s3's caller keeps nf_state where it wants it, as nftool does. */
	mkdir(pin("nfcfg"), 0700);
	mkdir(pin("nfcfg/s3"), 0700);
	m = bpf_object__find_map_by_name(mzr_nf__bpf_object(s3), "nf_state");
	err = m ? bpf_map__set_pin_path(m, pin("nfcfg/s3/nf_state")) : -ENOENT;
	CHECK(!err && !mzr_nf__load(s3, &tc.host),
	      "load an NF whose caller set a pin path for its map");
	CHECK(pinned_id("nfcfg/s3/nf_state") == map_id(s3, "nf_state") &&
		      pinned_id("nfcfg/s3/nf_state") != 0,
	      "the map is pinned where the caller said");

	CHECK(!mzr_host__nf_insert(&tc.host, "st1", s1, HOOK,
				   MZR_NF_POS_END) &&
		      !mzr_host__nf_insert(&tc.host, "st2", s2, HOOK,
					   MZR_NF_POS_END) &&
		      !mzr_host__nf_insert(&tc.host, "st3", s3, HOOK,
					   MZR_NF_POS_END),
	      "insert st1, st2 (two objects with maps of the same names) "
	      "and st3");
	CHECK(pinned_id("nf_maps/st1/nf_state") == map_id(s1, "nf_state") &&
		      pinned_id("nf_maps/st2/nf_state") ==
			      map_id(s2, "nf_state") &&
		      map_id(s1, "nf_state") != map_id(s2, "nf_state") &&
		      map_id(s1, "nf_state"),
	      "each NF's own map is its own, pinned under its name "
	      "(nf_maps/NAME/MAP)");
	CHECK(!exists("nf_maps/nf_state") && !exists("nf_maps/st3"),
	      "nothing is pinned by map name alone, nor a second time for "
	      "a map the caller pinned");
	CHECK(pinned_id("nfcfg/s3/nf_state") == map_id(s3, "nf_state"),
	      "the caller's pin is untouched");
	CHECK(pinned_id("nf_shared/nf_common") == map_id(s1, "nf_common") &&
		      map_id(s1, "nf_common") == map_id(s2, "nf_common") &&
		      map_id(s2, "nf_common") == map_id(s3, "nf_common"),
	      "a map declared LIBBPF_PIN_BY_NAME is one map shared by name "
	      "(nf_shared/MAP)");

	CHECK(run(ids, sizeof(ids)) == XDP_TX &&
		      pinned_u64("nf_maps/st1/nf_state") == 1 &&
		      pinned_u64("nf_maps/st2/nf_state") == 1 &&
		      pinned_u64("nfcfg/s3/nf_state") == 1 &&
		      pinned_u64("nf_shared/nf_common") == 3,
	      "one packet through st1,st2,st3: each counts it once in its "
	      "own map, three times in the shared one");

	CHECK(!mzr_host__nf_remove(&tc.host, "st1") &&
		      !exists("nf_maps/st1") &&
		      pinned_id("nf_maps/st2/nf_state") != 0,
	      "removing st1 unpins its maps, and only its");
	CHECK(exists("nf_shared/nf_common") && exists("nfcfg/s3/nf_state"),
	      "shared maps and the caller's pins stay");
	CHECK(!mzr_host__nf_clear(&tc.host) && !exists("nf_maps/st2"),
	      "clear unpins the maps of every chain member");
	mzr_nf__close(s1);
	mzr_nf__close(s2);
	mzr_nf__close(s3);
}

static void test_leftover_pin(void)
{
	struct mzr_nf *a = nf_open_obj("nf_append_1");
	char ids[64];
	int err;

	/* A pin the registry does not name: what an update killed between
	 * its registry write and its unpin leaves behind. */
	mkdir(pin("nf"), 0700);
	err = mzr_nf__load(a, &tc.host) ?:
		      bpf_obj_pin(mzr_nf__prog_fd(a), pin("nf/left"));
	CHECK(!err, "a leftover pin nf/left (%d)", err);
	err = mzr_host__nf_insert(&tc.host, "left", a, HOOK, MZR_NF_POS_END);
	CHECK(!err && run(ids, sizeof(ids)) == XDP_TX && !strcmp(ids, "1"),
	      "the name can be inserted again (%d, ids '%s')", err, ids);
	CHECK(!mzr_host__nf_clear(&tc.host), "clear");
	mzr_nf__close(a);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	testcore_setup(&tc);
	mzr_set_print(NULL);

	testcore_frame(&frame, "mizar nf state test");
	testcore_knob(&tc, 0, HOOK);

	test_clear_failure();
	test_grace_period();
	test_maps();
	test_leftover_pin();

	return test_report();
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Environment for privileged tests: skip unless root, a private network
 * namespace, a private bpffs, and loading test BPF objects. A skip exits
 * with 77 (ctest SKIP_RETURN_CODE) after printing why; every failure to set
 * up the environment exits 1 with a message (never a silent skip).
 */
#ifndef MZR_TEST_TESTENV_H
#define MZR_TEST_TESTENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>

#include <mizar/common.h>

struct bpf_object;

#define TEST_SKIP 77

/* Failed CHECKs so far. */
extern int test_failures;

/* Print "ok: <what>" or "FAIL (file:line): <what>"; count a failure. */
#define CHECK(cond, ...) test_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
void test_check(bool ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Print "PASS|FAIL: N failure(s)"; returns the exit status for main. */
int test_report(void);

/* Print "SKIP: <reason>" and exit(TEST_SKIP). */
void test_skip(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* Print "<what>: <strerror(|err|)>" and exit 1. */
void test_die_err(const char *what, int err) __attribute__((noreturn));

/* A shell command that must succeed; exits 1 saying which did not. */
void test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The underlay of this host: veth ul0 (192.168.1.1/24, MAC
 * 02:aa:00:00:00:01) to ul1, both up, IPv6 off (no DAD or router
 * solicitations reaching attached programs). The ifindex of ul0.
 */
unsigned int test_underlay(void);

/* A permanent neighbour entry on ul0 for underlay host @ip (192.168.1.N,
 * MAC 02:bb:00:00:00:N). */
void test_underlay_neigh(uint32_t ip);

/* Ifindex of interface @name; exits 1 when there is none. */
unsigned int test_ifindex(const char *name);

/* Host-order IPv4 @ip as a struct in_addr. */
static inline struct in_addr test_in4(uint32_t ip)
{
	return (struct in_addr){ .s_addr = htonl(ip) };
}

/* A libmizar call of a test's set-up that must succeed (@err == 0); exits
 * 1 naming it. Inline: mzr_testlib also builds without libmizar. */
static inline void test_api(int err, const char *what)
{
	char buf[128];

	if (!err)
		return;
	mzr_strerror(err, buf, sizeof(buf));
	fprintf(stderr, "setup failed: %s: %s\n", what, buf);
	exit(1);
}

/* Exit 77 with the reason when not running as root (euid 0). */
void test_require_root(void);

/* Move this process into a new network namespace with lo up. */
void test_private_netns(void);

/* Mount a private bpffs on a fresh directory under /run (mkdtemp) and copy
 * its path to @dir_out (at least 64 bytes). Unmounted and removed at exit. */
void test_bpffs_mount(char *dir_out);

/*
 * Open and load the BPF object at @path and return the fd of its program
 * @prog_name (or of the first program when NULL); *@objp receives the object
 * (close with bpf_object__close). Exits 1 with libbpf's error on failure.
 */
int test_load_prog(const char *path, const char *prog_name,
		   struct bpf_object **objp);

/* Fd of the object pinned at the path @fmt makes; exits 1 when absent. */
int test_pinned_fd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fd of map @name of @obj; exits 1 when absent. */
int test_map_fd(struct bpf_object *obj, const char *name);

#endif

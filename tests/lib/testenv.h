/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Environment for privileged tests: skip unless root, a private network
 * namespace, a private bpffs, and loading test BPF objects. A skip exits
 * with 77 (ctest SKIP_RETURN_CODE) after printing why; every failure to set
 * up the environment exits 1 with a message (never a silent skip).
 */
#ifndef MZR_TEST_TESTENV_H
#define MZR_TEST_TESTENV_H

#include <stddef.h>

struct bpf_object;

#define TEST_SKIP 77

/* Print "SKIP: <reason>" and exit(TEST_SKIP). */
void test_skip(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

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

/* Fd of map @name of @obj; exits 1 when absent. */
int test_map_fd(struct bpf_object *obj, const char *name);

#endif

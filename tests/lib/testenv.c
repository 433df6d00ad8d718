// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Environment for privileged tests; see testenv.h. */
#define _GNU_SOURCE
#include "testenv.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define BPFFS_TEMPLATE "/run/mzr-test-bpffs.XXXXXX"

static char bpffs_dir[64];

int test_failures;

void test_check(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("ok: ");
	} else {
		printf("FAIL (%s:%d): ", file, line);
		test_failures++;
	}
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int test_report(void)
{
	printf("%s: %d failure(s)\n", test_failures ? "FAIL" : "PASS",
	       test_failures);
	return test_failures ? 1 : 0;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
test_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "ERROR: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

void test_die_err(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

void test_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd))
		test_die("setup failed: %s", cmd);
}

unsigned int test_ifindex(const char *name)
{
	unsigned int i = if_nametoindex(name);

	if (!i)
		test_die("no interface %s", name);
	return i;
}

unsigned int test_underlay(void)
{
	test_sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1");
	test_sh("sysctl -qw net.ipv6.conf.default.disable_ipv6=1");
	test_sh("ip link add ul0 type veth peer name ul1");
	test_sh("ip link set ul0 address 02:aa:00:00:00:01");
	test_sh("ip addr add 192.168.1.1/24 dev ul0");
	test_sh("ip link set ul1 up && ip link set ul0 up");
	return test_ifindex("ul0");
}

void test_underlay_neigh(uint32_t ip)
{
	test_sh("ip neigh replace 192.168.1.%u lladdr 02:bb:00:00:00:%02x "
		"dev ul0 nud permanent", ip & 0xff, ip & 0xff);
}

void test_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(TEST_SKIP);
}

void test_require_root(void)
{
	if (geteuid() != 0)
		test_skip("needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN); "
			  "euid is %u",
			  (unsigned int)geteuid());
}

void test_private_netns(void)
{
	struct ifreq ifr = {};
	int fd;

	if (unshare(CLONE_NEWNET))
		test_die("unshare(CLONE_NEWNET): %s", strerror(errno));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		test_die("socket: %s", strerror(errno));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		test_die("SIOCGIFFLAGS lo: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		test_die("SIOCSIFFLAGS lo up: %s", strerror(errno));
	close(fd);
}

static void bpffs_cleanup(void)
{
	if (!bpffs_dir[0])
		return;
	if (umount2(bpffs_dir, MNT_DETACH))
		fprintf(stderr, "umount %s: %s\n", bpffs_dir, strerror(errno));
	else if (rmdir(bpffs_dir))
		fprintf(stderr, "rmdir %s: %s\n", bpffs_dir, strerror(errno));
	bpffs_dir[0] = '\0';
}

static void exit_on_signal(int sig)
{
	/* Run the atexit cleanups when interrupted. */
	exit(128 + sig);
}

void test_bpffs_mount(char *dir_out)
{
	struct sigaction sa = { .sa_handler = exit_on_signal };

	if (bpffs_dir[0])
		test_die("test_bpffs_mount: already mounted at %s", bpffs_dir);
	strcpy(bpffs_dir, BPFFS_TEMPLATE);
	if (!mkdtemp(bpffs_dir))
		test_die("mkdtemp %s: %s", BPFFS_TEMPLATE, strerror(errno));
	if (mount("bpf", bpffs_dir, "bpf", 0, "mode=0700")) {
		int err = errno;

		rmdir(bpffs_dir);
		test_die("mount -t bpf %s: %s", bpffs_dir, strerror(err));
	}
	atexit(bpffs_cleanup);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	strcpy(dir_out, bpffs_dir);
}

int test_load_prog(const char *path, const char *prog_name,
		   struct bpf_object **objp)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	int err, fd;

	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		test_die("open %s: %s", path, strerror(errno));
	err = bpf_object__load(obj);
	if (err)
		test_die("load %s: %s", path, strerror(-err));
	if (prog_name)
		prog = bpf_object__find_program_by_name(obj, prog_name);
	else
		prog = bpf_object__next_program(obj, NULL);
	if (!prog)
		test_die("%s: no program %s", path,
			 prog_name ? prog_name : "at all");
	fd = bpf_program__fd(prog);
	if (fd < 0)
		test_die("%s: program %s has no fd", path,
			 bpf_program__name(prog));
	*objp = obj;
	return fd;
}

int test_pinned_fd(const char *fmt, ...)
{
	char path[256];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	fd = bpf_obj_get(path);
	if (fd < 0)
		test_die("no pin %s: %s", path, strerror(errno));
	return fd;
}

int test_map_fd(struct bpf_object *obj, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(obj, name);

	if (fd < 0)
		test_die("%s: no map %s", bpf_object__name(obj), name);
	return fd;
}

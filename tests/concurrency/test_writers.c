// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Four processes, each with its own handle on one pin root, run 5000 mixed
 * writes each, chosen to conflict: VPC delete against network create,
 * network delete against endpoint create, overlapping prefixes. Every
 * check-then-write runs under the pin root lock, so at any moment a
 * reader holding that lock sees (and afterwards anyone sees): every
 * network's VPC exists, no two networks of a VPC overlap, every endpoint
 * lies in a network of its VPC; and at the end each table holds exactly
 * what the successful creates minus the successful deletes left.
 * A later write can repair a broken invariant, so the parent also checks
 * the state under the lock all along the run, not only at the end.
 * The races a missing lock lets through are short and rare: the run is
 * repeated (MZR_ROUNDS, 3) on the same state to make missing one unlikely,
 * then done once more with threads of one process, each with its own
 * handle (the lock orders a process's threads as well as processes).
 * Environment: MZR_WRITERS (4), MZR_OPS (5000) per writer and round.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <mizar/host.h>

#include "testenv.h"

#define MAX_WRITERS 16
#define N_VNI 2
#define MAX_OBJS 1024

enum { K_VPC, K_NET, K_EP, K__N };

/* Written by the writers (MAP_SHARED), read by the parent. */
struct tally {
	long created[K__N];
	long deleted[K__N];
	long refused;	/* expected refusals (conflicts) */
	long unexpected; /* any other error */
	int first_err;
};

static char root[192];

/*
 * Shared by the writers: the current generation of each VPC slot. Once a
 * VPC is deleted its slot moves to a new VNI, so that what a race left in
 * the old one (a network whose VPC is gone) stays there to be found.
 */
static unsigned int *gens;

static uint32_t slot_vni(unsigned int slot)
{
	return 1 + slot +
	       N_VNI * __atomic_load_n(&gens[slot], __ATOMIC_RELAXED);
}

/* Prefixes that overlap one another in every way. */
static const struct {
	const char *addr;
	unsigned int len;
} prefixes[] = {
	{ "10.0.0.0", 23 },  { "10.0.0.0", 24 },   { "10.0.1.0", 24 },
	{ "10.0.0.0", 25 },  { "10.0.0.128", 25 }, { "10.0.1.0", 25 },
};

/* Host addresses of every prefix above: never a network, broadcast or
 * gateway address. */
static const char *const ips[] = {
	"10.0.0.10", "10.0.0.50",  "10.0.0.100", "10.0.0.140",
	"10.0.0.200", "10.0.1.10", "10.0.1.100", "10.0.1.200",
};

static struct in_addr A(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a;
}

static int quiet(enum mzr_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* Conflicts the library must refuse cleanly. */
static bool expected(int err)
{
	switch (-err) {
	case ENOENT:
	case EEXIST:
	case ENOTEMPTY:
	case EADDRINUSE:
	case EADDRNOTAVAIL:
		return true;
	default:
		return false;
	}
}

static void count(struct tally *t, int err, int kind, bool create)
{
	if (!err) {
		if (create)
			t->created[kind]++;
		else
			t->deleted[kind]++;
	} else if (expected(err)) {
		t->refused++;
	} else {
		if (!t->unexpected++)
			t->first_err = err;
	}
}

/* @ops writes through a handle of its own; 0, or 1 when it cannot open. */
static int writer(int id, int round, int ops, struct tally *t)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = root);
	struct in_addr bouncer = A("192.168.7.1");
	struct mzr_host *h;
	unsigned int seed = 0x9e3779b9u * (id + 1) + 7919 * round;
	int i, r, err;

	h = mzr_host__open_pinned(&o);
	if (!h) {
		t->unexpected++;
		t->first_err = -errno;
		return 1;
	}
	for (i = 0; i < ops; i++) {
		unsigned int slot = rand_r(&seed) % N_VNI;
		uint32_t vni = slot_vni(slot);
		unsigned int p = rand_r(&seed) % (sizeof(prefixes) /
						  sizeof(prefixes[0]));
		struct mzr_ep_spec ep = {
			.vni = vni,
			.ip = A(ips[rand_r(&seed) % (sizeof(ips) /
						      sizeof(ips[0]))]),
			.mac = { 0x02, 0x11, 0, 0, 0, 1 },
			.host = A("192.168.7.2"),
		};

		r = rand_r(&seed) % 100;
		if (r < 8) {
			err = mzr_vpc__create(h, vni, NULL, 0);
			count(t, err, K_VPC, true);
		} else if (r < 38) {
			err = mzr_vpc__delete(h, vni);
			count(t, err, K_VPC, false);
			if (!err)
				__atomic_compare_exchange_n(
					&gens[slot], &(unsigned int){
						(vni - 1 - slot) / N_VNI },
					(vni - 1 - slot) / N_VNI + 1, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED);
		} else if (r < 53) {
			err = mzr_net__create(h, vni, A(prefixes[p].addr),
					      prefixes[p].len, &bouncer, 1,
					      NULL);
			count(t, err, K_NET, true);
		} else if (r < 75) {
			err = mzr_net__delete(h, vni, A(prefixes[p].addr),
					      prefixes[p].len);
			count(t, err, K_NET, false);
		} else if (r < 85) {
			err = mzr_ep__create(h, &ep);
			count(t, err, K_EP, true);
		} else {
			err = mzr_ep__delete(h, vni, ep.ip);
			count(t, err, K_EP, false);
		}
	}
	mzr_host__close(h);
	return 0;
}

/* A writer thread of one process: the lock orders threads too. */
struct thread_arg {
	int id, round, ops;
	struct tally *t;
	int *done;
	int ret;
};

static void *writer_thread(void *p)
{
	struct thread_arg *a = p;

	a->ret = writer(a->id, a->round, a->ops, a->t);
	__atomic_add_fetch(a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- The final state ----------------------------------------------------- */

struct state {
	uint32_t vpcs[MAX_OBJS];
	int n_vpcs;
	struct mzr_net_info nets[MAX_OBJS];
	int n_nets;
	struct mzr_ep_info eps[MAX_OBJS];
	int n_eps;
};

static int vpc_cb(const struct mzr_vpc_info *i, void *ctx)
{
	struct state *s = ctx;

	if (s->n_vpcs < MAX_OBJS)
		s->vpcs[s->n_vpcs] = i->vni;
	s->n_vpcs++;
	return 0;
}

static int net_cb(const struct mzr_net_info *i, void *ctx)
{
	struct state *s = ctx;

	if (s->n_nets < MAX_OBJS)
		s->nets[s->n_nets] = *i;
	s->n_nets++;
	return 0;
}

static int ep_cb(const struct mzr_ep_info *i, void *ctx)
{
	struct state *s = ctx;

	if (s->n_eps < MAX_OBJS)
		s->eps[s->n_eps] = *i;
	s->n_eps++;
	return 0;
}

static bool has_vpc(const struct state *s, uint32_t vni)
{
	int i;

	for (i = 0; i < s->n_vpcs; i++)
		if (s->vpcs[i] == vni)
			return true;
	return false;
}

static uint32_t mask(unsigned int len)
{
	return len ? ~0U << (32 - len) : 0;
}

static bool contains(const struct mzr_net_info *n, struct in_addr ip)
{
	return !((ntohl(ip.s_addr) ^ ntohl(n->prefix.s_addr)) &
		 mask(n->prefixlen));
}

static bool overlap(const struct mzr_net_info *a, const struct mzr_net_info *b)
{
	unsigned int len = a->prefixlen < b->prefixlen ? a->prefixlen :
							 b->prefixlen;

	return !((ntohl(a->prefix.s_addr) ^ ntohl(b->prefix.s_addr)) &
		 mask(len));
}

/* Read the whole state (under the lock, or at rest); the number of
 * broken invariants, each printed when @verbose. */
static int check_state(struct mzr_host *h, struct state *s, bool verbose)
{
	int i, j, bad = 0;

	memset(s, 0, sizeof(*s));
	test_api(mzr_vpc__for_each(h, vpc_cb, s), "vpc for_each");
	test_api(mzr_net__for_each(h, 0, net_cb, s), "net for_each");
	test_api(mzr_ep__for_each(h, 0, ep_cb, s), "ep for_each");
	for (i = 0; i < s->n_nets && i < MAX_OBJS; i++) {
		if (has_vpc(s, s->nets[i].vni))
			continue;
		bad++;
		if (verbose)
			printf("  network %s/%u of missing VPC %u\n",
			       inet_ntoa(s->nets[i].prefix),
			       s->nets[i].prefixlen, s->nets[i].vni);
	}
	for (i = 0; i < s->n_nets && i < MAX_OBJS; i++)
		for (j = i + 1; j < s->n_nets && j < MAX_OBJS; j++) {
			if (s->nets[i].vni != s->nets[j].vni ||
			    !overlap(&s->nets[i], &s->nets[j]))
				continue;
			bad++;
			if (verbose)
				printf("  networks %s/%u and %u overlap\n",
				       inet_ntoa(s->nets[i].prefix),
				       s->nets[i].prefixlen,
				       s->nets[j].prefixlen);
		}
	for (i = 0; i < s->n_eps && i < MAX_OBJS; i++) {
		bool in = false;

		for (j = 0; j < s->n_nets && j < MAX_OBJS; j++)
			if (s->nets[j].vni == s->eps[i].vni &&
			    contains(&s->nets[j], s->eps[i].ip))
				in = true;
		if (in)
			continue;
		bad++;
		if (verbose)
			printf("  endpoint %s of VPC %u outside every "
			       "network\n", inet_ntoa(s->eps[i].ip),
			       s->eps[i].vni);
	}
	return bad;
}

/* Snapshots the parent took under the lock while writers ran. */
struct watch {
	int snaps;
	int bad_snaps;
	int first_bad;
};

/* One round: @writers processes of @ops writes each, while the parent
 * checks the state as a reader holding the lock sees it. */
static void run_round(struct mzr_host *h, int writers, int round, int ops,
		      struct tally *tally, struct watch *w)
{
	static struct state s;
	pid_t pids[MAX_WRITERS];
	int i, st, bad, running;

	for (i = 0; i < writers; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			test_die_err("fork", -errno);
		if (!pids[i])
			_exit(writer(i, round, ops, &tally[i]));
	}
	for (running = writers; running;) {
		test_api(mzr_host__lock(h), "mzr_host__lock");
		bad = check_state(h, &s, false);
		mzr_host__unlock(h);
		w->snaps++;
		if (bad && !w->bad_snaps++)
			w->first_bad = bad;
		sched_yield();
		for (i = 0; i < writers; i++) {
			if (!pids[i] || !waitpid(pids[i], &st, WNOHANG))
				continue;
			CHECK(WIFEXITED(st) && !WEXITSTATUS(st),
			      "round %d: writer %d exited cleanly", round, i);
			pids[i] = 0;
			running--;
		}
	}
}

/* The same with threads of this process, each with its own handle. */
static void run_threads(struct mzr_host *h, int writers, int round, int ops,
			struct tally *tally, struct watch *w)
{
	static struct state s;
	struct thread_arg args[MAX_WRITERS];
	pthread_t th[MAX_WRITERS];
	int i, bad, done = 0;

	for (i = 0; i < writers; i++) {
		args[i] = (struct thread_arg){ i, round, ops, &tally[i], &done,
					       0 };
		if (pthread_create(&th[i], NULL, writer_thread, &args[i]))
			test_die_err("pthread_create", -EAGAIN);
	}
	while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < writers) {
		test_api(mzr_host__lock(h), "mzr_host__lock");
		bad = check_state(h, &s, false);
		mzr_host__unlock(h);
		w->snaps++;
		if (bad && !w->bad_snaps++)
			w->first_bad = bad;
		sched_yield();
	}
	for (i = 0; i < writers; i++) {
		pthread_join(th[i], NULL);
		CHECK(!args[i].ret, "round %d: writer thread %d ran", round, i);
	}
}

int main(void)
{
	MZR_OPTS(mzr_host_opts, o, .pin_root = root, .max_endpoints = 1024);
	int writers = getenv("MZR_WRITERS") ? atoi(getenv("MZR_WRITERS")) : 4;
	int ops = getenv("MZR_OPS") ? atoi(getenv("MZR_OPS")) : 5000;
	int rounds = getenv("MZR_ROUNDS") ? atoi(getenv("MZR_ROUNDS")) : 3;
	long created[K__N] = {}, deleted[K__N] = {}, refused = 0, unexp = 0;
	static const char *const kind[K__N] = { "VPCs", "networks",
						"endpoints" };
	struct mzr_host_info info;
	struct timespec t0, t1;
	struct watch w = {};
	struct tally *tally;
	static struct state s;
	struct mzr_host *h;
	int i, k, bad;
	double secs;

	test_require_root();
	if (writers < 1 || writers > MAX_WRITERS || ops < 1 || rounds < 0) {
		fprintf(stderr, "bad MZR_WRITERS, MZR_OPS or MZR_ROUNDS\n");
		return 1;
	}
	test_bpffs_mount(root);
	strcat(root, "/host");
	mzr_set_print(quiet);
	h = mzr_host__open(&o);
	test_api(h ? 0 : -errno, "mzr_host__open");
	test_api(mzr_host__load(h), "mzr_host__load");

	tally = mmap(NULL, sizeof(*tally) * writers, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	gens = mmap(NULL, sizeof(*gens) * N_VNI, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tally == MAP_FAILED || gens == MAP_FAILED)
		test_die_err("mmap", -errno);
	memset(tally, 0, sizeof(*tally) * writers);
	memset(gens, 0, sizeof(*gens) * N_VNI);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < rounds; i++)
		run_round(h, writers, i, ops, tally, &w);
	run_threads(h, writers, rounds, ops, tally, &w);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (i = 0; i < writers; i++) {
		for (k = 0; k < K__N; k++) {
			created[k] += tally[i].created[k];
			deleted[k] += tally[i].deleted[k];
		}
		refused += tally[i].refused;
		unexp += tally[i].unexpected;
		if (tally[i].unexpected)
			printf("writer %d: first unexpected error: %s\n", i,
			       strerror(-tally[i].first_err));
	}
	printf("%d rounds of %d writer processes and one of %d threads, x %d "
	       "operations each, in %.2f s (%.0f operations/s); %ld refused "
	       "as conflicts\n", rounds, writers, writers, ops, secs,
	       (rounds + 1) * writers * ops / secs, refused);
	for (k = 0; k < K__N; k++)
		printf("  %s: %ld created, %ld deleted\n", kind[k], created[k],
		       deleted[k]);
	CHECK(unexp == 0, "no error other than a refused conflict (%ld)",
	      unexp);
	CHECK(created[K_NET] > 100 && deleted[K_NET] > 100 &&
	      deleted[K_VPC] > 10 && deleted[K_EP] > 100,
	      "the mix exercised every kind of create and delete");

	CHECK(!w.bad_snaps, "during the run, under the lock: every network's "
	      "VPC exists, no two networks of a VPC overlap, every endpoint "
	      "lies in a network of its VPC (%d of %d snapshots broke them, "
	      "the first %d times)", w.bad_snaps, w.snaps, w.first_bad);
	bad = check_state(h, &s, true);
	CHECK(!bad, "afterwards, likewise (%d VPCs, %d networks, %d "
	      "endpoints; %d broken)", s.n_vpcs, s.n_nets, s.n_eps, bad);
	test_api(mzr_host__info(h, &info), "host info");
	CHECK(s.n_vpcs == created[K_VPC] - deleted[K_VPC] &&
	      s.n_nets == created[K_NET] - deleted[K_NET] &&
	      s.n_eps == created[K_EP] - deleted[K_EP],
	      "the tables hold what was created less what was deleted "
	      "(%d VPCs, %d networks, %d endpoints)", s.n_vpcs, s.n_nets,
	      s.n_eps);
	CHECK(info.n_vpcs == (uint32_t)s.n_vpcs &&
	      info.n_networks == (uint32_t)s.n_nets &&
	      info.n_endpoints == (uint32_t)s.n_eps,
	      "host info counts the same");
	mzr_host__reset(h);
	mzr_host__close(h);
	return test_report();
}

/*
 * C reference for the fault-storm benchmark, structured like the kernel selftests' handler
 * (tools/testing/selftests/mm/uffd-common.c): glibc, a source area filled before the run
 * (every 8-byte word of page p holds p), a handler that reads one uffd_msg at a time and
 * resolves it with one UFFDIO_COPY from the same offset of the source area (or one
 * UFFDIO_ZEROPAGE), and faulting threads touching pages and verifying every word.
 *
 * The Rust per-page handler in benches/src/storm.rs is the same program line for line: keep
 * them structurally equivalent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct storm {
	int uffd;
	int zeropage;
	char *area;
	const char *src;
	size_t page_size;
	size_t npages;
	/* Touch order (NULL: sequential); thread t touches order[t], order[t + nthreads], ... */
	const uint32_t *order;
	size_t nthreads;
};

struct toucher {
	const struct storm *s;
	size_t first;
	uint64_t bad;
};

static int open_uffd(void)
{
	/* /dev/userfaultfd first (valgrind 3.19 does not know the syscall), then the syscall. */
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		int fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	return (int)syscall(__NR_userfaultfd, O_CLOEXEC);
}

__attribute__((noinline)) static void *handler(void *arg)
{
	struct storm *s = arg;
	for (size_t done = 0; done < s->npages;) {
		struct uffd_msg msg;
		ssize_t n = read(s->uffd, &msg, sizeof(msg));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT) {
			fprintf(stderr, "c storm: bad read %zd event %d\n", n, n > 0 ? msg.event : -1);
			abort();
		}
		uint64_t addr = msg.arg.pagefault.address & ~(uint64_t)(s->page_size - 1);
		if (s->zeropage) {
			struct uffdio_zeropage z = { .range = { addr, s->page_size } };
			if (ioctl(s->uffd, UFFDIO_ZEROPAGE, &z) && errno != EEXIST)
				abort();
		} else {
			struct uffdio_copy c = {
				.dst = addr,
				.src = (uint64_t)(uintptr_t)s->src + (addr - (uint64_t)(uintptr_t)s->area),
				.len = s->page_size,
			};
			if (ioctl(s->uffd, UFFDIO_COPY, &c) && errno != EEXIST)
				abort();
		}
		done++;
	}
	return NULL;
}

static uint64_t touch(const struct storm *s, size_t first)
{
	uint64_t bad = 0;
	for (size_t i = first; i < s->npages; i += s->nthreads) {
		size_t p = s->order ? s->order[i] : i;
		const uint64_t *words = (const uint64_t *)(s->area + p * s->page_size);
		uint64_t want = s->zeropage ? 0 : p;
		for (size_t w = 0; w < s->page_size / 8; w++)
			bad |= words[w] ^ want;
	}
	return bad;
}

static void *toucher(void *arg)
{
	struct toucher *t = arg;
	t->bad = touch(t->s, t->first);
	return NULL;
}

/*
 * One run over npages: the handler in a thread (fork_handler = 0) or in a forked child (for
 * valgrind, whose big lock deadlocks a handler thread), nthreads faulting threads (the main
 * thread is one of them). Returns the elapsed nanoseconds from starting the handler to the
 * end of the verification, or -1 on failure (including a wrong word).
 */
long long c_run(size_t npages, int zeropage, size_t nthreads, const uint32_t *order, int fork_handler)
{
	if (nthreads < 1 || nthreads > 64)
		return -1;
	struct storm s = { .zeropage = zeropage, .npages = npages, .order = order, .nthreads = nthreads };
	s.page_size = (size_t)sysconf(_SC_PAGESIZE);
	s.uffd = open_uffd();
	if (s.uffd < 0)
		return -1;
	struct uffdio_api api = { .api = UFFD_API };
	if (ioctl(s.uffd, UFFDIO_API, &api))
		return -1;
	size_t len = npages * s.page_size;
	s.area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *src = zeropage ? NULL : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s.area == MAP_FAILED || src == MAP_FAILED)
		return -1;
	if (src) {
		for (size_t p = 0; p < npages; p++) {
			uint64_t *words = (uint64_t *)(src + p * s.page_size);
			for (size_t w = 0; w < s.page_size / 8; w++)
				words[w] = p;
		}
	}
	s.src = src;
	struct uffdio_register reg = { .range = { (uint64_t)(uintptr_t)s.area, len },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (ioctl(s.uffd, UFFDIO_REGISTER, &reg))
		return -1;

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t th;
	pid_t child = -1;
	if (fork_handler) {
		child = fork();
		if (child < 0)
			return -1;
		if (child == 0) {
			handler(&s);
			_exit(0);
		}
	} else if (pthread_create(&th, NULL, handler, &s)) {
		return -1;
	}
	struct toucher t[64];
	pthread_t tt[64];
	for (size_t i = 1; i < nthreads; i++) {
		t[i] = (struct toucher){ .s = &s, .first = i };
		if (pthread_create(&tt[i], NULL, toucher, &t[i]))
			abort();
	}
	uint64_t bad = touch(&s, 0);
	for (size_t i = 1; i < nthreads; i++) {
		pthread_join(tt[i], NULL);
		bad |= t[i].bad;
	}
	int status = 0;
	if (fork_handler) {
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
			bad = 1;
	} else {
		pthread_join(th, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	munmap(s.area, len);
	if (src)
		munmap(src, len);
	close(s.uffd);
	if (bad)
		return -1;
	return (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
}

/* The storm of the issue: one faulting thread (main), sequential, handler thread. */
long long c_storm(size_t npages, int zeropage)
{
	return c_run(npages, zeropage, 1, NULL, 0);
}

/*
 * iters no-op UFFDIO_WAKEs (one registered page, nobody waiting) through glibc's ioctl():
 * the per-ioctl cost of the wrapper, taken as the difference between two iters under
 * callgrind. Returns 0, or -1 on failure.
 */
long long c_wake_loop(size_t iters)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	int fd = open_uffd();
	if (fd < 0)
		return -1;
	struct uffdio_api api = { .api = UFFD_API };
	if (ioctl(fd, UFFDIO_API, &api))
		return -1;
	char *p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	struct uffdio_register reg = { .range = { (uint64_t)(uintptr_t)p, ps },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		return -1;
	long long r = 0;
	for (size_t i = 0; i < iters; i++) {
		struct uffdio_range range = { (uint64_t)(uintptr_t)p, ps };
		if (ioctl(fd, UFFDIO_WAKE, &range))
			r = -1;
	}
	munmap(p, ps);
	close(fd);
	return r;
}

/*
 * The per-page handler of today's VMMs, for the pager benchmark (uffd-bench pager): a thread
 * that polls a non-blocking userfaultfd and a stop pipe, reads one uffd_msg at a time and
 * resolves its page with one UFFDIO_COPY from the same offset of the snapshot file's mapping
 * (Firecracker's example page-fault handler does the same: poll, read one message, copy one
 * page). glibc, -O2. The Rust side registers the region; this is only the serving loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

struct perpage {
	int uffd;
	int stop_fd;
	const char *src;
	uint64_t area;
	size_t page;
	volatile size_t served; /* pages copied (read by the sampler) */
	volatile int ready;     /* set when the loop starts */
	int failed;
	long long cpu_ns;       /* the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) */
	pthread_t thread;
};

static void *perpage_loop(void *arg)
{
	struct perpage *p = arg;
	p->ready = 1;
	for (;;) {
		struct pollfd fds[2] = { { .fd = p->uffd, .events = POLLIN }, { .fd = p->stop_fd, .events = POLLIN } };
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			p->failed = 1;
			break;
		}
		if (fds[1].revents)
			break;
		if (fds[0].revents & POLLERR) {
			p->failed = 1;
			break;
		}
		struct uffd_msg msg;
		ssize_t n = read(p->uffd, &msg, sizeof(msg));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT) {
			p->failed = 1;
			break;
		}
		uint64_t addr = msg.arg.pagefault.address & ~(uint64_t)(p->page - 1);
		struct uffdio_copy c = {
			.dst = addr,
			.src = (uint64_t)(uintptr_t)(p->src + (addr - p->area)),
			.len = p->page,
		};
		if (ioctl(p->uffd, UFFDIO_COPY, &c)) {
			if (errno != EEXIST) {
				p->failed = 1;
				break;
			}
		} else {
			p->served++;
		}
	}
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	p->cpu_ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	return NULL;
}

/* Starts the handler thread; NULL on failure. */
struct perpage *c_perpage_start(int uffd, int stop_fd, const char *src, uint64_t area, size_t page)
{
	struct perpage *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->uffd = uffd;
	p->stop_fd = stop_fd;
	p->src = src;
	p->area = area;
	p->page = page;
	if (pthread_create(&p->thread, NULL, perpage_loop, p)) {
		free(p);
		return NULL;
	}
	return p;
}

int c_perpage_ready(const struct perpage *p) { return p->ready; }
size_t c_perpage_served(const struct perpage *p) { return p->served; }

/* Joins the thread (after the stop pipe was written) and frees it: its CPU time in ns, or -1 if
 * it failed. */
long long c_perpage_join(struct perpage *p)
{
	pthread_join(p->thread, NULL);
	long long r = p->failed ? -1 : p->cpu_ns;
	free(p);
	return r;
}

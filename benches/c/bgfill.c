/*
 * Background-fill handlers in C, for the pager benchmark (uffd-bench pager): ports of the two
 * strongest references of ../shared/reference/restore/restore.c, written for this harness
 * (same algorithms, same parameters: 4 KiB demand copies, 2 MiB chunks):
 *
 *   bg  (threads = 1): one thread. Pending faults first (a non-blocking read of up to 16
 *       messages, one UFFDIO_COPY of the faulting page each); when none is pending, the next
 *       2 MiB chunk not yet copied, one UFFDIO_COPY per run of missing pages. When everything
 *       is copied it only waits for the stop pipe (draining stray messages).
 *   bg2 (threads = 2): a demand thread (poll uffd + stop pipe, read one message, copy its
 *       page) and a filler thread copying the chunks in order, runs of missing pages.
 *
 * A shared atomic bitmap records the pages copied (or found present: EEXIST). A partial copy
 * (EAGAIN with copy > 0: it stopped at a page the other thread copied) counts what it did.
 * glibc, -O2. The Rust side registers the region (MISSING) and writes the stop pipe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_BYTES (2u << 20)
#define BATCH 16

struct bgfill {
	int uffd, stop_fd, go[2];
	const char *src;
	uint64_t area;
	size_t page, npages, chunk_pages;
	int threads;
	_Atomic uint64_t *done;      /* bit per page: copied or present */
	_Atomic size_t copied;       /* pages copied (read by the sampler) */
	_Atomic int ready;           /* threads waiting for go */
	_Atomic int failed;
	_Atomic uint64_t full_ns;    /* CLOCK_MONOTONIC when every page was present, or 0 */
	_Atomic long long cpu_ns;    /* the threads' CPU time, summed */
	pthread_t th[2];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void add_cpu(struct bgfill *b)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	atomic_fetch_add(&b->cpu_ns, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

static int is_done(struct bgfill *b, size_t p)
{
	return (atomic_load_explicit(&b->done[p >> 6], memory_order_relaxed) >> (p & 63)) & 1;
}

static void mark(struct bgfill *b, size_t p, size_t n)
{
	while (n) {
		size_t bit = p & 63, k = 64 - bit < n ? 64 - bit : n;
		uint64_t m = k == 64 ? ~0ull : ((1ull << k) - 1) << bit;
		atomic_fetch_or_explicit(&b->done[p >> 6], m, memory_order_relaxed);
		p += k;
		n -= k;
	}
}

/* UFFDIO_COPY of pages [p, p+n): the pages copied (> 0), 0 when page p is present (EEXIST),
 * -1 on any other error. */
static long copy(struct bgfill *b, size_t p, size_t n)
{
	for (;;) {
		struct uffdio_copy c = {
			.dst = b->area + p * b->page,
			.src = (uint64_t)(uintptr_t)(b->src + p * b->page),
			.len = n * b->page,
		};
		if (ioctl(b->uffd, UFFDIO_COPY, &c) == 0) {
			atomic_fetch_add_explicit(&b->copied, n, memory_order_relaxed);
			return n;
		}
		if (errno == EEXIST)
			return 0;
		if (errno == EAGAIN && c.copy > 0) {
			atomic_fetch_add_explicit(&b->copied, c.copy / b->page, memory_order_relaxed);
			return c.copy / b->page;
		}
		if (errno != EAGAIN) /* EAGAIN with nothing copied: the mapping is changing, retry */
			return -1;
	}
}

/* A demand fault at page p: copy it; if it is already present, wake its thread. */
static int serve(struct bgfill *b, const struct uffd_msg *m)
{
	if (m->event != UFFD_EVENT_PAGEFAULT)
		return -1;
	size_t p = (m->arg.pagefault.address - b->area) / b->page;
	if (p >= b->npages)
		return -1;
	long r = copy(b, p, 1);
	if (r < 0)
		return -1;
	mark(b, p, 1);
	if (r == 0) {
		struct uffdio_range w = { .start = b->area + p * b->page, .len = b->page };
		if (ioctl(b->uffd, UFFDIO_WAKE, &w))
			return -1;
	}
	return 0;
}

/* Every missing page of chunk c, one copy per run of missing pages. */
static int fill_chunk(struct bgfill *b, size_t c)
{
	size_t p = c * b->chunk_pages, end = p + b->chunk_pages;
	if (end > b->npages)
		end = b->npages;
	while (p < end) {
		if (is_done(b, p)) {
			p++;
			continue;
		}
		size_t q = p + 1;
		while (q < end && !is_done(b, q))
			q++;
		long r = copy(b, p, q - p);
		if (r < 0)
			return -1;
		if (r == 0)
			r = 1; /* page p was present */
		mark(b, p, r);
		p += r;
	}
	return 0;
}

/* A non-blocking read of pending messages, each served: 1 if there were any, 0 if none,
 * -1 on error. */
static int drain(struct bgfill *b)
{
	struct uffd_msg msgs[BATCH];
	ssize_t n = read(b->uffd, msgs, sizeof(msgs));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	for (size_t i = 0; i < (size_t)n / sizeof(msgs[0]); i++)
		if (serve(b, &msgs[i]))
			return -1;
	return 1;
}

/* Polls the uffd and the stop pipe: 1 when the uffd is readable, 0 on stop, -1 on error. */
static int wait_uffd(struct bgfill *b)
{
	for (;;) {
		struct pollfd fds[2] = { { .fd = b->uffd, .events = POLLIN }, { .fd = b->stop_fd, .events = POLLIN } };
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (fds[1].revents)
			return 0;
		if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			return -1;
		if (fds[0].revents & POLLIN)
			return 1;
	}
}

static void wait_go(struct bgfill *b)
{
	char x;
	atomic_fetch_add(&b->ready, 1);
	while (read(b->go[0], &x, 1) < 0 && errno == EINTR)
		;
}

static void *fail(struct bgfill *b)
{
	atomic_store(&b->failed, 1);
	add_cpu(b);
	return NULL;
}

/* bg: faults first, otherwise the next chunk; then only the stop pipe. */
static void *bg_thread(void *arg)
{
	struct bgfill *b = arg;
	size_t nchunks = (b->npages + b->chunk_pages - 1) / b->chunk_pages, next = 0;
	wait_go(b);
	while (next < nchunks) {
		int r = drain(b);
		if (r < 0)
			return fail(b);
		if (r == 0 && fill_chunk(b, next++))
			return fail(b);
	}
	atomic_store(&b->full_ns, mono_ns());
	for (int r; (r = wait_uffd(b)) != 0;)
		if (r < 0 || drain(b) < 0)
			return fail(b);
	add_cpu(b);
	return NULL;
}

/* bg2's demand thread: poll, read one message, copy its page. */
static void *demand_thread(void *arg)
{
	struct bgfill *b = arg;
	wait_go(b);
	for (int r; (r = wait_uffd(b)) != 0;) {
		struct uffd_msg m;
		ssize_t n;
		if (r < 0)
			return fail(b);
		n = read(b->uffd, &m, sizeof(m));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n != sizeof(m) || serve(b, &m))
			return fail(b);
	}
	add_cpu(b);
	return NULL;
}

/* bg2's filler: every chunk in order. */
static void *filler_thread(void *arg)
{
	struct bgfill *b = arg;
	size_t nchunks = (b->npages + b->chunk_pages - 1) / b->chunk_pages;
	wait_go(b);
	for (size_t c = 0; c < nchunks; c++)
		if (fill_chunk(b, c))
			return fail(b);
	atomic_store(&b->full_ns, mono_ns());
	add_cpu(b);
	return NULL;
}

/* Starts bg (threads = 1) or bg2 (threads = 2), waiting for c_bg_go; NULL on failure. */
struct bgfill *c_bg_start(int uffd, int stop_fd, const char *src, uint64_t area, size_t len,
			  size_t page, int threads)
{
	struct bgfill *b = calloc(1, sizeof(*b));
	if (!b || (threads != 1 && threads != 2) || len % page || CHUNK_BYTES % page)
		goto out;
	b->uffd = uffd;
	b->stop_fd = stop_fd;
	b->src = src;
	b->area = area;
	b->page = page;
	b->npages = len / page;
	b->chunk_pages = CHUNK_BYTES / page;
	b->threads = threads;
	b->done = calloc((b->npages + 63) / 64, sizeof(uint64_t));
	if (!b->done || pipe(b->go))
		goto out;
	if (threads == 1) {
		if (pthread_create(&b->th[0], NULL, bg_thread, b))
			goto out;
	} else {
		if (pthread_create(&b->th[0], NULL, demand_thread, b))
			goto out;
		if (pthread_create(&b->th[1], NULL, filler_thread, b)) {
			atomic_store(&b->failed, 1);
			b->threads = 1; /* join the demand thread only */
		}
	}
	return b;
out:
	if (b)
		free((void *)b->done);
	free(b);
	return NULL;
}

/* Every thread is waiting for c_bg_go. */
int c_bg_ready(struct bgfill *b) { return atomic_load(&b->ready) == b->threads; }

/* Lets the threads run (the toucher starts now). */
int c_bg_go(struct bgfill *b)
{
	char x[2] = { 1, 1 };
	return write(b->go[1], x, b->threads) == b->threads ? 0 : -1;
}

size_t c_bg_copied(struct bgfill *b) { return atomic_load_explicit(&b->copied, memory_order_relaxed); }

/* CLOCK_MONOTONIC ns (what the Rust side compares c_bg_full_ns with). */
uint64_t c_mono_ns(void) { return mono_ns(); }

/* Joins the threads (after the stop pipe was written; the fill runs to its end) and frees
 * everything: their CPU time in ns, or -1 if one failed; when every page was present
 * (CLOCK_MONOTONIC ns, 0 if never) and the pages copied into *full_ns and *copied. */
long long c_bg_join(struct bgfill *b, uint64_t *full_ns, size_t *copied)
{
	for (int i = 0; i < b->threads; i++)
		pthread_join(b->th[i], NULL);
	*full_ns = atomic_load(&b->full_ns);
	*copied = atomic_load(&b->copied);
	long long r = atomic_load(&b->failed) ? -1 : atomic_load(&b->cpu_ns);
	close(b->go[0]);
	close(b->go[1]);
	free((void *)b->done);
	free(b);
	return r;
}

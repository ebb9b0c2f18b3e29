/*
 * Whole-process reference for the polled handler pattern (cargo xtask bench --callgrind):
 * a non-blocking userfaultfd, a handler in a forked child that polls it beside an exit pipe,
 * reads one uffd_msg, decodes it and resolves the page with UFFDIO_COPY from one source page
 * (or UFFDIO_ZEROPAGE), and a parent that touches one word of each of npages pages. Counted whole (both processes) under callgrind;
 * benches/src/polled.rs is the same program over the crate (and over its bare syscalls).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATTERN 0x5a5a5a5a5a5a5a5aULL

__attribute__((noinline)) static int polled_handler(int uffd, int exit_fd, size_t npages,
						     const char *src, size_t page, int zero)
{
	for (size_t done = 0; done < npages;) {
		struct pollfd pfd[2] = { { .fd = uffd, .events = POLLIN },
					 { .fd = exit_fd, .events = POLLIN } };
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (pfd[0].revents & POLLERR)
			return 1;
		if (pfd[1].revents)
			return 0;
		struct uffd_msg msg;
		ssize_t n = read(uffd, &msg, sizeof(msg));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
			return 1;
		uint64_t dst = msg.arg.pagefault.address & ~(uint64_t)(page - 1);
		int r;
		if (zero) {
			struct uffdio_zeropage z = { .range = { dst, page } };
			r = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
		} else {
			struct uffdio_copy c = { .dst = dst, .src = (uint64_t)(uintptr_t)src, .len = page };
			r = ioctl(uffd, UFFDIO_COPY, &c);
		}
		if (r && errno != EEXIST)
			return 1;
		done++;
	}
	return 0;
}

/* Returns 0, or -1 on failure (including a wrong word). */
long long c_polled(size_t npages, int zero)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int uffd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev < 0)
			return -1;
		uffd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
	}
	struct uffdio_api api = { .api = UFFD_API };
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		return -1;
	size_t len = npages * page;
	char *area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t *src = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || src == MAP_FAILED)
		return -1;
	for (size_t w = 0; w < page / 8; w++)
		src[w] = PATTERN;
	struct uffdio_register reg = { .range = { (uint64_t)(uintptr_t)area, len },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return -1;
	int exit_pipe[2];
	if (pipe2(exit_pipe, O_CLOEXEC))
		return -1;
	pid_t child = fork();
	if (child < 0)
		return -1;
	if (child == 0)
		_exit(polled_handler(uffd, exit_pipe[0], npages, (const char *)src, page, zero));
	uint64_t want = zero ? 0 : PATTERN, bad = 0;
	for (size_t p = 0; p < npages; p++)
		bad |= *(volatile uint64_t *)(area + p * page) ^ want;
	int status = 0;
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		bad = 1;
	munmap(area, len);
	munmap(src, page);
	close(exit_pipe[0]);
	close(exit_pipe[1]);
	close(uffd);
	return bad ? -1 : 0;
}

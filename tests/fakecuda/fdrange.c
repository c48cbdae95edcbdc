/*
 * fdrange.c - host address ranges that are views of a memfd: mapped VMM
 * memory and page-locked host memory (see fakecuda.h).
 *
 * Knowing them lets a large copy between two such ranges move only what
 * was written: the source's holes (SEEK_HOLE) become holes in the
 * destination (FALLOC_FL_PUNCH_HOLE) instead of gigabytes of zeros copied
 * through the CPU. The bytes that arrive are the same; a swap of 8 GiB
 * nobody wrote costs the simulation nothing, as it costs a GPU no host
 * memory bandwidth worth modelling beyond its timeline.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakecuda.h"

struct fdrange {
	uint64_t addr, len;
	int fd;   /* our own duplicate */
	int kind; /* enum fc_fdrange_kind */
	struct fdrange *next;
};

static struct fdrange *ranges;
static pthread_mutex_t ranges_mu = PTHREAD_MUTEX_INITIALIZER;

int fc_fdrange_add(uint64_t addr, uint64_t len, int fd, int kind)
{
	struct fdrange *r = malloc(sizeof(*r));

	if (!r)
		return -1;
	r->fd = dup(fd);
	if (r->fd < 0) {
		free(r);
		return -1;
	}
	r->addr = addr;
	r->len = len;
	r->kind = kind;
	pthread_mutex_lock(&ranges_mu);
	r->next = ranges;
	ranges = r;
	pthread_mutex_unlock(&ranges_mu);
	return 0;
}

int fc_fdrange_remove(uint64_t addr, uint64_t len, int kind, uint64_t *found)
{
	struct fdrange **pp, *r;
	int n = 0;

	pthread_mutex_lock(&ranges_mu);
	for (pp = &ranges; (r = *pp);) {
		if (r->kind == kind && r->addr >= addr &&
		    r->addr - addr < len) {
			*pp = r->next;
			if (found)
				*found = r->len;
			close(r->fd);
			free(r);
			n++;
		} else {
			pp = &r->next;
		}
	}
	pthread_mutex_unlock(&ranges_mu);
	return n;
}

/* The memfd behind [p, p + len) (a duplicate the caller closes) and the
 * offset of p in it; -1 if the range is not inside one view. */
static int fdrange_find(uint64_t p, uint64_t len, off_t *off)
{
	int fd = -1;

	pthread_mutex_lock(&ranges_mu);
	for (struct fdrange *r = ranges; r; r = r->next) {
		if (p >= r->addr && p - r->addr <= r->len &&
		    len <= r->len - (p - r->addr)) {
			fd = dup(r->fd);
			*off = (off_t)(p - r->addr);
			break;
		}
	}
	pthread_mutex_unlock(&ranges_mu);
	return fd;
}

static int inside(const struct fdrange *r, uint64_t p)
{
	return p >= r->addr && p - r->addr < r->len;
}

int fc_fdrange_pinned(const struct fc_xfer *x)
{
	int found = 0;

	pthread_mutex_lock(&ranges_mu);
	for (struct fdrange *r = ranges; r && !found; r = r->next)
		found = r->kind != FC_FDRANGE_VMM &&
		        (inside(r, (uintptr_t)x->src) ||
		         inside(r, (uintptr_t)x->dst));
	pthread_mutex_unlock(&ranges_mu);
	return found;
}

int fc_fdrange_overlaps(uint64_t addr, uint64_t len)
{
	int found = 0;

	pthread_mutex_lock(&ranges_mu);
	for (struct fdrange *r = ranges; r && !found; r = r->next)
		found = r->addr < addr + len && addr < r->addr + r->len;
	pthread_mutex_unlock(&ranges_mu);
	return found;
}

/* pagemap bits: the page is in memory, or in swap. */
#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_SWAPPED (1ull << 62)

int fc_copy_present_pages(int fd, uint64_t addr, uint64_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t entries[512], npages = len / page;
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), rc = 0;

	for (uint64_t i = 0; i < npages && rc == 0;) {
		uint64_t n = npages - i < 512 ? npages - i : 512;
		int known =
		    pm >= 0 &&
		    pread(pm, entries, n * sizeof(entries[0]),
		          (off_t)((addr / page + i) * sizeof(entries[0]))) ==
		        (ssize_t)(n * sizeof(entries[0]));
		for (uint64_t j = 0; j < n && rc == 0; j++) {
			uint64_t off = (i + j) * page;
			/* Without pagemap, every page is copied. */
			if (known &&
			    !(entries[j] & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED)))
				continue;
			if (pwrite(fd, (const void *)(uintptr_t)(addr + off),
			           page, (off_t)off) != (ssize_t)page)
				rc = -1;
		}
		i += n;
	}
	if (pm >= 0)
		close(pm);
	return rc;
}

/* Makes [dst, dst + n), offset doff of dfd, read as zeros. */
static void zero_range(unsigned char *dst, int dfd, off_t doff, size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	off_t a = (doff + (off_t)page - 1) / (off_t)page * (off_t)page;
	off_t b = (doff + (off_t)n) / (off_t)page * (off_t)page;

	if (a >= b || fallocate(dfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	                        a, b - a)) {
		memset(dst, 0, n);
		return;
	}
	memset(dst, 0, (size_t)(a - doff));
	memset(dst + (b - doff), 0, (size_t)(doff + (off_t)n - b));
}

int fc_xfer_sparse(void *dst, const void *src, size_t n)
{
	off_t soff, doff, pos, end, data, hole;
	int sfd, dfd;

	if (n < FC_SPARSE_MIN)
		return 0;
	sfd = fdrange_find((uintptr_t)src, n, &soff);
	if (sfd < 0)
		return 0;
	dfd = fdrange_find((uintptr_t)dst, n, &doff);
	if (dfd < 0) {
		close(sfd);
		return 0;
	}
	for (pos = soff, end = soff + (off_t)n; pos < end; pos = hole) {
		data = lseek(sfd, pos, SEEK_DATA);
		if (data < 0 || data > end)
			data = end; /* ENXIO: only a hole is left */
		if (data > pos)
			zero_range((unsigned char *)dst + (pos - soff), dfd,
			           doff + (pos - soff), (size_t)(data - pos));
		if (data >= end)
			break;
		hole = lseek(sfd, data, SEEK_HOLE);
		if (hole < 0 || hole > end)
			hole = end;
		memmove((unsigned char *)dst + (data - soff),
		        (const unsigned char *)src + (data - soff),
		        (size_t)(hole - data));
	}
	close(sfd);
	close(dfd);
	return 1;
}

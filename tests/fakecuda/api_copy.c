/*
 * api_copy.c - every cuMemcpy* and cuMemset* entry point.
 *
 * They all reduce to one struct fc_op carrying a rectangle of bytes to move
 * or set (struct fc_xfer): the bytes really move (device pointers are host
 * addresses), the time is bytes / copy bandwidth on the stream's timeline,
 * and the synchronous forms wait for it. Device pointers must lie inside an
 * allocation of the calling process (or in mapped VMM memory with the
 * access the copy needs), as on a GPU where anything else faults; host
 * pointers may be anything but reserved VMM memory without that access.
 * 3D copies and arrays are not simulated: CUDA_ERROR_NOT_SUPPORTED.
 */
#include <string.h>

#include "fakecuda.h"

/* CUmemorytype values. */
#define FC_MEMTYPE_HOST 1
#define FC_MEMTYPE_DEVICE 2
#define FC_MEMTYPE_ARRAY 3
#define FC_MEMTYPE_UNIFIED 4

/* The 2D copy descriptor, laid out as NVIDIA documents CUDA_MEMCPY2D
 * (cuda_api.h only declares the tag). */
struct CUDA_MEMCPY2D_st {
	size_t srcXInBytes;    /* source column, bytes */
	size_t srcY;           /* source row */
	int srcMemoryType;     /* CUmemorytype of the source */
	const void *srcHost;   /* source if host memory */
	CUdeviceptr srcDevice; /* source if device or unified memory */
	CUarray srcArray;      /* source if an array (not simulated) */
	size_t srcPitch;       /* source row stride */
	size_t dstXInBytes;    /* destination column, bytes */
	size_t dstY;           /* destination row */
	int dstMemoryType;     /* CUmemorytype of the destination */
	void *dstHost;         /* destination if host memory */
	CUdeviceptr dstDevice; /* destination if device or unified memory */
	CUarray dstArray;      /* destination if an array (not simulated) */
	size_t dstPitch;       /* destination row stride */
	size_t WidthInBytes;   /* bytes per row */
	size_t Height;         /* rows */
};

enum copy_check {
	COPY_CHECK_NONE = 0, /* unified addresses: anything goes */
	COPY_CHECK_DST = 1,  /* destination must be device memory */
	COPY_CHECK_SRC = 2,  /* source must be device memory */
};

/* The bytes a rectangle at p (rows of width bytes, stride pitch) spans;
 * 0 on overflow. */
static uint64_t copy_span(size_t width, size_t height, size_t pitch)
{
	uint64_t span;

	if (__builtin_mul_overflow((uint64_t)(height - 1), pitch, &span) ||
	    __builtin_add_overflow(span, width, &span))
		return 0;
	return span;
}

/* 1 if the rectangle lies inside one allocation of this process (or a run
 * of adjacent VMM mappings granting need). */
static int copy_in_allocation(uint64_t p, uint64_t span, unsigned need)
{
	int idx;

	if (!span)
		return 0;
	fc_state_lock(fc_rt.st);
	idx = fc_mem_lookup(fc_rt.st, fc_rt.slot, p, span, need);
	fc_state_unlock(fc_rt.st);
	return idx >= 0;
}

/* One side of a copy: device memory when check asks for it, else any
 * address that is not reserved-but-inaccessible VMM memory. */
static int copy_side_ok(const void *p, uint64_t span, int checked,
                        unsigned need)
{
	if (checked)
		return copy_in_allocation((uintptr_t)p, span, need);
	return span && fc_vmm_access_ok((uintptr_t)p, span, need);
}

/* Validates and submits a copy or memset described by op->xfer. */
static CUresult copy_submit(struct fc_op *op, int check, CUstream h, int ptsz,
                            int sync)
{
	const struct fc_xfer *x = &op->xfer;
	CUresult r = fc_require_ctx(NULL);

	if (r != CUDA_SUCCESS)
		return r;
	if (!x->width || !x->height)
		return CUDA_SUCCESS;
	if (!x->dst || (!x->elem && !x->src))
		return CUDA_ERROR_INVALID_VALUE;
	if (x->height > 1 &&
	    (x->dpitch < x->width || (!x->elem && x->spitch < x->width)))
		return CUDA_ERROR_INVALID_VALUE;
	if (!copy_side_ok(x->dst, copy_span(x->width, x->height, x->dpitch),
	                  check & COPY_CHECK_DST, FC_NEED_WRITE))
		return CUDA_ERROR_INVALID_VALUE;
	if (!x->elem &&
	    !copy_side_ok(x->src, copy_span(x->width, x->height, x->spitch),
	                  check & COPY_CHECK_SRC, FC_NEED_READ))
		return CUDA_ERROR_INVALID_VALUE;
	op->bytes = (uint64_t)x->width * x->height;
	return fc_submit(h, ptsz, op, sync);
}

static CUresult copy_1d(void *dst, const void *src, size_t n, int check,
                        CUstream h, int ptsz, int sync)
{
	struct fc_op op = {.kind = FC_OP_COPY};

	op.xfer.dst = dst;
	op.xfer.src = src;
	op.xfer.width = n;
	op.xfer.height = 1;
	op.xfer.dpitch = n;
	op.xfer.spitch = n;
	return copy_submit(&op, check, h, ptsz, sync);
}

#define DPTR(p) ((void *)(uintptr_t)(p))

CUresult CUDAAPI cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount)
{
	return copy_1d(DPTR(dst), DPTR(src), ByteCount, 0, NULL, 0, 1);
}

CUresult CUDAAPI cuMemcpy_ptds(CUdeviceptr dst, CUdeviceptr src,
                               size_t ByteCount)
{
	return copy_1d(DPTR(dst), DPTR(src), ByteCount, 0, NULL, 1, 1);
}

CUresult CUDAAPI cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src,
                               size_t ByteCount, CUstream hStream)
{
	return copy_1d(DPTR(dst), DPTR(src), ByteCount, 0, hStream, 0, 0);
}

CUresult CUDAAPI cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src,
                                    size_t ByteCount, CUstream hStream)
{
	return copy_1d(DPTR(dst), DPTR(src), ByteCount, 0, hStream, 1, 0);
}

/* Peer copies: both contexts must be valid; both sides are device memory. */
static CUresult copy_peer(CUdeviceptr dst, CUcontext dctx, CUdeviceptr src,
                          CUcontext sctx, size_t n, CUstream h, int ptsz,
                          int sync)
{
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!fc_ctx_valid((struct fc_ctx *)dctx) ||
	    !fc_ctx_valid((struct fc_ctx *)sctx))
		return CUDA_ERROR_INVALID_CONTEXT;
	return copy_1d(DPTR(dst), DPTR(src), n, COPY_CHECK_DST | COPY_CHECK_SRC,
	               h, ptsz, sync);
}

CUresult CUDAAPI cuMemcpyPeer(CUdeviceptr dstDevice, CUcontext dstContext,
                              CUdeviceptr srcDevice, CUcontext srcContext,
                              size_t ByteCount)
{
	return copy_peer(dstDevice, dstContext, srcDevice, srcContext,
	                 ByteCount, NULL, 0, 1);
}

CUresult CUDAAPI cuMemcpyPeer_ptds(CUdeviceptr dstDevice, CUcontext dstContext,
                                   CUdeviceptr srcDevice, CUcontext srcContext,
                                   size_t ByteCount)
{
	return copy_peer(dstDevice, dstContext, srcDevice, srcContext,
	                 ByteCount, NULL, 1, 1);
}

CUresult CUDAAPI cuMemcpyPeerAsync(CUdeviceptr dstDevice, CUcontext dstContext,
                                   CUdeviceptr srcDevice, CUcontext srcContext,
                                   size_t ByteCount, CUstream hStream)
{
	return copy_peer(dstDevice, dstContext, srcDevice, srcContext,
	                 ByteCount, hStream, 0, 0);
}

CUresult CUDAAPI cuMemcpyPeerAsync_ptsz(CUdeviceptr dstDevice,
                                        CUcontext dstContext,
                                        CUdeviceptr srcDevice,
                                        CUcontext srcContext, size_t ByteCount,
                                        CUstream hStream)
{
	return copy_peer(dstDevice, dstContext, srcDevice, srcContext,
	                 ByteCount, hStream, 1, 0);
}

CUresult CUDAAPI cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost,
                                 size_t ByteCount)
{
	return copy_1d(DPTR(dstDevice), srcHost, ByteCount, COPY_CHECK_DST,
	               NULL, 0, 1);
}

CUresult CUDAAPI cuMemcpyHtoD_v2_ptds(CUdeviceptr dstDevice,
                                      const void *srcHost, size_t ByteCount)
{
	return copy_1d(DPTR(dstDevice), srcHost, ByteCount, COPY_CHECK_DST,
	               NULL, 1, 1);
}

CUresult CUDAAPI cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice,
                                 size_t ByteCount)
{
	return copy_1d(dstHost, DPTR(srcDevice), ByteCount, COPY_CHECK_SRC,
	               NULL, 0, 1);
}

CUresult CUDAAPI cuMemcpyDtoH_v2_ptds(void *dstHost, CUdeviceptr srcDevice,
                                      size_t ByteCount)
{
	return copy_1d(dstHost, DPTR(srcDevice), ByteCount, COPY_CHECK_SRC,
	               NULL, 1, 1);
}

CUresult CUDAAPI cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice,
                                 size_t ByteCount)
{
	return copy_1d(DPTR(dstDevice), DPTR(srcDevice), ByteCount,
	               COPY_CHECK_DST | COPY_CHECK_SRC, NULL, 0, 1);
}

CUresult CUDAAPI cuMemcpyDtoD_v2_ptds(CUdeviceptr dstDevice,
                                      CUdeviceptr srcDevice, size_t ByteCount)
{
	return copy_1d(DPTR(dstDevice), DPTR(srcDevice), ByteCount,
	               COPY_CHECK_DST | COPY_CHECK_SRC, NULL, 1, 1);
}

CUresult CUDAAPI cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice,
                                      const void *srcHost, size_t ByteCount,
                                      CUstream hStream)
{
	FC_FAULT(cuMemcpyHtoDAsync_v2);
	return copy_1d(DPTR(dstDevice), srcHost, ByteCount, COPY_CHECK_DST,
	               hStream, 0, 0);
}

CUresult CUDAAPI cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dstDevice,
                                           const void *srcHost,
                                           size_t ByteCount, CUstream hStream)
{
	return copy_1d(DPTR(dstDevice), srcHost, ByteCount, COPY_CHECK_DST,
	               hStream, 1, 0);
}

CUresult CUDAAPI cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice,
                                      size_t ByteCount, CUstream hStream)
{
	FC_FAULT(cuMemcpyDtoHAsync_v2);
	return copy_1d(dstHost, DPTR(srcDevice), ByteCount, COPY_CHECK_SRC,
	               hStream, 0, 0);
}

CUresult CUDAAPI cuMemcpyDtoHAsync_v2_ptsz(void *dstHost, CUdeviceptr srcDevice,
                                           size_t ByteCount, CUstream hStream)
{
	return copy_1d(dstHost, DPTR(srcDevice), ByteCount, COPY_CHECK_SRC,
	               hStream, 1, 0);
}

CUresult CUDAAPI cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice,
                                      CUdeviceptr srcDevice, size_t ByteCount,
                                      CUstream hStream)
{
	return copy_1d(DPTR(dstDevice), DPTR(srcDevice), ByteCount,
	               COPY_CHECK_DST | COPY_CHECK_SRC, hStream, 0, 0);
}

CUresult CUDAAPI cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr dstDevice,
                                           CUdeviceptr srcDevice,
                                           size_t ByteCount, CUstream hStream)
{
	return copy_1d(DPTR(dstDevice), DPTR(srcDevice), ByteCount,
	               COPY_CHECK_DST | COPY_CHECK_SRC, hStream, 1, 0);
}

/* --- 2D copies ------------------------------------------------------------ */

/* Address of one side of a 2D copy; *check gets its check bit. */
static CUresult copy2d_side(int type, size_t x, size_t y, const void *host,
                            CUdeviceptr dev, size_t pitch, int bit,
                            const void **out, int *check)
{
	uint64_t off;

	if (__builtin_mul_overflow((uint64_t)y, pitch, &off) ||
	    __builtin_add_overflow(off, x, &off))
		return CUDA_ERROR_INVALID_VALUE;
	switch (type) {
	case FC_MEMTYPE_HOST:
		*out = (const unsigned char *)host + off;
		return host ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
	case FC_MEMTYPE_DEVICE:
		*check |= bit;
		/* fall through */
	case FC_MEMTYPE_UNIFIED:
		*out = (const void *)(uintptr_t)(dev + off);
		return dev ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
	case FC_MEMTYPE_ARRAY: return CUDA_ERROR_NOT_SUPPORTED;
	default: return CUDA_ERROR_INVALID_VALUE;
	}
}

static CUresult copy_2d(const CUDA_MEMCPY2D *c, CUstream h, int ptsz, int sync)
{
	struct fc_op op = {.kind = FC_OP_COPY};
	const void *dst = NULL;
	int check = 0;
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!c)
		return CUDA_ERROR_INVALID_VALUE;
	r = copy2d_side(c->srcMemoryType, c->srcXInBytes, c->srcY, c->srcHost,
	                c->srcDevice, c->srcPitch, COPY_CHECK_SRC, &op.xfer.src,
	                &check);
	if (r == CUDA_SUCCESS)
		r = copy2d_side(c->dstMemoryType, c->dstXInBytes, c->dstY,
		                c->dstHost, c->dstDevice, c->dstPitch,
		                COPY_CHECK_DST, &dst, &check);
	if (r != CUDA_SUCCESS)
		return r;
	op.xfer.dst = (void *)(uintptr_t)dst;
	op.xfer.width = c->WidthInBytes;
	op.xfer.height = c->Height;
	op.xfer.dpitch = c->dstPitch;
	op.xfer.spitch = c->srcPitch;
	return copy_submit(&op, check, h, ptsz, sync);
}

CUresult CUDAAPI cuMemcpy2D_v2(const CUDA_MEMCPY2D *pCopy)
{
	return copy_2d(pCopy, NULL, 0, 1);
}

CUresult CUDAAPI cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D *pCopy)
{
	return copy_2d(pCopy, NULL, 1, 1);
}

CUresult CUDAAPI cuMemcpy2DUnaligned_v2(const CUDA_MEMCPY2D *pCopy)
{
	return copy_2d(pCopy, NULL, 0, 1);
}

CUresult CUDAAPI cuMemcpy2DUnaligned_v2_ptds(const CUDA_MEMCPY2D *pCopy)
{
	return copy_2d(pCopy, NULL, 1, 1);
}

CUresult CUDAAPI cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *pCopy,
                                    CUstream hStream)
{
	return copy_2d(pCopy, hStream, 0, 0);
}

CUresult CUDAAPI cuMemcpy2DAsync_v2_ptsz(const CUDA_MEMCPY2D *pCopy,
                                         CUstream hStream)
{
	return copy_2d(pCopy, hStream, 1, 0);
}

/* --- 3D copies: not simulated --------------------------------------------- */

static CUresult copy_3d(const void *desc)
{
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	return desc ? CUDA_ERROR_NOT_SUPPORTED : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuMemcpy3D_v2(const CUDA_MEMCPY3D *pCopy)
{
	return copy_3d(pCopy);
}

CUresult CUDAAPI cuMemcpy3D_v2_ptds(const CUDA_MEMCPY3D *pCopy)
{
	return copy_3d(pCopy);
}

CUresult CUDAAPI cuMemcpy3DAsync_v2(const CUDA_MEMCPY3D *pCopy,
                                    CUstream hStream)
{
	return copy_3d(pCopy);
}

CUresult CUDAAPI cuMemcpy3DAsync_v2_ptsz(const CUDA_MEMCPY3D *pCopy,
                                         CUstream hStream)
{
	return copy_3d(pCopy);
}

CUresult CUDAAPI cuMemcpy3DPeer(const CUDA_MEMCPY3D_PEER *pCopy)
{
	return copy_3d(pCopy);
}

CUresult CUDAAPI cuMemcpy3DPeer_ptds(const CUDA_MEMCPY3D_PEER *pCopy)
{
	return copy_3d(pCopy);
}

CUresult CUDAAPI cuMemcpy3DPeerAsync(const CUDA_MEMCPY3D_PEER *pCopy,
                                     CUstream hStream)
{
	return copy_3d(pCopy);
}

CUresult CUDAAPI cuMemcpy3DPeerAsync_ptsz(const CUDA_MEMCPY3D_PEER *pCopy,
                                          CUstream hStream)
{
	return copy_3d(pCopy);
}

/* --- memsets -------------------------------------------------------------- */

/* Sets height rows of width elements of elem bytes, stride pitch bytes. */
static CUresult memset_2d(CUdeviceptr dst, size_t pitch, uint32_t value,
                          unsigned int elem, size_t width, size_t height,
                          CUstream h, int ptsz, int sync)
{
	struct fc_op op = {.kind = FC_OP_MEMSET};
	size_t row;

	if (__builtin_mul_overflow(width, (size_t)elem, &row))
		return CUDA_ERROR_INVALID_VALUE;
	if (dst % elem || (height > 1 && pitch % elem))
		return fc_ready() ? CUDA_ERROR_INVALID_VALUE
		                  : CUDA_ERROR_NOT_INITIALIZED;
	op.xfer.dst = DPTR(dst);
	op.xfer.width = row;
	op.xfer.height = height;
	op.xfer.dpitch = height > 1 ? pitch : row;
	op.xfer.value = value;
	op.xfer.elem = elem;
	return copy_submit(&op, COPY_CHECK_DST, h, ptsz, sync);
}

CUresult CUDAAPI cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc,
                               size_t N)
{
	return memset_2d(dstDevice, 0, uc, 1, N, 1, NULL, 0, 1);
}

CUresult CUDAAPI cuMemsetD8_v2_ptds(CUdeviceptr dstDevice, unsigned char uc,
                                    size_t N)
{
	return memset_2d(dstDevice, 0, uc, 1, N, 1, NULL, 1, 1);
}

CUresult CUDAAPI cuMemsetD16_v2(CUdeviceptr dstDevice, unsigned short us,
                                size_t N)
{
	return memset_2d(dstDevice, 0, us, 2, N, 1, NULL, 0, 1);
}

CUresult CUDAAPI cuMemsetD16_v2_ptds(CUdeviceptr dstDevice, unsigned short us,
                                     size_t N)
{
	return memset_2d(dstDevice, 0, us, 2, N, 1, NULL, 1, 1);
}

CUresult CUDAAPI cuMemsetD32_v2(CUdeviceptr dstDevice, unsigned int ui,
                                size_t N)
{
	return memset_2d(dstDevice, 0, ui, 4, N, 1, NULL, 0, 1);
}

CUresult CUDAAPI cuMemsetD32_v2_ptds(CUdeviceptr dstDevice, unsigned int ui,
                                     size_t N)
{
	return memset_2d(dstDevice, 0, ui, 4, N, 1, NULL, 1, 1);
}

CUresult CUDAAPI cuMemsetD2D8_v2(CUdeviceptr dstDevice, size_t dstPitch,
                                 unsigned char uc, size_t Width, size_t Height)
{
	return memset_2d(dstDevice, dstPitch, uc, 1, Width, Height, NULL, 0, 1);
}

CUresult CUDAAPI cuMemsetD2D8_v2_ptds(CUdeviceptr dstDevice, size_t dstPitch,
                                      unsigned char uc, size_t Width,
                                      size_t Height)
{
	return memset_2d(dstDevice, dstPitch, uc, 1, Width, Height, NULL, 1, 1);
}

CUresult CUDAAPI cuMemsetD2D16_v2(CUdeviceptr dstDevice, size_t dstPitch,
                                  unsigned short us, size_t Width,
                                  size_t Height)
{
	return memset_2d(dstDevice, dstPitch, us, 2, Width, Height, NULL, 0, 1);
}

CUresult CUDAAPI cuMemsetD2D16_v2_ptds(CUdeviceptr dstDevice, size_t dstPitch,
                                       unsigned short us, size_t Width,
                                       size_t Height)
{
	return memset_2d(dstDevice, dstPitch, us, 2, Width, Height, NULL, 1, 1);
}

CUresult CUDAAPI cuMemsetD2D32_v2(CUdeviceptr dstDevice, size_t dstPitch,
                                  unsigned int ui, size_t Width, size_t Height)
{
	return memset_2d(dstDevice, dstPitch, ui, 4, Width, Height, NULL, 0, 1);
}

CUresult CUDAAPI cuMemsetD2D32_v2_ptds(CUdeviceptr dstDevice, size_t dstPitch,
                                       unsigned int ui, size_t Width,
                                       size_t Height)
{
	return memset_2d(dstDevice, dstPitch, ui, 4, Width, Height, NULL, 1, 1);
}

CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc,
                                 size_t N, CUstream hStream)
{
	return memset_2d(dstDevice, 0, uc, 1, N, 1, hStream, 0, 0);
}

CUresult CUDAAPI cuMemsetD8Async_ptsz(CUdeviceptr dstDevice, unsigned char uc,
                                      size_t N, CUstream hStream)
{
	return memset_2d(dstDevice, 0, uc, 1, N, 1, hStream, 1, 0);
}

CUresult CUDAAPI cuMemsetD16Async(CUdeviceptr dstDevice, unsigned short us,
                                  size_t N, CUstream hStream)
{
	return memset_2d(dstDevice, 0, us, 2, N, 1, hStream, 0, 0);
}

CUresult CUDAAPI cuMemsetD16Async_ptsz(CUdeviceptr dstDevice, unsigned short us,
                                       size_t N, CUstream hStream)
{
	return memset_2d(dstDevice, 0, us, 2, N, 1, hStream, 1, 0);
}

CUresult CUDAAPI cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui,
                                  size_t N, CUstream hStream)
{
	return memset_2d(dstDevice, 0, ui, 4, N, 1, hStream, 0, 0);
}

CUresult CUDAAPI cuMemsetD32Async_ptsz(CUdeviceptr dstDevice, unsigned int ui,
                                       size_t N, CUstream hStream)
{
	return memset_2d(dstDevice, 0, ui, 4, N, 1, hStream, 1, 0);
}

CUresult CUDAAPI cuMemsetD2D8Async(CUdeviceptr dstDevice, size_t dstPitch,
                                   unsigned char uc, size_t Width,
                                   size_t Height, CUstream hStream)
{
	return memset_2d(dstDevice, dstPitch, uc, 1, Width, Height, hStream, 0,
	                 0);
}

CUresult CUDAAPI cuMemsetD2D8Async_ptsz(CUdeviceptr dstDevice, size_t dstPitch,
                                        unsigned char uc, size_t Width,
                                        size_t Height, CUstream hStream)
{
	return memset_2d(dstDevice, dstPitch, uc, 1, Width, Height, hStream, 1,
	                 0);
}

CUresult CUDAAPI cuMemsetD2D16Async(CUdeviceptr dstDevice, size_t dstPitch,
                                    unsigned short us, size_t Width,
                                    size_t Height, CUstream hStream)
{
	return memset_2d(dstDevice, dstPitch, us, 2, Width, Height, hStream, 0,
	                 0);
}

CUresult CUDAAPI cuMemsetD2D16Async_ptsz(CUdeviceptr dstDevice, size_t dstPitch,
                                         unsigned short us, size_t Width,
                                         size_t Height, CUstream hStream)
{
	return memset_2d(dstDevice, dstPitch, us, 2, Width, Height, hStream, 1,
	                 0);
}

CUresult CUDAAPI cuMemsetD2D32Async(CUdeviceptr dstDevice, size_t dstPitch,
                                    unsigned int ui, size_t Width,
                                    size_t Height, CUstream hStream)
{
	return memset_2d(dstDevice, dstPitch, ui, 4, Width, Height, hStream, 0,
	                 0);
}

CUresult CUDAAPI cuMemsetD2D32Async_ptsz(CUdeviceptr dstDevice, size_t dstPitch,
                                         unsigned int ui, size_t Width,
                                         size_t Height, CUstream hStream)
{
	return memset_2d(dstDevice, dstPitch, ui, 4, Width, Height, hStream, 1,
	                 0);
}

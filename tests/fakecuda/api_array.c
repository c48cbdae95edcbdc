/*
 * api_array.c - CUDA arrays and mipmapped arrays: cuArrayCreate_v2,
 * cuArray3DCreate_v2, cuArrayDestroy, cuMipmappedArrayCreate,
 * cuMipmappedArrayDestroy.
 *
 * An array is device memory of the current context's device, charged like
 * cuMemAlloc (CUDA_ERROR_OUT_OF_MEMORY beyond the capacity) until
 * destroyed, and an opaque handle: nothing can be copied into it (copies
 * to arrays are not simulated). Its size, by the rule that
 * docs/testing.md states:
 *
 *   row   = Width x NumChannels x bytes per channel, rounded up to 512
 *   level = row x max(Height, 1) x max(Depth, 1)
 *
 * and a mipmapped array is the sum of its levels, each halving Width,
 * Height and (unless layered) Depth, never below 1. Channels are 1, 2 or
 * 4 of the basic formats (8, 16 or 32 bits); the other formats, sparse
 * and deferred-mapping arrays and video arrays are not simulated
 * (CUDA_ERROR_NOT_SUPPORTED).
 */
#include <stdlib.h>

#include "fakecuda.h"

#define ARRAY_ROW_ALIGN 512u /* row pitch of array memory */
#define ARRAY3D_VIDEO 0x100u /* CUDA_ARRAY3D_VIDEO_ENCODE_DECODE */
#define ARRAY3D_KNOWN_FLAGS 0x1ffu

/* Bytes per channel of a format; 0 for a format not simulated, -1 for
 * one the driver does not know. */
static int array_format_bytes(CUarray_format f)
{
	unsigned v = (unsigned)f;

	switch (v) {
	case CU_AD_FORMAT_UNSIGNED_INT8:
	case CU_AD_FORMAT_SIGNED_INT8: return 1;
	case CU_AD_FORMAT_UNSIGNED_INT16:
	case CU_AD_FORMAT_SIGNED_INT16:
	case CU_AD_FORMAT_HALF: return 2;
	case CU_AD_FORMAT_UNSIGNED_INT32:
	case CU_AD_FORMAT_SIGNED_INT32:
	case CU_AD_FORMAT_FLOAT: return 4;
	default: break;
	}
	/* NV12, normalized, block-compressed and YUV formats of CUDA 13. */
	if (v == 0x50 || (v >= 0x91 && v <= 0x9f) || (v >= 0xa1 && v <= 0xa9) ||
	    (v >= 0xb0 && v <= 0xb5) || (v >= 0xc0 && v <= 0xcb))
		return 0;
	return -1;
}

/* Checks format and channels; *elem gets the bytes of one element. */
static CUresult array_check_element(CUarray_format f, unsigned channels,
                                    uint64_t *elem)
{
	int b = array_format_bytes(f);

	if (b < 0 || (channels != 1 && channels != 2 && channels != 4))
		return CUDA_ERROR_INVALID_VALUE;
	if (b == 0)
		return CUDA_ERROR_NOT_SUPPORTED;
	*elem = (uint64_t)b * channels;
	return CUDA_SUCCESS;
}

/* Bytes of one level; 0 on overflow. */
static uint64_t array_level_bytes(uint64_t w, uint64_t h, uint64_t d,
                                  uint64_t elem)
{
	uint64_t row, bytes;

	if (__builtin_mul_overflow(w, elem, &row) ||
	    __builtin_add_overflow(row, ARRAY_ROW_ALIGN - 1, &row))
		return 0;
	row = row / ARRAY_ROW_ALIGN * ARRAY_ROW_ALIGN;
	if (__builtin_mul_overflow(row, h ? h : 1, &bytes) ||
	    __builtin_mul_overflow(bytes, d ? d : 1, &bytes))
		return 0;
	return bytes;
}

static uint64_t array_half(uint64_t x)
{
	return x > 1 ? x / 2 : x;
}

/* Levels a mipmapped array of these extents may have (1 + log2 of the
 * largest extent that shrinks). */
static unsigned array_max_levels(const CUDA_ARRAY3D_DESCRIPTOR *d)
{
	uint64_t big = d->Width;
	unsigned n = 1;

	if (d->Height > big)
		big = d->Height;
	if (!(d->Flags & CUDA_ARRAY3D_LAYERED) && d->Depth > big)
		big = d->Depth;
	while (big > 1) {
		big /= 2;
		n++;
	}
	return n;
}

/* Checks a 3D descriptor and computes the bytes of levels levels. */
static CUresult array3d_bytes(const CUDA_ARRAY3D_DESCRIPTOR *d, unsigned levels,
                              uint64_t *bytes)
{
	int layered;
	uint64_t elem, w, h, dp, b;
	CUresult r;

	if (!d || !d->Width || (d->Flags & ~ARRAY3D_KNOWN_FLAGS))
		return CUDA_ERROR_INVALID_VALUE;
	r = array_check_element(d->Format, d->NumChannels, &elem);
	if (r != CUDA_SUCCESS)
		return r;
	if (d->Flags & (CUDA_ARRAY3D_SPARSE | CUDA_ARRAY3D_DEFERRED_MAPPING |
	                ARRAY3D_VIDEO))
		return CUDA_ERROR_NOT_SUPPORTED;
	layered = (d->Flags & CUDA_ARRAY3D_LAYERED) != 0;
	if (layered ? !d->Depth : (!d->Height && d->Depth))
		return CUDA_ERROR_INVALID_VALUE;
	if ((d->Flags & CUDA_ARRAY3D_CUBEMAP) &&
	    (d->Width != d->Height || (layered ? d->Depth % 6 : d->Depth != 6)))
		return CUDA_ERROR_INVALID_VALUE;
	if (!levels || levels > array_max_levels(d))
		return CUDA_ERROR_INVALID_VALUE;
	*bytes = 0;
	w = d->Width;
	h = d->Height;
	dp = d->Depth;
	for (unsigned l = 0; l < levels; l++) {
		b = array_level_bytes(w, h, dp, elem);
		if (!b || __builtin_add_overflow(*bytes, b, bytes))
			return CUDA_ERROR_OUT_OF_MEMORY;
		w = array_half(w);
		h = array_half(h);
		if (!layered)
			dp = array_half(dp);
	}
	return CUDA_SUCCESS;
}

/* Records an array of the caller (state locked). */
static enum fc_mem_result array_add(struct fc_state *st, int64_t now,
                                    struct fc_move *m, void *arg)
{
	const struct fc_array *a = arg;

	return fc_mem_add_array(st, fc_rt.slot, a->dev, (uintptr_t)a, a->bytes,
	                        now, m);
}

/* Makes and charges an array of bytes on the current device. */
static CUresult array_make(uint64_t bytes, int mipmapped, struct fc_array **out)
{
	struct fc_ctx *ctx;
	struct fc_array *a;
	enum fc_mem_result res;
	CUresult r = fc_require_ctx(&ctx);

	if (r != CUDA_SUCCESS)
		return r;
	if (bytes > fc_rt.cfg.dev[ctx->dev].capacity)
		return CUDA_ERROR_OUT_OF_MEMORY;
	a = calloc(1, sizeof(*a));
	if (!a)
		return CUDA_ERROR_OUT_OF_MEMORY;
	a->mipmapped = mipmapped;
	a->dev = ctx->dev;
	a->bytes = bytes;
	pthread_mutex_lock(&fc_rt.lock);
	res = fc_mem_record(a->dev, array_add, a);
	if (res == FC_MEM_OK) {
		a->next = fc_rt.arrays;
		fc_rt.arrays = a;
	}
	pthread_mutex_unlock(&fc_rt.lock);
	if (res != FC_MEM_OK) {
		free(a);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	*out = a;
	return CUDA_SUCCESS;
}

static CUresult array_destroy(const void *h, int mipmapped)
{
	struct fc_array **pp, *a = NULL;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	pthread_mutex_lock(&fc_rt.lock);
	for (pp = &fc_rt.arrays; *pp; pp = &(*pp)->next) {
		if ((const void *)*pp == h && (*pp)->mipmapped == mipmapped) {
			a = *pp;
			*pp = a->next;
			break;
		}
	}
	if (a) {
		fc_state_lock(fc_rt.st);
		fc_mem_remove_handle(fc_rt.st, fc_rt.slot, FC_ALLOC_ARRAY,
		                     (uintptr_t)a);
		fc_state_unlock(fc_rt.st);
	}
	pthread_mutex_unlock(&fc_rt.lock);
	free(a);
	return a ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

CUresult CUDAAPI cuArrayCreate_v2(CUarray *pHandle,
                                  const CUDA_ARRAY_DESCRIPTOR *pAllocateArray)
{
	const CUDA_ARRAY_DESCRIPTOR *d = pAllocateArray;
	struct fc_array *a;
	uint64_t elem, bytes;
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pHandle || !d || !d->Width)
		return CUDA_ERROR_INVALID_VALUE;
	r = array_check_element(d->Format, d->NumChannels, &elem);
	if (r != CUDA_SUCCESS)
		return r;
	bytes = array_level_bytes(d->Width, d->Height, 1, elem);
	if (!bytes)
		return CUDA_ERROR_OUT_OF_MEMORY;
	r = array_make(bytes, 0, &a);
	if (r == CUDA_SUCCESS)
		*pHandle = (CUarray)a;
	return r;
}

CUresult CUDAAPI cuArray3DCreate_v2(
    CUarray *pHandle, const CUDA_ARRAY3D_DESCRIPTOR *pAllocateArray)
{
	struct fc_array *a;
	uint64_t bytes;
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pHandle)
		return CUDA_ERROR_INVALID_VALUE;
	r = array3d_bytes(pAllocateArray, 1, &bytes);
	if (r == CUDA_SUCCESS)
		r = array_make(bytes, 0, &a);
	if (r == CUDA_SUCCESS)
		*pHandle = (CUarray)a;
	return r;
}

CUresult CUDAAPI cuArrayDestroy(CUarray hArray)
{
	return array_destroy(hArray, 0);
}

CUresult CUDAAPI
cuMipmappedArrayCreate(CUmipmappedArray *pHandle,
                       const CUDA_ARRAY3D_DESCRIPTOR *pMipmappedArrayDesc,
                       unsigned int numMipmapLevels)
{
	struct fc_array *a;
	uint64_t bytes;
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pHandle)
		return CUDA_ERROR_INVALID_VALUE;
	r = array3d_bytes(pMipmappedArrayDesc, numMipmapLevels, &bytes);
	if (r == CUDA_SUCCESS)
		r = array_make(bytes, 1, &a);
	if (r == CUDA_SUCCESS)
		*pHandle = (CUmipmappedArray)a;
	return r;
}

CUresult CUDAAPI cuMipmappedArrayDestroy(CUmipmappedArray hMipmappedArray)
{
	return array_destroy(hMipmappedArray, 1);
}

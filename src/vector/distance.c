/*-------------------------------------------------------------------------
 *
 * distance.c
 *	  Vector distance kernels with run-time dispatch.
 *
 * Every function comes in two kernels: a portable scalar one and, on
 * x86-64, an AVX2+FMA one compiled with a target attribute, so that the
 * extension itself is built for the baseline ISA.  The kernel is chosen
 * once, on first use, from what the CPU (and the OS, which must save the
 * AVX state) supports.
 *
 * The scalar kernels keep eight independent partial sums, which both hides
 * the latency of the additions and lets gcc -O2 (whose cheap vectoriser
 * does not reorder a single float sum) turn the loop body into SSE
 * instructions.  The AVX2 kernels keep several 8-lane accumulators for the
 * same reason.  The batch kernels take one vector after the other: on the
 * development machine (AMD EPYC, Zen 4) computing four vectors at a time,
 * to share the loads of the query, was barely faster on cached data and
 * half as fast on data streamed from memory, whose interleaved access
 * defeats the hardware prefetcher.  Tails (dim not a multiple of 8) are
 * done with masked loads, which read no byte past the end.
 *
 * Results differ between kernels, and from a plain left-to-right sum, by
 * rounding only: the partial sums are added in a different order.
 *
 * Nothing here allocates or reports errors (test/bench/distance_bench.c
 * compiles this file without a server).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "vector/distance.h"

/* Partial sums kept by the scalar kernels. */
#define SCALAR_LANES	8

/* Add up the scalar kernels' partial sums pairwise. */
static inline float
SumLanes(const float *acc)
{
	return ((acc[0] + acc[4]) + (acc[1] + acc[5])) +
		((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* Squared Euclidean distance, portable C. */
static float
L2SquaredScalar(const float *a, const float *b, int dim)
{
	float		acc[SCALAR_LANES] = {0};
	int			i = 0;

	for (; i + SCALAR_LANES <= dim; i += SCALAR_LANES)
	{
		for (int j = 0; j < SCALAR_LANES; j++)
		{
			float		d = a[i + j] - b[i + j];

			acc[j] += d * d;
		}
	}
	for (; i < dim; i++)
	{
		float		d = a[i] - b[i];

		acc[i % SCALAR_LANES] += d * d;
	}
	return SumLanes(acc);
}

/* Inner product, portable C. */
static float
InnerProductScalar(const float *a, const float *b, int dim)
{
	float		acc[SCALAR_LANES] = {0};
	int			i = 0;

	for (; i + SCALAR_LANES <= dim; i += SCALAR_LANES)
	{
		for (int j = 0; j < SCALAR_LANES; j++)
			acc[j] += a[i + j] * b[i + j];
	}
	for (; i < dim; i++)
		acc[i % SCALAR_LANES] += a[i] * b[i];
	return SumLanes(acc);
}

/*
 * Turn inner products in out[0..n-1] into the distances of metric IP or
 * COSINE, so that smaller is nearer.
 */
static void
InnerProductsToDistances(SsMetric metric, float *out, int64 n)
{
	float		bias = metric == SS_METRIC_COSINE ? 1.0f : 0.0f;

	for (int64 i = 0; i < n; i++)
		out[i] = bias - out[i];
}

/* SsDistanceBatch with the portable kernels. */
static void
BatchScalar(SsMetric metric, const float *q, const float *vectors,
			 int64 n, int dim, float *out)
{
	if (metric == SS_METRIC_L2)
	{
		for (int64 i = 0; i < n; i++)
			out[i] = L2SquaredScalar(q, vectors + i * dim, dim);
		return;
	}
	for (int64 i = 0; i < n; i++)
		out[i] = InnerProductScalar(q, vectors + i * dim, dim);
	InnerProductsToDistances(metric, out, n);
}

#if defined(__x86_64__)

#define AVX2_TARGET __attribute__((target("avx2,fma")))

/* Eight all-ones lanes then eight zero lanes: windows give tail masks. */
static const int32 tail_mask_table[16] = {
	-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0
};

/* Mask selecting the first r lanes (1 <= r <= 7) for a masked load. */
AVX2_TARGET static inline __m256i
TailMask(int r)
{
	return _mm256_loadu_si256((const __m256i *) (tail_mask_table + 8 - r));
}

/* Sum of the eight lanes of v. */
AVX2_TARGET static inline float
HorizontalSum(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v),
							   _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* Squared Euclidean distance, AVX2+FMA. */
AVX2_TARGET static float
L2SquaredAvx2(const float *a, const float *b, int dim)
{
	__m256		acc0 = _mm256_setzero_ps();
	__m256		acc1 = _mm256_setzero_ps();
	__m256		acc2 = _mm256_setzero_ps();
	__m256		acc3 = _mm256_setzero_ps();
	__m256		d;
	int			i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		acc0 = _mm256_fmadd_ps(d, d, acc0);
		d = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8),
						  _mm256_loadu_ps(b + i + 8));
		acc1 = _mm256_fmadd_ps(d, d, acc1);
		d = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16),
						  _mm256_loadu_ps(b + i + 16));
		acc2 = _mm256_fmadd_ps(d, d, acc2);
		d = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24),
						  _mm256_loadu_ps(b + i + 24));
		acc3 = _mm256_fmadd_ps(d, d, acc3);
	}
	for (; i + 8 <= dim; i += 8)
	{
		d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		acc0 = _mm256_fmadd_ps(d, d, acc0);
	}
	if (i < dim)
	{
		__m256i		mask = TailMask(dim - i);

		d = _mm256_sub_ps(_mm256_maskload_ps(a + i, mask),
						  _mm256_maskload_ps(b + i, mask));
		acc1 = _mm256_fmadd_ps(d, d, acc1);
	}
	return HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1),
							  _mm256_add_ps(acc2, acc3)));
}

/* Inner product, AVX2+FMA. */
AVX2_TARGET static float
InnerProductAvx2(const float *a, const float *b, int dim)
{
	__m256		acc0 = _mm256_setzero_ps();
	__m256		acc1 = _mm256_setzero_ps();
	__m256		acc2 = _mm256_setzero_ps();
	__m256		acc3 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i),
							   _mm256_loadu_ps(b + i), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8),
							   _mm256_loadu_ps(b + i + 8), acc1);
		acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16),
							   _mm256_loadu_ps(b + i + 16), acc2);
		acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24),
							   _mm256_loadu_ps(b + i + 24), acc3);
	}
	for (; i + 8 <= dim; i += 8)
		acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i),
							   _mm256_loadu_ps(b + i), acc0);
	if (i < dim)
	{
		__m256i		mask = TailMask(dim - i);

		acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, mask),
							   _mm256_maskload_ps(b + i, mask), acc1);
	}
	return HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1),
							  _mm256_add_ps(acc2, acc3)));
}

/* SsDistanceBatch with the AVX2+FMA kernels. */
AVX2_TARGET static void
BatchAvx2(SsMetric metric, const float *q, const float *vectors,
		   int64 n, int dim, float *out)
{
	if (metric == SS_METRIC_L2)
	{
		for (int64 i = 0; i < n; i++)
			out[i] = L2SquaredAvx2(q, vectors + i * dim, dim);
		return;
	}
	for (int64 i = 0; i < n; i++)
		out[i] = InnerProductAvx2(q, vectors + i * dim, dim);
	InnerProductsToDistances(metric, out, n);
}

#endif							/* __x86_64__ */

/* All kernel sets, from the most portable to the fastest. */
static const SsDistanceKernelSet kernel_sets[] = {
	{"scalar", L2SquaredScalar, InnerProductScalar, BatchScalar},
#if defined(__x86_64__)
	{"avx2+fma", L2SquaredAvx2, InnerProductAvx2, BatchAvx2},
#endif
};

/* The kernel set in use; chosen on first use. */
static const SsDistanceKernelSet *chosen_kernels = NULL;

/* How many of kernel_sets this CPU can run (they are ordered by need). */
static int
UsableKernelSets(void)
{
#if defined(__x86_64__)
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return 2;
#endif
	return 1;
}

/* The fastest kernel set this CPU can run. */
static inline const SsDistanceKernelSet *
Kernels(void)
{
	if (unlikely(chosen_kernels == NULL))
		chosen_kernels = &kernel_sets[UsableKernelSets() - 1];
	return chosen_kernels;
}

/* Squared Euclidean distance between a and b. */
float
SsL2Squared(const float *a, const float *b, int dim)
{
	return Kernels()->l2_squared(a, b, dim);
}

/* Inner product of a and b. */
float
SsInnerProduct(const float *a, const float *b, int dim)
{
	return Kernels()->inner_product(a, b, dim);
}

/*
 * Scale v to unit length.  The norm is summed and divided in double, so
 * that neither huge components (whose squares overflow a float) nor tiny
 * ones (whose reciprocal norm would) lose the vector.
 */
float
SsNormalize(float *v, int dim)
{
	double		sum = 0.0;
	double		norm;

	for (int i = 0; i < dim; i++)
		sum += (double) v[i] * v[i];
	norm = sqrt(sum);
	if (norm > 0.0)
	{
		for (int i = 0; i < dim; i++)
			v[i] = (float) (v[i] / norm);
	}
	return (float) norm;
}

/* Distances from q to each of n vectors; see distance.h. */
void
SsDistanceBatch(SsMetric metric, const float *q, const float *vectors,
				int64 n, int dim, float *out)
{
	Kernels()->batch(metric, q, vectors, n, dim, out);
}

/* Name of the kernel set in use, for diagnostics. */
const char *
SsDistanceKernel(void)
{
	return Kernels()->name;
}

/* Expose every usable kernel set, for the microbenchmark. */
int
SsDistanceKernelsForTest(const SsDistanceKernelSet **kernel_list)
{
	*kernel_list = kernel_sets;
	return UsableKernelSets();
}

/*-------------------------------------------------------------------------
 *
 * distance.h
 *	  Vector distance kernels (AVX2+FMA where the CPU has it, portable C
 *	  otherwise), shared by vector search and k-means training.
 *
 * The functions are pure: they neither allocate nor report errors, so the
 * microbenchmark can compile distance.c without a server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_VECTOR_DISTANCE_H
#define SEGSTORE_VECTOR_DISTANCE_H

/* How vectors are compared; the values are stable. */
typedef enum SsMetric
{
	SS_METRIC_L2 = 1,
	SS_METRIC_IP = 2,
	SS_METRIC_COSINE = 3
} SsMetric;

/* Squared Euclidean distance. */
extern float SsL2Squared(const float *a, const float *b, int dim);

/* Inner product. */
extern float SsInnerProduct(const float *a, const float *b, int dim);

/*
 * Scales v to unit length in place; leaves an all-zero vector as is.
 * Returns the original norm.
 */
extern float SsNormalize(float *v, int dim);

/*
 * Distances from q to n vectors stored back to back (n*dim floats), written
 * to out[0..n-1].  Smaller is nearer for every metric: L2 = squared
 * Euclidean; IP = -inner product; COSINE = 1 - inner product (callers pass
 * unit-length q and vectors for COSINE).
 */
extern void SsDistanceBatch(SsMetric metric, const float *q,
							const float *vectors, int64 n, int dim,
							float *out);

/* Name of the kernel chosen at run time: "avx2+fma" or "scalar". */
extern const char *SsDistanceKernel(void);

/*
 * For test/bench/distance_bench.c only: one implementation of the functions
 * above, so that the kernels can be compared with each other.
 */
typedef struct SsDistanceKernelSet
{
	const char *name;
	float		(*l2_squared) (const float *a, const float *b, int dim);
	float		(*inner_product) (const float *a, const float *b, int dim);
	void		(*batch) (SsMetric metric, const float *q,
						  const float *vectors, int64 n, int dim,
						  float *out);
} SsDistanceKernelSet;

/*
 * Sets *kernels to the kernel sets this CPU can run, the scalar one first,
 * and returns how many there are.
 */
extern int	SsDistanceKernelsForTest(const SsDistanceKernelSet **kernels);

#endif							/* SEGSTORE_VECTOR_DISTANCE_H */

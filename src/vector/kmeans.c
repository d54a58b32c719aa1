/*-------------------------------------------------------------------------
 *
 * kmeans.c
 *	  k-means training of vector index centroids, and assignment of vectors
 *	  to their nearest centroid.
 *
 * Training works on a sample: max_sample vectors (but at least k) drawn
 * without replacement by selection sampling (Knuth's Algorithm S), which
 * keeps them in input order and needs no memory beyond the sample itself.
 * For COSINE the sampled vectors are normalised, as spherical k-means
 * assumes.
 *
 * Seeding is greedy k-means++: each next centroid is the best of a few
 * sample vectors drawn with probability proportional to their squared
 * Euclidean distance to the nearest centroid chosen so far.  That distance
 * is used for every metric: the weights must not be negative, which rules
 * out IP's -x.c, and for COSINE (unit vectors) it is 2 (1 - cos), the
 * metric's own distance doubled.
 *
 * Lloyd iterations then alternate assignment, by the metric's distance, and
 * recomputation of each centroid as the mean of its vectors (normalised for
 * COSINE), until assignments stop changing or the iterations run out.  A
 * cluster left empty takes over the vector of the largest cluster that is
 * farthest from that cluster's centroid, which splits the largest cluster
 * along its widest spread.
 *
 * Assignment is blocked: a block of vectors small enough to stay in the L1
 * cache is compared with every centroid (one SsDistanceBatch call per
 * centroid) before moving on, so that each vector is read from memory once
 * rather than once per centroid.
 *
 * All working memory lives in a memory context of its own, deleted at the
 * end (or with its parent on error).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "vector/kmeans.h"
#include "miscadmin.h"
#include "utils/memutils.h"

/* Bytes of vectors per assignment block: half of a 32 kB L1 data cache. */
#define KMEANS_BLOCK_BYTES	16384

/* Sampling steps between interrupt checks. */
#define KMEANS_SAMPLE_CHECK_INTERVAL	65536

/* Allocate count elements of elem_size bytes, beyond 1 GB if need be. */
static void *
KmeansAlloc(int64 count, Size elem_size)
{
	if (count < 0 || (uint64) count > MaxAllocHugeSize / elem_size)
		elog(ERROR, "segstore k-means array of " INT64_FORMAT " elements is too large",
			 count);
	return palloc_extended((Size) count * elem_size, MCXT_ALLOC_HUGE);
}

/* Reject arguments the algorithms below cannot work with. */
static void
KmeansCheckArgs(int64 n, int dim, int k, SsMetric metric)
{
	if (metric != SS_METRIC_L2 && metric != SS_METRIC_IP &&
		metric != SS_METRIC_COSINE)
		elog(ERROR, "invalid segstore distance metric %d", (int) metric);
	if (dim < 1)
		elog(ERROR, "invalid segstore k-means dimension %d", dim);
	if (k < 1)
		elog(ERROR, "invalid segstore k-means cluster count %d", k);
	if (n < 0)
		elog(ERROR, "invalid segstore k-means vector count " INT64_FORMAT, n);
}

/*
 * Set assign[i] to the nearest centroid of vector i, and return how many
 * entries changed if count_changes (otherwise assign's old contents are not
 * read, and 0 is returned).  Ties go to the lowest centroid number.
 */
static int64
AssignNearest(const float *centroids, int k, const float *vectors, int64 n,
			   int dim, SsMetric metric, int32 *assign, bool count_changes)
{
	int64		block = Max(1, KMEANS_BLOCK_BYTES / ((int64) dim * (int64) sizeof(float)));
	float	   *best = KmeansAlloc(block, sizeof(float));
	float	   *dist = KmeansAlloc(block, sizeof(float));
	int32	   *nearest = KmeansAlloc(block, sizeof(int32));
	int64		changes = 0;

	for (int64 start = 0; start < n; start += block)
	{
		int64		rows = Min(block, n - start);
		const float *x = vectors + start * dim;

		CHECK_FOR_INTERRUPTS();

		SsDistanceBatch(metric, centroids, x, rows, dim, best);
		memset(nearest, 0, rows * sizeof(int32));
		for (int c = 1; c < k; c++)
		{
			SsDistanceBatch(metric, centroids + (int64) c * dim, x, rows, dim,
							dist);
			for (int64 r = 0; r < rows; r++)
			{
				if (dist[r] < best[r])
				{
					best[r] = dist[r];
					nearest[r] = c;
				}
			}
		}

		for (int64 r = 0; r < rows; r++)
		{
			if (count_changes && assign[start + r] != nearest[r])
				changes++;
			assign[start + r] = nearest[r];
		}
	}

	pfree(best);
	pfree(dist);
	pfree(nearest);
	return changes;
}

/*
 * Draw m of the n vectors without replacement, keeping their order, into a
 * new array (normalised for COSINE).  Without COSINE, a sample of all n is
 * the input itself.
 */
static const float *
DrawSample(const float *vectors, int64 n, int dim, int64 m, SsMetric metric,
			pg_prng_state *prng)
{
	float	   *sample;
	int64		chosen = 0;

	if (m == n && metric != SS_METRIC_COSINE)
		return vectors;

	sample = KmeansAlloc(m * dim, sizeof(float));
	if (m == n)
		memcpy(sample, vectors, (Size) (m * dim) * sizeof(float));
	else
	{
		/* Algorithm S: take vector i with probability (still needed) / (left). */
		for (int64 i = 0; i < n && chosen < m; i++)
		{
			if (i % KMEANS_SAMPLE_CHECK_INTERVAL == 0)
				CHECK_FOR_INTERRUPTS();
			if (pg_prng_uint64_range(prng, 0, n - i - 1) < (uint64) (m - chosen))
			{
				memcpy(sample + chosen * dim, vectors + i * dim,
					   dim * sizeof(float));
				chosen++;
			}
		}
	}

	if (metric == SS_METRIC_COSINE)
	{
		for (int64 i = 0; i < m; i++)
			SsNormalize(sample + i * dim, dim);
	}
	return sample;
}

/*
 * Draw a sample vector with probability proportional to its weight, given
 * the running sums of the weights (cumsum[m - 1] > 0): the first one whose
 * running sum exceeds a uniform target.  If rounding puts the target at the
 * total, the last vector with a positive weight is taken.
 */
static int64
DrawWeighted(const double *cumsum, int64 m, pg_prng_state *prng)
{
	double		target = pg_prng_double(prng) * cumsum[m - 1];
	int64		lo = 0;
	int64		hi = m - 1;

	if (!(target < cumsum[m - 1]))
	{
		while (hi > 0 && cumsum[hi - 1] == cumsum[hi])
			hi--;
		return hi;
	}
	/* Smallest i with cumsum[i] > target; its weight is positive. */
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (cumsum[mid] > target)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * Greedy k-means++ seeding: choose k of the m sample vectors as initial
 * centroids.  For each next centroid, 2 + ln(k) candidates are drawn with
 * probability proportional to their squared distance to the nearest
 * centroid chosen so far, and the one that lowers the sum of those
 * distances most is kept.  Plain k-means++ (one candidate) too often puts
 * two centroids into one cluster: in testing, 16 well-separated clusters
 * were not all found in 6 runs out of 30.  If all vectors coincide with
 * chosen ones (duplicates), any vector is as good as another.
 */
static void
SeedCentroids(const float *sample, int64 m, int dim, int k,
			   pg_prng_state *prng, float *centroids)
{
	int			ntrials = 2 + (int) log((double) k);
	float	   *mindist = KmeansAlloc(m, sizeof(float));
	float	   *best_dist = KmeansAlloc(m, sizeof(float));
	float	   *dist = KmeansAlloc(m, sizeof(float));
	double	   *cumsum = KmeansAlloc(m, sizeof(double));
	int64		pick = (int64) pg_prng_uint64_range(prng, 0, m - 1);

	memcpy(centroids, sample + pick * dim, dim * sizeof(float));
	SsDistanceBatch(SS_METRIC_L2, centroids, sample, m, dim, mindist);

	for (int c = 1; c < k; c++)
	{
		float	   *centroid = centroids + (int64) c * dim;
		double		total = 0.0;
		double		best_potential = 0.0;

		CHECK_FOR_INTERRUPTS();

		for (int64 i = 0; i < m; i++)
		{
			total += mindist[i];
			cumsum[i] = total;
		}
		if (!(total > 0.0))
		{
			/* All distances stay zero whichever vector is taken. */
			pick = (int64) pg_prng_uint64_range(prng, 0, m - 1);
			memcpy(centroid, sample + pick * dim, dim * sizeof(float));
			continue;
		}

		for (int t = 0; t < ntrials; t++)
		{
			int64		candidate = DrawWeighted(cumsum, m, prng);
			double		potential = 0.0;

			SsDistanceBatch(SS_METRIC_L2, sample + candidate * dim, sample, m,
							dim, dist);
			for (int64 i = 0; i < m; i++)
			{
				dist[i] = Min(mindist[i], dist[i]);
				potential += dist[i];
			}
			if (t == 0 || potential < best_potential)
			{
				/* Keep this candidate's distances; reuse the old ones' array. */
				float	   *swap = best_dist;

				best_potential = potential;
				pick = candidate;
				best_dist = dist;
				dist = swap;
			}
		}
		memcpy(centroid, sample + pick * dim, dim * sizeof(float));
		memcpy(mindist, best_dist, m * sizeof(float));
	}

	pfree(mindist);
	pfree(best_dist);
	pfree(dist);
	pfree(cumsum);
}

/* Set centroid to sum / count. */
static void
SetMean(float *centroid, const double *sum, int64 count, int dim)
{
	for (int d = 0; d < dim; d++)
		centroid[d] = (float) (sum[d] / count);
}

/*
 * Give the empty cluster the vector of the largest cluster farthest (by
 * metric) from that cluster's centroid, updating assign, sums, counts and
 * both centroids.  Since the sample has at least k vectors and a cluster is
 * empty, the largest cluster has at least two.
 */
static void
SplitLargest(int empty, const float *sample, int64 m, int dim, int k,
			  SsMetric metric, int32 *assign, double *sums, int64 *counts,
			  float *centroids)
{
	int			largest = 0;
	int64		farthest = -1;
	float		farthest_dist = 0.0f;
	const float *x;

	for (int c = 1; c < k; c++)
	{
		if (counts[c] > counts[largest])
			largest = c;
	}

	for (int64 i = 0; i < m; i++)
	{
		float		d;

		if (assign[i] != largest)
			continue;
		SsDistanceBatch(metric, centroids + (int64) largest * dim,
						sample + i * dim, 1, dim, &d);
		if (farthest < 0 || d > farthest_dist)
		{
			farthest = i;
			farthest_dist = d;
		}
	}

	x = sample + farthest * dim;
	assign[farthest] = empty;
	counts[largest]--;
	counts[empty] = 1;
	for (int d = 0; d < dim; d++)
	{
		sums[(int64) largest * dim + d] -= x[d];
		sums[(int64) empty * dim + d] = x[d];
	}
	memcpy(centroids + (int64) empty * dim, x, dim * sizeof(float));
	SetMean(centroids + (int64) largest * dim, sums + (int64) largest * dim,
			 counts[largest], dim);
}

/*
 * Recompute each centroid as the mean of the sample vectors assigned to it
 * (normalised for COSINE), refilling empty clusters by SplitLargest.
 */
static void
UpdateCentroids(const float *sample, int64 m, int dim, int k,
				 SsMetric metric, int32 *assign, double *sums, int64 *counts,
				 float *centroids)
{
	memset(sums, 0, (Size) k * dim * sizeof(double));
	memset(counts, 0, (Size) k * sizeof(int64));
	for (int64 i = 0; i < m; i++)
	{
		const float *x = sample + i * dim;
		double	   *sum = sums + (int64) assign[i] * dim;

		counts[assign[i]]++;
		for (int d = 0; d < dim; d++)
			sum[d] += x[d];
	}

	for (int c = 0; c < k; c++)
	{
		if (counts[c] > 0)
			SetMean(centroids + (int64) c * dim, sums + (int64) c * dim,
					 counts[c], dim);
	}
	for (int c = 0; c < k; c++)
	{
		if (counts[c] == 0)
			SplitLargest(c, sample, m, dim, k, metric, assign, sums, counts,
						  centroids);
	}

	if (metric == SS_METRIC_COSINE)
	{
		for (int c = 0; c < k; c++)
			SsNormalize(centroids + (int64) c * dim, dim);
	}
}

/* Train k centroids on a sample of the vectors; see kmeans.h. */
void
SsKMeansTrain(const float *vectors, int64 n, int dim, int k, SsMetric metric,
			  int iterations, int64 max_sample, uint64 seed, float *centroids)
{
	MemoryContext context;
	MemoryContext oldcontext;
	pg_prng_state prng;
	const float *sample;
	int64		m;
	int32	   *assign;
	double	   *sums;
	int64	   *counts;

	KmeansCheckArgs(n, dim, k, metric);
	if (k > n)
		elog(ERROR, "cannot train %d segstore k-means centroids on " INT64_FORMAT " vectors",
			 k, n);
	if (iterations < 0)
		elog(ERROR, "invalid segstore k-means iteration count %d", iterations);

	context = AllocSetContextCreate(CurrentMemoryContext, "segstore k-means",
									ALLOCSET_DEFAULT_SIZES);
	oldcontext = MemoryContextSwitchTo(context);

	/* k-means++ needs k vectors to choose from. */
	m = Min(n, Max(max_sample, (int64) k));
	pg_prng_seed(&prng, seed);
	sample = DrawSample(vectors, n, dim, m, metric, &prng);
	SeedCentroids(sample, m, dim, k, &prng, centroids);

	assign = KmeansAlloc(m, sizeof(int32));
	sums = KmeansAlloc((int64) k * dim, sizeof(double));
	counts = KmeansAlloc(k, sizeof(int64));
	/* No vector is assigned yet: the first assignment changes them all. */
	memset(assign, 0xFF, (Size) m * sizeof(int32));

	for (int iter = 0; iter < iterations; iter++)
	{
		if (AssignNearest(centroids, k, sample, m, dim, metric, assign,
						   true) == 0)
			break;
		UpdateCentroids(sample, m, dim, k, metric, assign, sums, counts,
						 centroids);
	}

	MemoryContextSwitchTo(oldcontext);
	MemoryContextDelete(context);
}

/*
 * Assign each vector to its nearest centroid.  For COSINE the centroids are
 * expected to be unit length (as SsKMeansTrain leaves them); the vectors
 * need not be, since scaling a vector does not change which unit centroid
 * is nearest.
 */
void
SsKMeansAssign(const float *centroids, int k, const float *vectors, int64 n,
			   int dim, SsMetric metric, int32 *assign)
{
	KmeansCheckArgs(n, dim, k, metric);
	AssignNearest(centroids, k, vectors, n, dim, metric, assign, false);
}

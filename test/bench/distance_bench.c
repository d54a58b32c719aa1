/*-------------------------------------------------------------------------
 *
 * distance_bench.c
 *	  Standalone check and microbenchmark of the distance kernels.
 *
 * Needs no server: it is compiled together with src/vector/distance.c (see
 * distance_bench.sh).  First every usable kernel set is checked, for dims
 * 1 to 300 and on deliberately misaligned data, against a double-precision
 * reference and against the other kernel set; a failure is printed and the
 * exit status is 1.  Then SsDistanceBatch is timed over 100,000 vectors of
 * 128 floats (51 MB: streamed from memory), for L2 and IP, with each kernel
 * set, and again over the first 1,000 of them (512 kB: cached), which shows
 * the kernels' own speed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vector/distance.h"

/*
 * port.h maps the printf family onto libpgport's, which this program does
 * not link; the C library's are fine here.
 */
#undef printf
#undef fprintf

#define MAX_DIM			300
#define CHECK_VECTORS	7		/* not a multiple of 4: exercises the tail */
/* Allowed |difference| relative to the sum of the |terms| of the result. */
#define REL_TOLERANCE	1e-5

#define BENCH_VECTORS	100000
#define BENCH_CACHED_VECTORS 1000
#define BENCH_DIM		128
#define BENCH_SECONDS	0.5

static uint64 rng_state = UINT64CONST(0x853C49E6748FEA9B);

/* Next value of a splitmix64 generator: reproducible test data. */
static uint64
rng_next(void)
{
	uint64		z = (rng_state += UINT64CONST(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Fill v with n uniform values in [-1, 1). */
static void
fill_random(float *v, int64 n)
{
	for (int64 i = 0; i < n; i++)
		v[i] = (float) ((double) (rng_next() >> 40) / (1 << 23) - 1.0);
}

/* Allocate n floats or exit. */
static float *
alloc_floats(int64 n)
{
	float	   *p = malloc(sizeof(float) * n);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

/* Seconds on a monotonic clock. */
static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int	failures = 0;
static double worst_error = 0.0;

/*
 * Compare got with want, allowing REL_TOLERANCE of scale (the sum of the
 * absolute values of the terms, which bounds the rounding error of any
 * summation order); print and count a mismatch.
 */
static void
check(const char *what, const char *kernel, int dim, double got,
	  double want, double scale)
{
	double		err = fabs(got - want) / (scale > 0.0 ? scale : 1.0);

	if (err > worst_error)
		worst_error = err;
	if (!(err <= REL_TOLERANCE))
	{
		if (failures++ < 20)
			fprintf(stderr,
					"MISMATCH %s (%s, dim %d): got %.9g, want %.9g (relative error %.3g > %g)\n",
					what, kernel, dim, got, want, err, REL_TOLERANCE);
	}
}

/*
 * Check every kernel set for one dim: single-pair kernels against a double
 * reference and against the scalar set, batch kernels for each metric
 * against the single-pair results.
 */
static void
check_dim(const SsDistanceKernelSet *sets, int nsets, int dim)
{
	/* One float of offset makes every vector start misaligned. */
	float	   *qbuf = alloc_floats(dim + 1);
	float	   *xbuf = alloc_floats((int64) CHECK_VECTORS * dim + 1);
	float	   *q = qbuf + 1;
	float	   *x = xbuf + 1;
	double		ref_l2[CHECK_VECTORS];
	double		ref_ip[CHECK_VECTORS];
	double		abs_ip[CHECK_VECTORS];
	float		scalar_l2[CHECK_VECTORS];
	float		scalar_ip[CHECK_VECTORS];
	float		out[CHECK_VECTORS];

	fill_random(q, dim);
	fill_random(x, (int64) CHECK_VECTORS * dim);
	for (int v = 0; v < CHECK_VECTORS; v++)
	{
		const float *xv = x + (int64) v * dim;

		ref_l2[v] = ref_ip[v] = abs_ip[v] = 0.0;
		for (int i = 0; i < dim; i++)
		{
			double		d = (double) q[i] - xv[i];

			ref_l2[v] += d * d;
			ref_ip[v] += (double) q[i] * xv[i];
			abs_ip[v] += fabs((double) q[i] * xv[i]);
		}
	}

	for (int s = 0; s < nsets; s++)
	{
		const SsDistanceKernelSet *k = &sets[s];

		for (int v = 0; v < CHECK_VECTORS; v++)
		{
			const float *xv = x + (int64) v * dim;
			float		l2 = k->l2_squared(q, xv, dim);
			float		ip = k->inner_product(q, xv, dim);

			check("l2_squared vs double", k->name, dim, l2, ref_l2[v], ref_l2[v]);
			check("inner_product vs double", k->name, dim, ip, ref_ip[v], abs_ip[v]);
			if (s == 0)
			{
				scalar_l2[v] = l2;
				scalar_ip[v] = ip;
			}
			else
			{
				check("l2_squared vs scalar", k->name, dim, l2, scalar_l2[v],
					  ref_l2[v]);
				check("inner_product vs scalar", k->name, dim, ip,
					  scalar_ip[v], abs_ip[v]);
			}
		}

		k->batch(SS_METRIC_L2, q, x, CHECK_VECTORS, dim, out);
		for (int v = 0; v < CHECK_VECTORS; v++)
			check("batch L2", k->name, dim, out[v], ref_l2[v], ref_l2[v]);
		k->batch(SS_METRIC_IP, q, x, CHECK_VECTORS, dim, out);
		for (int v = 0; v < CHECK_VECTORS; v++)
			check("batch IP", k->name, dim, out[v], -ref_ip[v], abs_ip[v]);
		k->batch(SS_METRIC_COSINE, q, x, CHECK_VECTORS, dim, out);
		for (int v = 0; v < CHECK_VECTORS; v++)
			check("batch COSINE", k->name, dim, out[v], 1.0 - ref_ip[v],
				  1.0 + abs_ip[v]);
	}
	free(qbuf);
	free(xbuf);
}

/* SsNormalize: unit length afterwards, the norm returned, zeros kept. */
static void
check_normalize(void)
{
	float		v[37];
	float		zero[5] = {0};
	double		want = 0.0;
	double		after = 0.0;
	float		norm;

	fill_random(v, 37);
	for (int i = 0; i < 37; i++)
		want += (double) v[i] * v[i];
	want = sqrt(want);
	norm = SsNormalize(v, 37);
	for (int i = 0; i < 37; i++)
		after += (double) v[i] * v[i];
	check("SsNormalize norm", "public", 37, norm, want, want);
	check("SsNormalize unit length", "public", 37, sqrt(after), 1.0, 1.0);
	if (SsNormalize(zero, 5) != 0.0f || zero[0] != 0.0f || zero[4] != 0.0f)
	{
		failures++;
		fprintf(stderr, "MISMATCH SsNormalize changed an all-zero vector\n");
	}
}

/*
 * Vectors per second of kernel set k's batch function for metric over n
 * vectors, repeated for at least BENCH_SECONDS.
 */
static double
time_batch(const SsDistanceKernelSet *k, SsMetric metric, const float *q,
		   const float *x, int64 n, float *out)
{
	double		start;
	double		elapsed;
	int64		reps = 0;

	/* One untimed pass brings the data into the caches it fits in. */
	k->batch(metric, q, x, n, BENCH_DIM, out);
	start = now_seconds();
	do
	{
		k->batch(metric, q, x, n, BENCH_DIM, out);
		reps++;
		elapsed = now_seconds() - start;
	} while (elapsed < BENCH_SECONDS);
	return (double) reps * n / elapsed;
}

/* Check the kernels, then time them; exit 1 if a check failed. */
int
main(void)
{
	const SsDistanceKernelSet *sets;
	int			nsets = SsDistanceKernelsForTest(&sets);
	const SsMetric metrics[] = {SS_METRIC_L2, SS_METRIC_IP};
	const char *const metric_names[] = {"L2", "IP"};
	const int64 sizes[] = {BENCH_VECTORS, BENCH_CACHED_VECTORS};
	float	   *q;
	float	   *x;
	float	   *out;

	printf("kernel chosen at run time: %s; kernel sets usable here:",
		   SsDistanceKernel());
	for (int s = 0; s < nsets; s++)
		printf(" %s", sets[s].name);
	printf("\n");

	for (int dim = 1; dim <= MAX_DIM; dim++)
		check_dim(sets, nsets, dim);
	check_normalize();
	if (failures > 0)
	{
		fprintf(stderr, "FAILED: %d mismatches\n", failures);
		return 1;
	}
	printf("check: dims 1..%d, %d kernel set(s), L2/IP/COSINE batch: ok "
		   "(worst relative error %.2g, tolerance %g)\n",
		   MAX_DIM, nsets, worst_error, REL_TOLERANCE);

	q = alloc_floats(BENCH_DIM);
	x = alloc_floats((int64) BENCH_VECTORS * BENCH_DIM);
	out = alloc_floats(BENCH_VECTORS);
	fill_random(q, BENCH_DIM);
	fill_random(x, (int64) BENCH_VECTORS * BENCH_DIM);

	for (int z = 0; z < 2; z++)
	{
		printf("SsDistanceBatch, " INT64_FORMAT " vectors x %d dims:\n",
			   sizes[z], BENCH_DIM);
		for (int m = 0; m < 2; m++)
		{
			double		rate[2] = {0.0, 0.0};

			for (int s = 0; s < nsets; s++)
			{
				rate[s] = time_batch(&sets[s], metrics[m], q, x, sizes[z], out);
				printf("  %-2s %-9s %8.2f M vectors/s\n", metric_names[m],
					   sets[s].name, rate[s] / 1e6);
			}
			if (nsets > 1)
				printf("  %-2s %s/%s = %.2fx\n", metric_names[m], sets[1].name,
					   sets[0].name, rate[1] / rate[0]);
		}
	}
	free(q);
	free(x);
	free(out);
	return 0;
}
